// File transfer between two real peer connections over loopback: files of every awkward size, a
// directory tree, a large sparse file, and the SHA-256 of what arrived against what was sent.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fileSha256, offer, partialFiles, sendAndAccept, sha256, TransferFixture } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

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

describe('file transfer over loopback', () => {
  it('sends files of 0, 1, odd and multi-chunk sizes; every SHA-256 matches', async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    const sizes = [0, 1, 65_509, 65_510, 65_511, 3 * 1024 * 1024 + 7];
    const paths: string[] = [];
    for (const [i, size] of sizes.entries()) {
      const path = join(source, `file-${i}.bin`);
      await writeFile(path, pattern(size, i + 1));
      paths.push(path);
    }
    const p = await fx.pair(downloads);
    await sendAndAccept(p, paths);
    for (const [i, size] of sizes.entries()) {
      const got = await readFile(join(downloads, `file-${i}.bin`));
      assert.equal(got.length, size);
      assert.equal(sha256(got), sha256(pattern(size, i + 1)), `file-${i}.bin`);
    }
    assert.deepEqual((await readdir(downloads)).sort(), sizes.map((_, i) => `file-${i}.bin`).sort());
  });

  it('sends a directory with nested files, keeping its relative paths', async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    await mkdir(join(source, 'album', 'day 1', 'raw'), { recursive: true });
    await writeFile(join(source, 'album', 'cover.jpg'), pattern(1000, 7));
    await writeFile(join(source, 'album', 'day 1', 'a.jpg'), pattern(70_000, 8));
    await writeFile(join(source, 'album', 'day 1', 'raw', 'b.raw'), pattern(5, 9));
    const p = await fx.pair(downloads);
    await sendAndAccept(p, [join(source, 'album')]);
    assert.equal(sha256(await readFile(join(downloads, 'album', 'cover.jpg'))), sha256(pattern(1000, 7)));
    assert.equal(sha256(await readFile(join(downloads, 'album', 'day 1', 'a.jpg'))), sha256(pattern(70_000, 8)));
    assert.equal(sha256(await readFile(join(downloads, 'album', 'day 1', 'raw', 'b.raw'))), sha256(pattern(5, 9)));
  });

  it('sends a 1 GiB sparse file with a few bytes at odd offsets; the SHA-256 on both sides is equal', { timeout: 300_000 }, async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    const size = 1024 ** 3;
    const path = join(source, 'disk.img');
    const handle = await open(path, 'wx');
    try {
      await handle.truncate(size);
      // Around chunk and read-block boundaries, mid-file, and the very last byte.
      for (const offset of [1, 65_509, 65_510 * 16 + 3, 512 * 1024 ** 2 + 7, size - 1]) {
        await handle.write(Buffer.from([0xa5]), 0, 1, offset);
      }
    } finally {
      await handle.close();
    }
    const p = await fx.pair(downloads);
    await sendAndAccept(p, [path]);
    const saved = join(downloads, 'disk.img');
    assert.equal((await stat(saved)).size, size);
    assert.equal(await fileSha256(saved), await fileSha256(path));
    assert.deepEqual(await partialFiles(downloads), []);
  });
});

describe('the receiver holding its reading while data waits for the disk', () => {
  it('sends 24 MiB intact; every pause of the receiver\'s reading is lifted', async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    const size = 24 * 1024 * 1024 + 3;
    const data = randomBytes(size);
    await writeFile(join(source, 'big.bin'), data);
    const p = await fx.pair(downloads);
    const held = new Set<object>();
    let pauses = 0;
    const link = p.receiver.link as { pauseReading(h: object): void; resumeReading(h: object): void };
    const [pause, resume] = [link.pauseReading, link.resumeReading];
    link.pauseReading = (holder) => (pauses++, held.add(holder), pause(holder));
    link.resumeReading = (holder) => (held.delete(holder), resume(holder));
    await sendAndAccept(p, [join(source, 'big.bin')]);
    assert.equal(sha256(await readFile(join(downloads, 'big.bin'))), sha256(data));
    assert.equal(held.size, 0, `reading still held after ${pauses} pauses`);
  });
});

describe('offers declined by policy (regression: they were shown with "/accept or /decline")', () => {
  it('a receiver that cannot answer declines at once: no offer event, the reason on both sides', async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    await writeFile(join(source, 'note.txt'), 'hello');
    const p = await fx.pair(downloads, { receiver: { acceptFiles: 'never' } });
    await offer(p.sender, [join(source, 'note.txt')]);
    const [sent, received] = await Promise.all([p.sender.next('failed'), p.receiver.next('failed')]);
    const why = 'files are accepted only with --accept-files when not at a prompt';
    assert.equal(sent.type === 'failed' && sent.error.message, `receiver declined note.txt: ${why}`);
    assert.equal(received.type === 'failed' && received.error.message, `declined note.txt from sender: ${why}`);
    assert.equal(received.type === 'failed' && received.error.code, 'ERR_FILE_DECLINED');
    assert.deepEqual(p.receiver.events.map((e) => e.type), ['failed']);
    assert.deepEqual(await readdir(downloads), []);
  });

  it('a plain /decline gives no reason, rather than "declined ...: declined"', async () => {
    const source = await fx.tempDir('src');
    await writeFile(join(source, 'note.txt'), 'hello');
    const p = await fx.pair(await fx.tempDir('dl'));
    await offer(p.sender, [join(source, 'note.txt')]);
    await p.receiver.next('offer');
    p.receiver.transfers.decline();
    const sent = await p.sender.next('failed');
    assert.equal(sent.type === 'failed' && sent.error.message, 'receiver declined note.txt');
  });
});
