// One-way latency for a netlab LAN. Hole punching through NATs depends on timing that a segment
// without latency does not have (see /work/shared/netlab/README.md), and tc netem is not available
// on these machines, so a delayed LAN is a "hub" namespace holding the hub ends of its veths and
// running delay-hub.py over them: every frame leaves by every other end DELAY_MS later. The script
// is the shared one beside the repository (`../shared/netlab/`); a clone elsewhere uses the copy in
// test/netlab/fixtures/ (kept byte for byte the same while both exist: test/netlab/delay-hub-copy.test.ts). A
// machine without python3 or ethtool cannot run such labs: locally their tests skip with the
// reason, under CI=true they fail.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { netlabUnavailable } from './netlab-available.js';
import { REPO_ROOT } from './repo-root.js';
import { runCommand } from './run-command.js';
import { skipUnlessCi } from './ci-skip.js';

/** The shared delay hub beside the repository, when the clone is beside it. */
export const SHARED_DELAY_HUB = resolve(REPO_ROOT, '..', 'shared', 'netlab', 'delay-hub.py');
/** Its copy in the repository, for a clone made anywhere else. */
export const COPIED_DELAY_HUB = resolve(REPO_ROOT, 'test', 'netlab', 'fixtures', 'delay-hub.py');
export const DELAY_HUB_PATH = existsSync(SHARED_DELAY_HUB) ? SHARED_DELAY_HUB : COPIED_DELAY_HUB;
const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 2_000;

let probe: Promise<string | undefined> | undefined;

async function probeDelayHub(): Promise<string | undefined> {
  const netlab = await netlabUnavailable();
  if (netlab !== undefined) return netlab;
  if (!existsSync(DELAY_HUB_PATH)) return `the delay hub ${DELAY_HUB_PATH} is missing`;
  for (const [tool, args] of [['python3', ['--version']], ['ethtool', ['--version']]] as const) {
    try {
      await runCommand(tool, args);
    } catch (error) {
      return `\`${tool}\` is missing or does not run: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/** Why a lab with a delayed LAN cannot run here (netlab's own reasons included), or undefined. */
export function delayHubUnavailable(): Promise<string | undefined> {
  return (probe ??= probeDelayHub());
}

/** netlabSkip() for suites that need a delayed LAN: a reason to skip locally, never under CI=true. */
export async function delayHubSkip(): Promise<string | false> {
  return skipUnlessCi('netlab with latency', await delayHubUnavailable());
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** delay-hub.py running in `namespace` over `interfaces`, until stop(). */
export class DelayHub {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString('utf8')));
    this.#exited = new Promise((done) => {
      child.once('exit', () => done());
      child.once('error', (error) => {
        this.#stderr += `${error.message}\n`;
        done();
      });
    });
  }

  /** Start the hub and wait until it has opened a packet socket on every interface. */
  static async start(namespace: string, delayMs: number, interfaces: readonly string[]): Promise<DelayHub> {
    // `ip netns exec` execs in place: the child's pid is the hub's own, so signals reach it.
    const args = ['netns', 'exec', namespace, 'python3', DELAY_HUB_PATH, String(delayMs), ...interfaces];
    const hub = new DelayHub(spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (hub.#packetSockets(namespace) < interfaces.length) {
      if (hub.#gone || Date.now() > deadline) {
        await hub.stop();
        throw new Error(`netlab: the delay hub in ${namespace} did not start: ${hub.#stderr.trim() || 'no packet sockets'}`);
      }
      await sleep(20);
    }
    return hub;
  }

  /** SIGTERM (the hub's own way out), then SIGKILL if it has not gone within a bound. */
  async stop(): Promise<void> {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (this.#gone) return;
      this.#child.kill(signal);
      await Promise.race([this.#exited, sleep(STOP_TIMEOUT_MS)]);
    }
    if (!this.#gone) throw new Error(`netlab: the delay hub (pid ${this.#child.pid}) survived SIGKILL`);
  }

  /** For process exit, where nothing can be awaited. */
  stopNow(): void {
    if (!this.#gone) this.#child.kill('SIGKILL');
  }

  get #gone(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null || this.#child.pid === undefined;
  }

  /**
   * Packet sockets open in `namespace` (the hub is the only process there that opens any), read
   * through the hub's /proc once it has entered the namespace: before, that shows the machine's.
   */
  #packetSockets(namespace: string): number {
    const proc = `/proc/${this.#child.pid}`;
    try {
      if (statSync(`${proc}/ns/net`).ino !== statSync(`/run/netns/${namespace}`).ino) return 0;
      return readFileSync(`${proc}/net/packet`, 'utf8').trim().split('\n').length - 1;
    } catch {
      return 0;
    }
  }
}
