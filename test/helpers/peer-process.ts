// Real p2p-chat processes for integration tests: each gets its own temporary home, its stdout is
// read line by line (NDJSON with --json), and every process is killed when the test ends.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_PATH } from './repo-root.js';

export interface PeerEvent {
  type: string;
  [key: string]: unknown;
}

const live = new Set<PeerProcess>();
const homes: string[] = [];

// If the test process itself dies (a runner timeout sends SIGTERM, after() hooks do not run),
// take the peers down with it rather than leave orphans listening.
function killAllNow(): void {
  for (const p of live) p.kill();
}
process.once('exit', killAllNow);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(1);
  });
}

export function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-chat-test-'));
  homes.push(dir);
  return dir;
}

export interface PeerProcessOptions {
  /** Home directory for the CLI; a fresh temporary one by default. */
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** Run inside this network namespace (`ip netns exec NS node ...`); needs root. */
  netns?: string;
  /** Run this node script with `args` instead of the p2p-chat CLI (no --home is added). */
  script?: string;
  /**
   * Allow LAN discovery (mDNS). Off by default outside a network namespace (the CLI gets
   * --no-mdns), because a test must never multicast onto the machine's real network.
   */
  mdns?: boolean;
}

/** Only the commands that run a peer (listen, the default; connect; send) take --no-mdns. */
function runsPeer(args: readonly string[]): boolean {
  return !['relay', 'id', 'discover'].includes(args[0] ?? '');
}

export class PeerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdoutLines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: Array<() => void> = [];
  readonly #events: PeerEvent[] = [];

  constructor(args: string[], options: PeerProcessOptions = {}) {
    const nodeArgv = options.script
      ? [options.script, ...args]
      : [CLI_PATH, '--home', options.home ?? tempHome(), ...((options.mdns ?? (options.netns !== undefined || !runsPeer(args))) ? [] : ['--no-mdns']), ...args];
    // `ip netns exec` execs the command in place, so the child's pid is node's own and kill() reaches it.
    const command = options.netns ? 'ip' : process.execPath;
    const argv = options.netns ? ['netns', 'exec', options.netns, process.execPath, ...nodeArgv] : nodeArgv;
    this.child = spawn(command, argv, {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: 'pipe',
    });
    live.add(this);
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.stdoutLines.push(line);
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) this.#events.push(value as PeerEvent);
      } catch {
        // not JSON (pipe mode)
      }
      this.#wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        live.delete(this);
        resolve({ code, signal });
        this.#wake();
      };
      this.child.on('exit', done);
      // A command that cannot start (e.g. `ip` missing) never exits: report it instead of hanging.
      this.child.on('error', (error) => {
        this.stderr += `spawn ${command} failed: ${error.message}\n`;
        if (this.child.exitCode === null && this.child.signalCode === null) done(null, null);
      });
    });
  }

  /** Every stdout line that parsed as JSON, in order (each line is parsed once, on arrival). */
  get events(): PeerEvent[] {
    return this.#events;
  }

  /** Resolve with the first value `probe` returns that is not undefined; fail after timeoutMs. */
  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value === undefined) return false;
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}; stdout:\n${this.stdoutLines.join('\n')}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      const waiter = () => {
        if (check()) this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.#waiters.push(waiter);
    });
  }

  waitForEvent(type: string, match: (e: PeerEvent) => boolean = () => true, timeoutMs?: number): Promise<PeerEvent> {
    return this.waitFor(scanFrom(this.events, (e) => e.type === type && match(e)), `event ${type}`, timeoutMs);
  }

  waitForLine(predicate: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string> {
    return this.waitFor(scanFrom(this.stdoutLines, predicate), what, timeoutMs);
  }

  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string> {
    return this.waitFor(() => pattern.exec(this.stderr)?.[0], `stderr ${pattern}`, timeoutMs);
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  endInput(): void {
    this.child.stdin.end();
  }

  async exitCode(timeoutMs = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit; stderr:\n${this.stderr}`)), timeoutMs);
    });
    try {
      return (await Promise.race([this.exited, timeout])).code;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Kill every process and remove every home a test made; call from after()/afterEach(). */
export async function cleanupPeers(): Promise<void> {
  const exits = [...live].map((p) => {
    p.kill();
    return p.exited;
  });
  await Promise.all(exits);
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Start a JSON-mode listener on an ephemeral port and return it with its port and fingerprint. */
export async function startListener(extra: string[] = [], home?: string) {
  const peer = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--json', ...extra], home ? { home } : {});
  const listening = await peer.waitForEvent('listening');
  return { peer, port: listening.port as number, fingerprint: listening.fingerprint as string };
}

/**
 * A probe that finds the first item of a growing list that matches, looking at each item once:
 * a wait over tens of thousands of output lines stays linear instead of rescanning them all on
 * every new line.
 */
function scanFrom<T>(items: readonly T[], matches: (item: T) => boolean): () => T | undefined {
  let next = 0;
  return () => {
    for (; next < items.length; next++) if (matches(items[next]!)) return items[next];
    return undefined;
  };
}
