// `p2p-chat relay` as a user runs it, in its own process (cli-process.ts): started on a free
// loopback port with a temporary home (holding a copy of a given relay key, as the relays of a
// cluster share one), stopped with SIGTERM. A relay takes its port as given, so a port taken
// between our probe and its bind is retried with another.

import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RelayEvent } from '../src/relay/relay-events.js';
import { IDENTITY_FILE, type Identity } from '../src/secure/identity-store.js';
import type { Log } from './bench-result.js';
import { CliProcess } from './cli-process.js';
import { listenOnLoopback } from './deadline.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 3;

/** A port that was free a moment ago on 127.0.0.1 (for programs that must be told a port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server, START_TIMEOUT_MS, 'probing for a free port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class RelayProcess {
  readonly host = HOST;
  readonly #cli: CliProcess;
  readonly #home: string;
  readonly port: number;
  readonly fingerprint: string;

  private constructor(cli: CliProcess, home: string, port: number, fingerprint: string) {
    this.#cli = cli;
    this.#home = home;
    this.port = port;
    this.fingerprint = fingerprint;
  }

  /** The relay's pid: node's own (the CLI runs in it), for /proc. */
  get pid(): number {
    return this.#cli.pid;
  }

  /** With `key` (a relay identity stored on disk), the relay has that key rather than a new one. */
  static async start(log: Log, extraArgs: readonly string[] = [], key?: Identity): Promise<RelayProcess> {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      const home = mkdtempSync(join(tmpdir(), 'p2p-chat-bench-relay-'));
      try {
        if (key) {
          const file = join(home, 'relay', IDENTITY_FILE);
          mkdirSync(join(home, 'relay'), { mode: 0o700 });
          copyFileSync(key.path, file);
          chmodSync(file, 0o600);
        }
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
    const cli = CliProcess.start('p2p-chat relay', args);
    try {
      const { event } = await cli.waitFor('started', START_TIMEOUT_MS);
      const started = event as unknown as Extract<RelayEvent, { type: 'started' }>;
      return new RelayProcess(cli, home, started.port, started.fingerprint);
    } catch (err) {
      await cli.stop(0);
      throw err;
    }
  }

  /** The relay's own graceful stop (SIGTERM), bounded; then its home is removed. */
  async stop(): Promise<void> {
    await this.#cli.stop(8_000);
    rmSync(this.#home, { recursive: true, force: true });
  }
}
