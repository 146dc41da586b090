// What the file-transfer integration tests share: temp directories and transfer pairs that are
// removed after each test even when it fails, files of random bytes, the SHA-256 of a file on
// disk, a look into the partial folder, and the steps of an interrupted and resumed transfer.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { listFiles } from '../../src/app/files/file-list.js';
import type { OutgoingTransfer } from '../../src/app/files/outgoing-transfer.js';
import { PART_CLAIMS } from '../../src/app/files/part-claims.js';
import type { TransferEvent } from '../../src/app/files/transfers.js';
import { generateKeyPair, type KeyPair } from '../../src/secure/noise/crypto-primitives.js';
import type { ResumePoint } from '../../src/session/file-messages.js';
import type { TcpProxy } from './tcp-proxy.js';
import { transferPair, type Pair, type PairOptions, type Side } from './transfer-pair.js';

export const MiB = 1024 * 1024;

export type Failure = Extract<TransferEvent, { type: 'failed' }>;

/** Everything one test started; `cleanup()` (in afterEach) undoes it, newest first. */
export class TransferFixture {
  readonly #cleanups: (() => Promise<unknown>)[] = [];

  async tempDir(label: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `p2p-chat-${label}-`));
    this.#cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  async pair(downloads: string, options: PairOptions = {}): Promise<Pair> {
    const p = await transferPair(downloads, options);
    this.#cleanups.push(() => p.close());
    return p;
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const c of this.#cleanups.splice(0).reverse()) await c().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }
}

/** A file of `size` random bytes, written a MiB at a time. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for (let at = 0; at < size; ) {
      const piece = randomBytes(Math.min(1024 * 1024, size - at));
      await handle.write(piece, 0, piece.length, at);
      at += piece.length;
    }
  } finally {
    await handle.close();
  }
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The partial files in a download directory (none if the folder is not there). */
export async function partialFiles(downloads: string): Promise<{ name: string; size: number }[]> {
  const dir = join(downloads, PARTIAL_DIR);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(join(dir, name))).size })));
}

export function failure(side: Side): Promise<Failure> {
  return side.next('failed') as Promise<Failure>;
}

/** Offer `paths`, accept on the receiver, and wait until both sides are done. */
export async function sendAndAccept(p: Pair, paths: string[]) {
  const outgoing = await offer(p.sender, paths);
  await p.receiver.next('offer');
  p.receiver.transfers.accept();
  const [sent, received] = await Promise.all([p.sender.next('done'), p.receiver.next('done')]);
  return { outgoing, sent, received };
}

/**
 * Source and download directories, and a pair through a proxy (to cut or tamper with) whose
 * sender has fixed keys (to come back as the same sender with offerAgain). `path` is a file of
 * `size` random bytes in the source directory, when a size is given; `receiver` options are the
 * receiver's Transfers'.
 */
export async function proxiedPair(fixture: TransferFixture, file?: { readonly name: string; readonly size: number }, receiver?: PairOptions['receiver']) {
  const source = await fixture.tempDir('src');
  const downloads = await fixture.tempDir('dl');
  const path = join(source, file?.name ?? 'file.bin');
  if (file) await writeRandomFile(path, file.size);
  const keys = generateKeyPair();
  const pair = await fixture.pair(downloads, { proxy: true, keys: { sender: keys }, ...(receiver ? { receiver } : {}) });
  return { source, downloads, path, keys, pair, proxy: pair.proxy! };
}

/** A random file offered through a proxy, and `interrupt`ed once the receiver has `bytes` on disk. */
export async function interruptedFile(fixture: TransferFixture, file: { readonly name: string; readonly size: number }, bytes: number, interrupt: (proxy: TcpProxy) => void) {
  const setup = await proxiedPair(fixture, file);
  const failed = await sendAndInterrupt(setup.pair, [setup.path], bytes, () => interrupt(setup.proxy));
  return { ...setup, failed };
}

/**
 * Offer `paths` and accept; once the receiver has `bytes` on disk, `interrupt` the transfer.
 * Resolves with each side's failure, once the writes the receiver had under way have landed (its
 * partial files are then as a next offer will find them).
 */
export async function sendAndInterrupt(p: Pair, paths: string[], bytes: number, interrupt: () => void) {
  const cut = p.receiver.next('progress', (e) => e.type === 'progress' && e.bytes >= bytes).then(interrupt);
  await offer(p.sender, paths);
  await p.receiver.next('offer');
  p.receiver.transfers.accept();
  await cut;
  const [sender, receiver] = await Promise.all([failure(p.sender), failure(p.receiver)]);
  await PART_CLAIMS.settled();
  return { sender, receiver };
}

/**
 * Offer `paths` again as the sender with `keys`, over a new direct connection, and accept. Resolves
 * once both sides are done, with the resume points the receiver sent and the file-data bytes the
 * sender needed to send.
 */
export async function offerAgain(fixture: TransferFixture, downloads: string, keys: KeyPair, paths: string[]) {
  const p = await fixture.pair(downloads, { keys: { sender: keys } });
  const resume: ResumePoint[] = [];
  p.sender.conn.on('message', (message) => {
    if (message.type === 'file-accept') resume.push(...message.resume);
  });
  const done = await sendAndAccept(p, paths);
  return { resume, sent: p.sender.fileData.sent, pair: p, done };
}

/** Offer `paths` from `side`, listed as the CLI lists them. */
export async function offer(side: Side, paths: string[]): Promise<OutgoingTransfer> {
  return side.transfers.send(side.link, (await listFiles(paths)).files);
}
