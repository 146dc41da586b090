// `p2p-chat relay` as a user runs it, in its own process: started on a free loopback port with a
// temporary home, its NDJSON events read from stdout, stopped with SIGTERM. A relay takes its port
// as given, so a port taken between our probe and its bind is retried with another.

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RelayEvent } from '../src/relay/relay-events.js';
import type { Log } from './bench-result.js';
import { CLI, hasExited, spawnNode, stopChild } from './children.js';
import { withTimeout } from './deadline.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 3;

/** A port that was free a moment ago on 127.0.0.1 (for programs that must be told a port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen({ host: HOST, port: 0 });
  await withTimeout(once(server, 'listening'), START_TIMEOUT_MS, 'probing for a free port');
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class RelayProcess {
  readonly host = HOST;
  readonly #child: ChildProcess;
  readonly #home: string;
  readonly port: number;
  readonly fingerprint: string;

  private constructor(child: ChildProcess, home: string, port: number, fingerprint: string) {
    this.#child = child;
    this.#home = home;
    this.port = port;
    this.fingerprint = fingerprint;
  }

  /** The relay's pid: node's own (the CLI runs in it), for /proc. */
  get pid(): number {
    return this.#child.pid!;
  }

  static async start(log: Log, extraArgs: readonly string[] = []): Promise<RelayProcess> {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      const home = mkdtempSync(join(tmpdir(), 'p2p-chat-bench-relay-'));
      try {
        return await RelayProcess.#startOnce(home, await freePort(), extraArgs);
      } catch (err) {
        rmSync(home, { recursive: true, force: true });
        lastError = err as Error;
        log(`  relay process: attempt ${attempt} failed: ${lastError.message}`);
      }
    }
    throw lastError ?? new Error('the relay process did not start');
  }

  static async #startOnce(home: string, port: number, extraArgs: readonly string[]): Promise<RelayProcess> {
    const args = ['relay', '--home', home, '--host', HOST, '--port', String(port), '--json', ...extraArgs];
    const child = spawnNode(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => (stderr = (stderr + text).slice(-2_000)));
    // Read every line for as long as the relay runs: an unread pipe would block its writes.
    const started = new Promise<Extract<RelayEvent, { type: 'started' }>>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let event: RelayEvent;
        try {
          event = JSON.parse(line) as RelayEvent;
        } catch {
          return; // not an event line
        }
        if (event.type === 'started') resolve(event);
      });
      child.once('exit', (code, signal) => reject(new Error(`p2p-chat relay exited (${signal ?? code}) before listening: ${stderr.trim() || 'no output'}`)));
      child.once('error', (err) => reject(new Error(`cannot start p2p-chat relay: ${err.message}`)));
    });
    try {
      const event = await withTimeout(started, START_TIMEOUT_MS, 'p2p-chat relay starting');
      return new RelayProcess(child, home, event.port, event.fingerprint);
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      throw err;
    }
  }

  /** The relay's own graceful stop (SIGTERM), bounded; then its home is removed. */
  async stop(): Promise<void> {
    if (!hasExited(this.#child)) await stopChild(this.#child, 'SIGTERM', 8_000);
    rmSync(this.#home, { recursive: true, force: true });
  }
}
