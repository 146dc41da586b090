// socat as the baselines' "dumb" programs. A relay, `socat TCP-LISTEN:P,fork TCP:127.0.0.1:Q`,
// accepts on P and, in a forked child per connection, dials Q and copies bytes both ways: one
// process, two TCP legs, no protocol, which is exactly the work a relayed session leaves our relay
// with. A file sink, `socat -u TCP-LISTEN:P OPEN:FILE`, writes the one connection it accepts to a
// file and exits; socatSendFile() is its other end. socat is an optional system tool, so its
// absence is reported as a reason, never thrown at the caller.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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

/** A socat listening on a free loopback port (a relay, or a file sink). */
export class SocatListener {
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

  /** Resolves with the exit status once socat has exited; never rejects. */
  get exited(): Promise<number | null> {
    if (hasExited(this.#child)) return Promise.resolve(this.#child.exitCode);
    return once(this.#child, 'exit').then(([code]) => code as number | null, () => null);
  }

  /** A relay: listen on a free port and forward each connection to 127.0.0.1:`targetPort`. */
  static relay(targetPort: number, socatOptions: readonly string[] = []): Promise<SocatListener> {
    return SocatListener.#start(socatOptions, ',fork', `TCP:${HOST}:${targetPort}`);
  }

  /** A file sink: accept one connection, write what it carries to `path` (created or truncated), exit. */
  static fileSink(path: string, socatOptions: readonly string[] = []): Promise<SocatListener> {
    return SocatListener.#start(['-u', ...socatOptions], '', `OPEN:${path},creat,trunc`);
  }

  static async #start(socatOptions: readonly string[], listenOptions: string, target: string): Promise<SocatListener> {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      try {
        return await SocatListener.#startOnce(await freePort(), socatOptions, listenOptions, target);
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError ?? new Error('socat did not start');
  }

  static async #startOnce(port: number, socatOptions: readonly string[], listenOptions: string, target: string): Promise<SocatListener> {
    // -d -d logs (at notice level, once per connection, not per byte) when it listens and each fork.
    const args = ['-d', '-d', ...socatOptions, `TCP-LISTEN:${port},bind=${HOST},reuseaddr${listenOptions}`, target];
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
      return new SocatListener(child, port, forked);
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      throw err;
    }
  }

  /** Stop the listener; a relay's forked children end with their connections. */
  async stop(): Promise<void> {
    if (!hasExited(this.#child)) await stopChild(this.#child, 'SIGTERM', 3_000);
  }
}

/** `socat -u FILE:path TCP:127.0.0.1:port`: send a file to a sink, then exit (status 0 on success). */
export async function socatSendFile(path: string, port: number, socatOptions: readonly string[] = []): Promise<void> {
  const child = track(spawn('socat', ['-u', ...socatOptions, `FILE:${path}`, `TCP:${HOST}:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => (log = (log + text).slice(-2_000)));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null]; // rejects on a spawn 'error'
  if (code !== 0) throw new Error(`socat sending ${path} exited (${signal ?? `status ${code}`}): ${log.trim() || 'no output'}`);
}
