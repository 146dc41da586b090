// File transfer between two real peer connections over loopback: files of every awkward size, a
// directory tree, and the SHA-256 of what arrived against what was sent.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { CHUNK_BYTES } from '../../src/app/files/outgoing-transfer.js';
import { transferPair, type Pair } from '../helpers/transfer-pair.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `p2p-chat-${label}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function pair(downloads: string, options = {}): Promise<Pair> {
  const p = await transferPair(downloads, options);
  cleanups.push(() => p.close());
  return p;
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function pattern(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function sendAndAccept(p: Pair, paths: string[]) {
  const outgoing = await p.sender.transfers.send(p.sender.link, paths);
  await p.receiver.next('offer');
  p.receiver.transfers.accept();
  const [sent, received] = await Promise.all([p.sender.next('done'), p.receiver.next('done')]);
  return { outgoing, sent, received };
}

describe('file transfer over loopback', () => {
  it('sends files of 0, 1, odd and multi-chunk sizes; every SHA-256 matches', async () => {
    const source = await tempDir('src');
    const downloads = await tempDir('dl');
    const sizes = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * 1024 * 1024 + 7];
    const paths: string[] = [];
    for (const [i, size] of sizes.entries()) {
      const path = join(source, `file-${i}.bin`);
      await writeFile(path, pattern(size, i + 1));
      paths.push(path);
    }
    const p = await pair(downloads);
    await sendAndAccept(p, paths);
    for (const [i, size] of sizes.entries()) {
      const got = await readFile(join(downloads, `file-${i}.bin`));
      assert.equal(got.length, size);
      assert.equal(sha(got), sha(pattern(size, i + 1)), `file-${i}.bin`);
    }
    assert.deepEqual((await readdir(downloads)).sort(), sizes.map((_, i) => `file-${i}.bin`).sort());
  });

  it('sends a directory with nested files, keeping its relative paths', async () => {
    const source = await tempDir('src');
    const downloads = await tempDir('dl');
    await mkdir(join(source, 'album', 'day 1', 'raw'), { recursive: true });
    await writeFile(join(source, 'album', 'cover.jpg'), pattern(1000, 7));
    await writeFile(join(source, 'album', 'day 1', 'a.jpg'), pattern(70_000, 8));
    await writeFile(join(source, 'album', 'day 1', 'raw', 'b.raw'), pattern(5, 9));
    const p = await pair(downloads);
    await sendAndAccept(p, [join(source, 'album')]);
    assert.equal(sha(await readFile(join(downloads, 'album', 'cover.jpg'))), sha(pattern(1000, 7)));
    assert.equal(sha(await readFile(join(downloads, 'album', 'day 1', 'a.jpg'))), sha(pattern(70_000, 8)));
    assert.equal(sha(await readFile(join(downloads, 'album', 'day 1', 'raw', 'b.raw'))), sha(pattern(5, 9)));
  });

  it('sends 24 MiB intact; every pause of the receiver\'s reading (data waiting for the disk) is lifted', async () => {
    const source = await tempDir('src');
    const downloads = await tempDir('dl');
    const size = 24 * 1024 * 1024 + 3;
    const data = randomBytes(size);
    await writeFile(join(source, 'big.bin'), data);
    const p = await pair(downloads);
    const held = new Set<object>();
    let pauses = 0;
    const link = p.receiver.link as { pauseReading(h: object): void; resumeReading(h: object): void };
    const [pause, resume] = [link.pauseReading, link.resumeReading];
    link.pauseReading = (holder) => (pauses++, held.add(holder), pause(holder));
    link.resumeReading = (holder) => (held.delete(holder), resume(holder));
    await sendAndAccept(p, [join(source, 'big.bin')]);
    assert.equal(sha(await readFile(join(downloads, 'big.bin'))), sha(data));
    assert.equal(held.size, 0, `reading still held after ${pauses} pauses`);
  });
});
