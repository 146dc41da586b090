// `scp` as the file-transfer benchmark's second baseline: the tool people compare us with. The
// benchmark starts its own `sshd` on a free loopback port with throwaway keys in a temporary
// directory (never the system's ssh service), and scp copies a file to it with a chosen cipher.
// sshd and scp are optional system tools (openssh-server, openssh-client), so their absence is
// reported as a reason, never thrown at the caller; stop() kills sshd and removes the directory.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild, track } from './children.js';
import { withTimeout } from './deadline.js';
import { freePort } from './relay-process.js';

/** sshd re-executes itself by the path it was started with, so it must be absolute. */
export const SSHD = '/usr/sbin/sshd';
const HOST = '127.0.0.1';
/** Compiled into Debian's sshd: it must exist when sshd runs as root (the system service makes it). */
const PRIVSEP_DIR = '/run/sshd';
const START_TIMEOUT_MS = 5_000;
const BIND_ATTEMPTS = 3;

export type SshCheck = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string };

/** Are sshd, scp and ssh-keygen installed and runnable? */
export function checkScp(): SshCheck {
  try {
    accessSync(SSHD, constants.X_OK);
  } catch {
    return { ok: false, reason: `${SSHD} is not installed (apt-get install openssh-server)` };
  }
  for (const tool of ['scp', 'ssh-keygen']) {
    const probe = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', timeout: 5_000 });
    if (probe.status !== 0) return { ok: false, reason: `${tool} is not installed (apt-get install openssh-client)` };
  }
  // `ssh -V` prints e.g. "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026" on stderr.
  const version = spawnSync('ssh', ['-V'], { encoding: 'utf8', timeout: 5_000 });
  return { ok: true, version: /OpenSSH_\S+/.exec(version.stderr ?? '')?.[0]?.replace(/,$/, '') ?? 'unknown' };
}

/** A private sshd on 127.0.0.1 that lets in this user with a key of its own, and only that. */
export class SshServer {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #madePrivsepDir: boolean;
  readonly port: number;

  private constructor(child: ChildProcess, dir: string, port: number, madePrivsepDir: boolean) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.#madePrivsepDir = madePrivsepDir;
  }

  get clientKey(): string {
    return join(this.#dir, 'client_key');
  }

  static async start(): Promise<SshServer> {
    const dir = mkdtempSync(join(tmpdir(), 'p2p-chat-bench-sshd-'));
    let madePrivsepDir = false;
    try {
      for (const key of ['host_key', 'client_key']) keygen(join(dir, key));
      writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
      madePrivsepDir = ensurePrivsepDir();
      let lastError: Error | undefined;
      for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
        try {
          const port = await freePort();
          return new SshServer(await startSshd(dir, port), dir, port, madePrivsepDir);
        } catch (err) {
          lastError = err as Error;
        }
      }
      throw lastError ?? new Error('sshd did not start');
    } catch (err) {
      cleanUp(dir, madePrivsepDir);
      throw err;
    }
  }

  /** `scp -c CIPHER source 127.0.0.1:destination`; resolves once scp exited 0 and the copy is whole. */
  async copy(source: string, destination: string, cipher: string, timeoutMs: number): Promise<void> {
    const args = [
      '-q', '-F', '/dev/null', '-c', cipher, '-i', this.clientKey, '-P', String(this.port),
      '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      source, `${HOST}:${destination}`,
    ];
    const child = track(spawn('scp', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    let log = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => (log = (log + text).slice(-2_000)));
    try {
      const [code, signal] = (await withTimeout(once(child, 'exit'), timeoutMs, `scp -c ${cipher}`)) as [number | null, string | null];
      if (code !== 0) throw new Error(`scp -c ${cipher} exited (${signal ?? `status ${code}`}): ${log.trim() || 'no output'}`);
    } finally {
      await stopChild(child, 'SIGKILL');
    }
    const size = statSync(destination).size;
    if (size !== statSync(source).size) throw new Error(`scp -c ${cipher} left ${size} of ${statSync(source).size} bytes`);
  }

  /** Kill sshd and remove its keys and configuration. Never throws. */
  async stop(): Promise<void> {
    await stopChild(this.#child, 'SIGTERM', 3_000);
    cleanUp(this.#dir, this.#madePrivsepDir);
  }
}

function keygen(path: string): void {
  const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'p2p-chat-bench', '-f', path], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`ssh-keygen exited with status ${result.status}: ${(result.stderr ?? '').trim() || 'no output'}`);
}

/** Create sshd's privilege-separation directory if it is missing; true when this call made it. */
function ensurePrivsepDir(): boolean {
  try {
    statSync(PRIVSEP_DIR);
    return false;
  } catch {
    mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
    return true;
  }
}

function cleanUp(dir: string, madePrivsepDir: boolean): void {
  rmSync(dir, { recursive: true, force: true });
  if (madePrivsepDir) {
    try {
      rmdirSync(PRIVSEP_DIR);
    } catch {
      // in use by another sshd since, or gone already: leave it
    }
  }
}

async function startSshd(dir: string, port: number): Promise<ChildProcess> {
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress ${HOST}`,
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The temporary directory's owner and modes are not what sshd checks a home's for.
      'StrictModes no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      // scp speaks SFTP by default since OpenSSH 9.0.
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const child = track(spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  const listening = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log = (log + line + '\n').slice(-2_000);
      if (/Server listening on/.test(line)) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`sshd exited (${signal ?? code}) before listening: ${log.trim() || 'no output'}`)));
    child.once('error', (err) => reject(new Error(`cannot start sshd: ${err.message}`)));
  });
  try {
    await withTimeout(listening, START_TIMEOUT_MS, 'sshd starting to listen');
    return child;
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
}
