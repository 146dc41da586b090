// A transfer whose connection is cut mid-way: both sides report it, the receiver keeps what it
// has in the partial folder, and the next offer of the same files from the same sender sends only
// the rest (checked against the sender's bytes first) and ends with the right files in place.

import assert from 'node:assert/strict';
import { mkdir, writeFile, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { DownloadDir, PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { FileEventReporter } from '../../src/app/files/file-events.js';
import { failure, fileSha256, interruptedFile, MiB, offer, offerAgain, partialFiles, proxiedPair, sendAndInterrupt, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

describe('file transfer resumed after the connection was cut', () => {
  it('sends only the rest of a file on the next offer, and the result verifies', { timeout: 60_000 }, async () => {
    const size = 32 * MiB + 123;
    const { downloads, path, keys, failed } = await interruptedFile(fx, { name: 'big.bin', size }, 4 * MiB, (proxy) => proxy.cut());
    for (const f of [failed.sender, failed.receiver]) {
      assert.equal(f.error.code, 'ERR_FILE_CANCELLED', f.error.message);
      assert.equal(f.byPeer, true, 'the connection ended it, not our side');
    }
    const reported = new FileEventReporter().toAppEvent(failed.receiver);
    assert.equal(reported.type === 'file-error' && reported.resumable, true, 'the receiver says it can resume');
    assert.deepEqual(await readdir(downloads), [PARTIAL_DIR], 'nothing but the partial folder');
    const [partial] = await partialFiles(downloads);
    assert.ok(partial && partial.size >= 4 * MiB && partial.size < size, `partial of ${partial?.size} bytes`);

    const again = await offerAgain(fx, downloads, keys, [path]);
    assert.equal(again.resume.length, 1, 'one resume point');
    const [point] = again.resume;
    assert.equal(point!.index, 0);
    assert.ok(point!.have >= 4 * MiB && point!.have < size, `resumed from ${point!.have}`);
    assert.equal(again.sent, size - point!.have, 'only the missing bytes were sent');
    for (const done of [again.done.sent, again.done.received]) {
      assert.equal(done.type === 'done' && done.transfer.resumed, point!.have, 'both sides count what the resume skipped (for the speed they show)');
    }
    assert.ok(again.sent < size);
    assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(path));
    assert.deepEqual(await partialFiles(downloads), [], 'no partial file left');
    assert.deepEqual((await readdir(downloads)).filter((n) => n !== PARTIAL_DIR), ['big.bin']);
  });

  it('starts over when the partial no longer matches the start of the sender\'s file', { timeout: 60_000 }, async () => {
    const size = 8 * MiB;
    const { downloads, path, keys } = await interruptedFile(fx, { name: 'big.bin', size }, 1 * MiB, (proxy) => proxy.cut());
    const [partial] = await partialFiles(downloads);
    const handle = await open(join(downloads, PARTIAL_DIR, partial!.name), 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, 1000);
      byte[0]! ^= 0xff;
      await handle.write(byte, 0, 1, 1000);
    } finally {
      await handle.close();
    }

    const again = await offerAgain(fx, downloads, keys, [path]);
    assert.equal(again.resume[0]?.have, partial!.size, 'the receiver offered its partial');
    assert.equal(again.sent, size, 'the sender checked it, found it different, and sent everything');
    for (const done of [again.done.sent, again.done.received]) {
      assert.equal(done.type === 'done' && done.transfer.resumed, 0, 'nothing counted as resumed: it was all carried');
    }
    assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(path));
    assert.deepEqual(await partialFiles(downloads), []);
  });

  it('resumes a directory into the same tree and never makes "dir (1)" for it', { timeout: 60_000 }, async () => {
    const { source, downloads, keys, pair: p, proxy } = await proxiedPair(fx);
    const album = join(source, 'album');
    await mkdir(join(album, 'day 1'), { recursive: true });
    // Sent in name order: a.bin is complete before the cut, day 1/b.bin is cut, z.bin not begun.
    const files = { 'a.bin': 300_000, 'day 1/b.bin': 24 * MiB + 1, 'z.bin': 70_000 };
    for (const [name, size] of Object.entries(files)) await writeRandomFile(join(album, name), size);

    const failed = await sendAndInterrupt(p, [album], 4 * MiB, () => proxy.cut());
    assert.equal(failed.receiver.error.code, 'ERR_FILE_CANCELLED');
    assert.equal(failed.sender.error.code, 'ERR_FILE_CANCELLED');
    assert.deepEqual(await readdir(downloads), [PARTIAL_DIR], 'the tree is placed only when every file is verified');
    const partials = (await partialFiles(downloads)).map((f) => f.size).sort((a, b) => a - b);
    assert.equal(partials.length, 2, `a.bin and part of b.bin: ${partials.join(', ')}`);
    assert.equal(partials[0], files['a.bin']);

    const again = await offerAgain(fx, downloads, keys, [album]);
    const have = new Map(again.resume.map((r) => [r.index, r.have]));
    assert.equal(have.get(0), files['a.bin'], 'a.bin is already complete');
    assert.equal(have.get(1), partials[1], 'day 1/b.bin resumes where it was cut');
    const total = Object.values(files).reduce((a, b) => a + b, 0);
    assert.equal(again.sent, total - files['a.bin'] - partials[1]!);

    assert.deepEqual((await readdir(downloads)).filter((n) => n !== PARTIAL_DIR), ['album']);
    for (const name of Object.keys(files)) {
      assert.equal(await fileSha256(join(downloads, 'album', name)), await fileSha256(join(album, name)), name);
    }
    assert.deepEqual((await readdir(join(downloads, 'album'))).sort(), ['a.bin', 'day 1', 'z.bin']);
    assert.ok((await stat(join(downloads, 'album', 'day 1'))).isDirectory());
    assert.deepEqual(await partialFiles(downloads), []);
  });

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
