// A real pseudo-terminal for tests: a private tmux server (its own socket, no user config) runs a
// command in a fixed 80x24 pane, and capture-pane reads the screen back. This is what unit tests
// cannot see: cursor moves, wrapped prompts, status rows and escapes.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { REPO_ROOT } from './repo-root.js';

const run = promisify(execFile);

export const COLUMNS = 80;
export const ROWS = 24;
const WAIT_MS = 10_000;
const POLL_MS = 50;
const TMUX_AVAILABLE = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
/** What the pane's shell prints when the command under test exits, followed by `STATUS]`. */
export const EXIT_MARK = '[chat process exited with status ';

/** The `skip` option for a pty suite: a reason when tmux is missing, unless CI=true demands it. */
export const TMUX_SKIP =
  !TMUX_AVAILABLE && process.env.CI !== 'true' ? 'tmux is not installed (this real-pty test needs it; with CI=true it fails)' : false;

/** For before(): fail with the fix when tmux is missing under CI=true. */
export function requireTmux(): void {
  if (!TMUX_AVAILABLE) throw new Error('tmux is required for the real-pty tests when CI=true; install tmux');
}

/** Panes whose tmux server may still run. */
const live = new Set<TmuxPane>();

// If the test process dies without its after() hooks (a runner timeout sends SIGTERM), its tmux
// servers and the programs in their panes must not outlive it: only synchronous work runs here.
process.once('exit', () => {
  for (const pane of live) {
    try {
      pane.killNow();
    } catch {
      // best effort: the next pane, and the other helpers' exit handlers, still run
    }
  }
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => process.exit(1));
}

export class TmuxPane {
  readonly #socket = `p2p-chat-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #env: NodeJS.ProcessEnv;
  #pane = '';
  #socketPath = '';
  #started = false;
  readonly #clients: ChildProcess[] = [];

  constructor() {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.TMUX; // we may be running inside someone's tmux
    this.#env = env;
  }

  async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.#socket, '-f', '/dev/null', ...args], { env: this.#env });
    return stdout;
  }

  /**
   * Start `command` in a fresh 80x24 pane. A shell waits for it and prints its exit status into the
   * pane: tmux's own #{pane_dead_status} is unreliable, as tmux built with libutempter can miss the
   * SIGCHLD of a pane process that exits while the pty is being torn down (tmux/tmux#311, #4559).
   * remain-on-exit keeps the pane readable afterwards. `focusEvents`: tmux passes focus changes to
   * a program that asks for xterm focus reports (and, with no client attached, reports it unfocused).
   */
  async start(command: string[], options: { focusEvents?: boolean } = {}): Promise<void> {
    this.#started = true;
    live.add(this);
    const out = await this.tmux(
      'start-server', ';',
      'set-option', '-g', 'remain-on-exit', 'on', ';',
      'set-option', '-g', 'focus-events', options.focusEvents ? 'on' : 'off', ';',
      'new-session', '-d', '-x', String(COLUMNS), '-y', String(ROWS), '-c', REPO_ROOT,
      '-e', 'NO_COLOR=1', '-P', '-F', '#{pane_id}',
      'sh', '-c', `"$@"; echo "${EXIT_MARK}$?]"`, 'sh', ...command, ';',
      'display-message', '-p', '#{socket_path}',
    );
    [this.#pane = '', this.#socketPath = ''] = out.trim().split('\n');
  }

  /** The visible screen, one string per row; -N keeps spaces written at the end of a wrapped row. */
  rows(): Promise<string[]> {
    return this.#capture('-N');
  }

  /** The visible screen with its attributes as SGR escapes (capture-pane -e), one string per row. */
  styledRows(): Promise<string[]> {
    return this.#capture('-N', '-e');
  }

  async #capture(...flags: string[]): Promise<string[]> {
    const out = await this.tmux('capture-pane', '-p', ...flags, '-t', this.#pane);
    return out.replace(/\n$/, '').split('\n');
  }

  /**
   * Attach a client in control mode (no terminal needed): the pane's window is then on a focused
   * client's screen, so tmux reports focus in to it. It stays attached until kill().
   */
  attachClient(): void {
    const client = spawn('tmux', ['-L', this.#socket, '-f', '/dev/null', '-C', 'attach'], { env: this.#env, stdio: ['pipe', 'ignore', 'ignore'] });
    this.#clients.push(client);
  }

  async screen(): Promise<string> {
    try {
      return (await this.rows()).map((row) => row.trimEnd()).join('\n');
    } catch (err) {
      return `(capture-pane failed: ${(err as Error).message})`;
    }
  }

  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.#pane, '-l', text);
  }

  async press(key: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.#pane, key);
  }

  /** Type a line and press Enter. */
  async enter(text: string): Promise<void> {
    await this.type(text);
    await this.press('Enter');
  }

  async format(format: string): Promise<string> {
    return (await this.tmux('display-message', '-p', '-t', this.#pane, format)).trim();
  }

  /** Poll the screen until `probe` returns a value; on timeout the error says what was awaited. */
  async waitFor<T>(probe: (rows: string[]) => T | undefined | false, what: string, timeoutMs = WAIT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe(await this.rows());
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async kill(): Promise<void> {
    if (!this.#started) return;
    await this.tmux('kill-server').catch(() => undefined); // already gone is fine
    this.#afterKill();
  }

  /** kill(), synchronously, for a process on its way out. */
  killNow(): void {
    if (!this.#started) return;
    spawnSync('tmux', ['-L', this.#socket, '-f', '/dev/null', 'kill-server'], { env: this.#env, stdio: 'ignore', timeout: 5_000 });
    this.#afterKill();
  }

  #afterKill(): void {
    live.delete(this);
    for (const client of this.#clients) client.kill();
    // Closing the pty hangs up the pane's processes; tmux leaves its socket file behind.
    if (this.#socketPath) rmSync(this.#socketPath, { force: true });
  }
}

/** Run a test step; if it fails, put each pane's screen in the error, to show what the user saw. */
export async function showingScreens(panes: Readonly<Record<string, TmuxPane>>, body: () => Promise<unknown>): Promise<void> {
  try {
    await body();
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    for (const [name, pane] of Object.entries(panes)) {
      message += `\n--- ${name}'s pane ---\n${await pane.screen()}\n--- end of ${name}'s pane ---`;
    }
    throw new Error(message, { cause: err });
  }
}

export function trimmed(rows: string[]): string[] {
  return rows.map((row) => row.trimEnd());
}

export function lastNonEmpty(rows: string[]): number {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.trim() !== '') return i;
  return -1;
}
