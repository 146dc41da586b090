// A private redis-server for one test file: loopback only, a free port, no persistence, its own
// temp dir, stopped (and, if it will not stop, killed) with the dir removed. Locally a missing
// redis-server skips the tests with the reason; under CI=true it is a failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './run-command.js';
import { skipUnlessCi } from './ci-skip.js';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_TRIES = 5;

const running = new Set<RedisServer>();

process.once('exit', () => {
  // A test process that ends without stop() (a crash, a cancelled suite) still leaves nothing behind.
  for (const server of running) server.kill();
});

let probe: Promise<string | undefined> | undefined;
/** What redis-server runs under: setpriv's parent-death signal kills it even when this process is SIGKILLed. */
let launcher: readonly string[] = [];

async function probeRedisServer(): Promise<string | undefined> {
  try {
    await runCommand('redis-server', ['--version']);
  } catch (error) {
    return `\`redis-server\` is missing or does not run (apt-get install redis-server): ${(error as Error).message}`;
  }
  const deathSignal = ['setpriv', '--pdeathsig', 'KILL', '--'];
  launcher = await runCommand(deathSignal[0]!, [...deathSignal.slice(1), 'true']).then(
    () => deathSignal,
    () => [],
  );
  return undefined;
}

/** Why redis-server cannot run here, or undefined when it can. Probed once per process. */
export function redisServerUnavailable(): Promise<string | undefined> {
  return (probe ??= probeRedisServer());
}

/**
 * The `skip` option for a suite that needs redis-server: the reason when it cannot run here, else
 * false. Under CI=true it is always false, so the suite runs and RedisServer.start() fails with the reason.
 */
export async function redisServerSkip(): Promise<string | false> {
  return skipUnlessCi('redis-server', await redisServerUnavailable());
}

export class RedisServer {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<void>;
  /** Set once the server on `port` proved to be this process: only then is SHUTDOWN sent there. */
  #ours = false;

  private constructor(
    readonly port: number,
    child: ChildProcess,
    dir: string,
  ) {
    this.#child = child;
    this.#dir = dir;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve()); // could not spawn: there is nothing to wait for
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start one, answering PING; retries on another port when the one picked was taken meanwhile. */
  static async start(): Promise<RedisServer> {
    const reason = await redisServerUnavailable();
    if (reason !== undefined) throw new Error(reason);
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < PORT_TRIES; attempt++) {
      const server = RedisServer.#spawn(await freePort());
      try {
        await server.#waitForPing();
        return server;
      } catch (error) {
        lastError = error as Error;
        await server.stop();
        if (!/in use/i.test(lastError.message)) break;
      }
    }
    throw lastError!;
  }

  /** A new server on `port`, the one a stopped server had: Redis coming back where clients look for it. */
  static async startOn(port: number): Promise<RedisServer> {
    const server = RedisServer.#spawn(port);
    try {
      await server.#waitForPing();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  static #spawn(port: number): RedisServer {
    const dir = mkdtempSync(join(tmpdir(), 'p2p-chat-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
    const [command, ...prefix] = [...launcher, 'redis-server'];
    const child = spawn(command!, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new RedisServer(port, child, dir);
    running.add(server);
    return server;
  }

  /**
   * Until it answers on its port as itself: another server (a clash on the port picked) answers
   * with another process id, and ours exits for want of the port.
   */
  async #waitForPing(): Promise<void> {
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4096);
    };
    this.#child.stdout!.on('data', collect);
    this.#child.stderr!.on('data', collect);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let exited = false;
    void this.#exited.then(() => (exited = true));
    while (!exited) {
      const info = await command(this.port, 'INFO server').catch(() => '');
      if (new RegExp(`^process_id:${this.#child.pid}\r?$`, 'm').test(info)) {
        this.#ours = true;
        return;
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer within ${START_TIMEOUT_MS} ms: ${output.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server on port ${this.port} exited: ${output.trim() || '(no output)'}`);
  }

  /** SHUTDOWN NOSAVE (only when the port is known to be its own), SIGKILL if it has not exited in time; removes its dir. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      if (this.#ours) await command(this.port, 'SHUTDOWN NOSAVE').catch(() => undefined);
      else this.#child.kill('SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)));
      if ((await Promise.race([this.#exited, late])) === 'late') {
        this.#child.kill('SIGKILL');
        await this.#exited;
      }
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
    running.delete(this);
  }

  /** At process exit: synchronous, so only a kill. */
  kill(): void {
    this.#child.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A port that was free a moment ago (redis-server has no `--port 0`). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * One inline command over a fresh connection; resolves with its reply: a status or error line, or
 * a bulk string's body ('' when the server closes first).
 */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const complete = (): string | undefined => {
      const end = reply.indexOf('\r\n');
      if (end < 0) return undefined;
      if (!reply.startsWith('$')) return reply.slice(0, end);
      const length = Number(reply.slice(1, end));
      const body = Buffer.from(reply.slice(end + 2), 'utf8');
      return length < 0 ? '' : body.length >= length ? body.subarray(0, length).toString('utf8') : undefined;
    };
    socket.setTimeout(1_000, () => socket.destroy(new Error('no reply')));
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (complete() !== undefined) socket.end();
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(complete() ?? ''));
  });
}
