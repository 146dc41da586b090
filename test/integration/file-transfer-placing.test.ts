// Verified files being moved from the partial folder into the download directory when the
// transfer ends under them: a cut, our /cancel or the peer's. The move finishes and is reported
// (never "lost" with nothing left to resume from), no further move starts, and a stuck move holds
// the end only so long. Moves are held at a chosen point by wrapping DownloadDir.place.

import assert from 'node:assert/strict';
import { mkdir, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { DownloadDir, PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { failure, fileSha256, offer, offerAgain, proxiedPair, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

describe('a transfer that ends while verified files are being placed', () => {
  for (const canceller of ['receiver', 'sender'] as const) {
    it(`a /cancel by the ${canceller} while the verified directory is being placed: the receiver reports it received, placed once`, { timeout: 60_000 }, async () => {
      const { source, downloads, pair: p } = await proxiedPair(fx);
      const album = join(source, 'album');
      await mkdir(album, { recursive: true });
      await writeRandomFile(join(album, 'a.bin'), 200_000);
      await writeRandomFile(join(album, 'b.bin'), 50_000);

      // The move waits until the cancel has reached the receiver (a user's /cancel comes from the
      // event loop, after the move began; the sender's as a file-cancel message).
      const place = DownloadDir.prototype.place;
      fx.undo(() => (DownloadDir.prototype.place = place));
      DownloadDir.prototype.place = async function (...args) {
        if (canceller === 'receiver') {
          await new Promise((resolve) => setImmediate(resolve));
          p.receiver.transfers.cancel();
        } else {
          const arrived = new Promise<void>((resolve) => p.receiver.conn.on('message', (m) => m.type === 'file-cancel' && resolve()));
          p.sender.transfers.cancel();
          await arrived;
        }
        return place.apply(this, args);
      };
      await offer(p.sender, [album]);
      await p.receiver.next('offer');
      p.receiver.transfers.accept();
      const [received, sent] = await Promise.all([
        Promise.race([p.receiver.next('done'), p.receiver.next('failed')]),
        Promise.race([p.sender.next('done'), p.sender.next('failed')]),
      ]);
      assert.equal(received.type, 'done', 'the files were placed: the receiver says so, not "cancelled"');
      // The receiver's own cancel came too late to stop anything, so the sender hears every file
      // verified; a sender that cancelled has ended its side already.
      assert.equal(sent.type, canceller === 'receiver' ? 'done' : 'failed');
      assert.deepEqual(await readdir(downloads), ['album'], 'placed once, and the partial folder tidied away');
      for (const name of ['a.bin', 'b.bin']) {
        assert.equal(await fileSha256(join(downloads, 'album', name)), await fileSha256(join(album, name)), name);
      }
    });
  }

  it('a /cancel waits for a stuck move only placeWaitMs, then ends the transfer', { timeout: 60_000 }, async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    await writeRandomFile(join(source, 'stuck.bin'), 10_000);
    const p = await fx.pair(downloads, { receiver: { placeWaitMs: 200 } });
    let release: () => void = () => undefined;
    const place = DownloadDir.prototype.place;
    fx.undo(() => (DownloadDir.prototype.place = place));
    DownloadDir.prototype.place = async function (...args) {
      await new Promise((resolve) => setImmediate(resolve));
      p.receiver.transfers.cancel();
      await new Promise<void>((resolve) => (release = resolve)); // a rename that hangs (say, on NFS)
      return place.apply(this, args);
    };
    await offer(p.sender, [join(source, 'stuck.bin')]);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    const ended = await Promise.race([p.receiver.next('done'), p.receiver.next('failed')]);
    assert.equal(ended.type === 'failed' && ended.error.code, 'ERR_FILE_CANCELLED', 'the cancel took effect without the move');
    release();
  });

  it('a /cancel amid many small files being placed ends the transfer after the move under way, not after the rest', { timeout: 60_000 }, async () => {
    const { source, downloads, pair: p } = await proxiedPair(fx);
    const paths: string[] = [];
    for (let i = 0; i < 200; i++) {
      const path = join(source, `f${String(i).padStart(3, '0')}.txt`);
      await writeFile(path, `file ${i}\n`.repeat(100));
      paths.push(path);
    }
    let moves = 0;
    let movesBeforeCancel = 0;
    const place = DownloadDir.prototype.place;
    fx.undo(() => (DownloadDir.prototype.place = place));
    DownloadDir.prototype.place = async function (...args) {
      if (++moves === 5) {
        await new Promise((resolve) => setImmediate(resolve));
        movesBeforeCancel = moves;
        p.receiver.transfers.cancel();
      }
      // Slow moves: more files are verified meanwhile, and none of those may be moved.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return place.apply(this, args);
    };
    await offer(p.sender, paths);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    const ended = await Promise.race([p.receiver.next('done'), p.receiver.next('failed')]);
    assert.equal(ended.type === 'failed' && ended.error.code, 'ERR_FILE_CANCELLED');
    const placed = (await readdir(downloads)).filter((n) => n !== PARTIAL_DIR);
    assert.ok(movesBeforeCancel >= 5 && movesBeforeCancel < paths.length);
    assert.equal(placed.length, movesBeforeCancel, 'the moves under way at the cancel finished, and no other began');
  });

  // Regression: the tree was placed, yet the receiver reported a resumable loss with nothing left
  // to resume from, so offering it again made a silent "album (1)".
  it('a cut while the verified directory is being placed: the receiver reports it done, placed once', { timeout: 60_000 }, async () => {
    const { source, downloads, keys, pair: p, proxy } = await proxiedPair(fx);
    const album = join(source, 'album');
    await mkdir(join(album, 'day 1'), { recursive: true });
    const files = { 'a.bin': 300_000, 'day 1/b.bin': 70_000 };
    for (const [name, size] of Object.entries(files)) await writeRandomFile(join(album, name), size);

    // The connection ends between the last check and the move: the move waits until the receiver
    // has seen the end, so the order is the same on every run.
    const place = DownloadDir.prototype.place;
    fx.undo(() => (DownloadDir.prototype.place = place));
    DownloadDir.prototype.place = async function (...args) {
      proxy.cut();
      await p.receiver.closed;
      return place.apply(this, args);
    };
    await offer(p.sender, [album]);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    const ended = await Promise.race([p.receiver.next('done'), p.receiver.next('failed')]);
    assert.equal(ended.type, 'done', `the receiver placed and verified every file: ${ended.type === 'failed' ? ended.error.message : ''}`);
    const sent = await failure(p.sender);
    assert.equal(sent.error.code, 'ERR_FILE_CANCELLED', 'the sender never got the confirmation: for it the connection was lost');
    assert.deepEqual(await readdir(downloads), ['album'], 'placed once, and the partial folder tidied away');
    for (const name of Object.keys(files)) {
      assert.equal(await fileSha256(join(downloads, 'album', name)), await fileSha256(join(album, name)), name);
    }

    // What the README says happens next: the same files offered again are a new offer with
    // nothing to resume, which the receiver is asked about and which lands beside the first copy.
    DownloadDir.prototype.place = place;
    const again = await offerAgain(fx, downloads, keys, [album]);
    assert.deepEqual(again.resume, []);
    const asked = await again.pair.receiver.next('offer');
    assert.equal(asked.type === 'offer' && asked.autoAccept, false, 'the receiver was asked, not auto-accepting');
    assert.deepEqual((await readdir(downloads)).sort(), ['album', 'album (1)']);
  });
});
