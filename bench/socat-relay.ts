// socat as the "dumb relay" baseline: `socat TCP-LISTEN:P,fork TCP:127.0.0.1:Q` accepts on P and,
// in a forked child per connection, dials Q and copies bytes both ways: one process, two TCP legs,
// no protocol, which is exactly the work a relayed session leaves our relay with. It is an
// optional system tool, so its absence is reported as a reason, never thrown at the caller.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { hasExited, stopChild, track } from './children.js';
import { withTimeout } from './deadline.js';
import { freePort } from './relay-process.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 5_000;
const BIND_ATTEMPTS = 3;

export type SocatCheck = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string };

/** Is socat installed and runnable? */
export function checkSocat(): SocatCheck {
  const result = spawnSync('socat', ['-V'], { encoding: 'utf8', timeout: 5_000 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    const reason = missing ? 'socat is not installed (apt-get install socat)' : `cannot run socat: ${result.error.message}`;
    return { ok: false, reason };
  }
  if (result.status !== 0) return { ok: false, reason: `socat -V exited with status ${result.status}` };
  const version = /socat version (\S+)/.exec(result.stdout)?.[1] ?? 'unknown';
  return { ok: true, version };
}

export class SocatRelay {
  readonly #child: ChildProcess;
  /** Pids of the per-connection children socat forked, newest last (from its -d -d log). */
  readonly #forked: number[];
  readonly port: number;

  private constructor(child: ChildProcess, port: number, forked: number[]) {
    this.#child = child;
    this.port = port;
    this.#forked = forked;
  }

  /** Pids of the children socat forked so far, one per connection, in order (once logged). */
  get forkedPids(): readonly number[] {
    return this.#forked;
  }

  /** Listen on a free port and forward each connection to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number, socatOptions: readonly string[] = []): Promise<SocatRelay> {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      try {
        return await SocatRelay.#startOnce(await freePort(), targetPort, socatOptions);
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError ?? new Error('socat did not start');
  }

  static async #startOnce(port: number, targetPort: number, socatOptions: readonly string[]): Promise<SocatRelay> {
    // -d -d logs (at notice level, once per connection, not per byte) when it listens and each fork.
    const args = ['-d', '-d', ...socatOptions, `TCP-LISTEN:${port},bind=${HOST},reuseaddr,fork`, `TCP:${HOST}:${targetPort}`];
    const child = track(spawn('socat', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    const forked: number[] = [];
    let log = '';
    const listening = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on('line', (line) => {
        log = (log + line + '\n').slice(-2_000);
        if (/listening on/.test(line)) resolve();
        const fork = /forked off child process (\d+)/.exec(line);
        if (fork) forked.push(Number(fork[1]));
      });
      child.once('exit', (code, signal) => reject(new Error(`socat exited (${signal ?? code}) before listening: ${log.trim() || 'no output'}`)));
      child.once('error', (err) => reject(new Error(`cannot start socat: ${err.message}`)));
    });
    try {
      await withTimeout(listening, START_TIMEOUT_MS, 'socat starting to listen');
      return new SocatRelay(child, port, forked);
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      throw err;
    }
  }

  /** Stop the listener; the forked children end with their connections. */
  async stop(): Promise<void> {
    if (!hasExited(this.#child)) await stopChild(this.#child, 'SIGTERM', 3_000);
  }
}
