// Verified files being moved from the partial folder into the download directory when the
// transfer ends under them: a cut, our /cancel or the peer's. The move finishes and is reported
// (never "lost" with nothing left to resume from), no further move starts, and a stuck move holds
// the end only so long. The receiver's download directory holds each move at a chosen point.

import assert from 'node:assert/strict';
import { mkdir, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { DownloadDir, PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { INCOMING_DEFAULTS } from '../../src/app/files/incoming-transfer.js';
import type { TransfersOptions } from '../../src/app/files/transfers.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { failure, fileSha256, offer, offerAgain, proxiedPair, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

/**
 * Receiver options whose download directory runs `beforeMove` before each move into place, and
 * `moved()`, which resolves once every move begun has ended (before the test removes the directory).
 */
function holdingMoves(beforeMove: () => Promise<void>) {
  const moves: Promise<unknown>[] = [];
  class HeldDir extends DownloadDir {
    override place(...args: Parameters<DownloadDir['place']>): Promise<string> {
      const move = beforeMove().then(() => super.place(...args));
      moves.push(move.catch(() => undefined));
      return move;
    }
  }
  const options: Pick<TransfersOptions, 'openDownloadDir'> = { openDownloadDir: (path) => HeldDir.open(path) };
  return { options, moved: () => Promise.all(moves) };
}

/** One turn of the event loop: a user's /cancel comes from it, after the move began. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('a transfer that ends while verified files are being placed', () => {
  for (const canceller of ['receiver', 'sender'] as const) {
    it(`a /cancel by the ${canceller} while the verified directory is being placed: the receiver reports it received, placed once`, { timeout: 60_000 }, async () => {
      // The move waits until the cancel has reached the receiver (a user's /cancel comes from the
      // event loop, after the move began; the sender's as a file-cancel message).
      const { source, downloads, pair: p } = await proxiedPair(
        fx,
        undefined,
        holdingMoves(async () => {
          if (canceller === 'receiver') {
            await nextTurn();
            p.receiver.transfers.cancel();
          } else {
            const arrived = new Promise<void>((resolve) => p.receiver.conn.on('message', (m) => m.type === 'file-cancel' && resolve()));
            p.sender.transfers.cancel();
            await arrived;
          }
        }).options,
      );
      const album = join(source, 'album');
      await mkdir(album, { recursive: true });
      await writeRandomFile(join(album, 'a.bin'), 200_000);
      await writeRandomFile(join(album, 'b.bin'), 50_000);

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
    // The receiver's transfers wait on a manual clock: placeWaitMs passes only when the test says.
    const clock = new ManualClock();
    let cancelled: () => void = () => undefined;
    const cancelIssued = new Promise<void>((resolve) => (cancelled = resolve));
    let release: () => void = () => undefined;
    const held = holdingMoves(async () => {
      await nextTurn();
      p.receiver.transfers.cancel();
      cancelled();
      await new Promise<void>((resolve) => (release = resolve)); // a rename that hangs (say, on NFS)
    });
    const p = await fx.pair(downloads, { receiver: { clock, ...held.options } });
    await offer(p.sender, [join(source, 'stuck.bin')]);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    await cancelIssued;
    clock.advance(INCOMING_DEFAULTS.placeWaitMs - 1);
    await nextTurn();
    const ends = () => p.receiver.events.filter((e) => e.type === 'done' || e.type === 'failed');
    assert.deepEqual(ends(), [], 'the cancel waits for the move...');
    clock.advance(1);
    const [ended] = ends();
    assert.equal(ended?.type === 'failed' && ended.error.code, 'ERR_FILE_CANCELLED', '...until placeWaitMs, then takes effect without it');
    release();
    await held.moved(); // the rename comes back: it must not land in a directory being removed
  });

  it('a /cancel amid many small files being placed ends the transfer after the move under way, not after the rest', { timeout: 60_000 }, async () => {
    let moves = 0;
    let movesBeforeCancel = 0;
    // The moves started before the cancel are held until every file has arrived at the receiver
    // (the sender goes on until the cancel takes effect): the rest are verified meanwhile, and none
    // of those may be moved.
    let fileEnds = 0;
    let allArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (allArrived = resolve));
    const { source, downloads, pair: p } = await proxiedPair(
      fx,
      undefined,
      holdingMoves(async () => {
        if (++moves === 5) {
          await nextTurn();
          movesBeforeCancel = moves;
          p.receiver.transfers.cancel();
        }
        await arrived;
      }).options,
    );
    const paths: string[] = [];
    for (let i = 0; i < 200; i++) {
      const path = join(source, `f${String(i).padStart(3, '0')}.txt`);
      await writeFile(path, `file ${i}\n`.repeat(100));
      paths.push(path);
    }
    p.receiver.conn.on('message', (m) => m.type === 'file-end' && ++fileEnds === paths.length && allArrived());
    await offer(p.sender, paths);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    const ended = await Promise.race([p.receiver.next('done'), p.receiver.next('failed')]);
    assert.equal(ended.type === 'failed' && ended.error.code, 'ERR_FILE_CANCELLED');
    assert.equal(fileEnds, paths.length, 'every file arrived while the moves were held');
    const placed = (await readdir(downloads)).filter((n) => n !== PARTIAL_DIR);
    assert.ok(movesBeforeCancel >= 5 && movesBeforeCancel < paths.length);
    assert.equal(moves, movesBeforeCancel, 'no move began after the cancel');
    assert.equal(placed.length, movesBeforeCancel, 'the moves under way at the cancel finished, and no other began');
  });

  // Regression: the tree was placed, yet the receiver reported a resumable loss with nothing left
  // to resume from, so offering it again made a silent "album (1)".
  it('a cut while the verified directory is being placed: the receiver reports it done, placed once', { timeout: 60_000 }, async () => {
    // The connection ends between the last check and the move: the move waits until the receiver
    // has seen the end, so the order is the same on every run.
    const { source, downloads, keys, pair: p, proxy } = await proxiedPair(
      fx,
      undefined,
      holdingMoves(async () => {
        proxy.cut();
        await p.receiver.closed;
      }).options,
    );
    const album = join(source, 'album');
    await mkdir(join(album, 'day 1'), { recursive: true });
    const files = { 'a.bin': 300_000, 'day 1/b.bin': 70_000 };
    for (const [name, size] of Object.entries(files)) await writeRandomFile(join(album, name), size);
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
    // nothing to resume, which the receiver is asked about and which lands beside the first copy
    // (a new pair, whose download directory moves at once).
    const again = await offerAgain(fx, downloads, keys, [album]);
    assert.deepEqual(again.resume, []);
    const asked = await again.pair.receiver.next('offer');
    assert.equal(asked.type === 'offer' && asked.autoAccept, false, 'the receiver was asked, not auto-accepting');
    assert.deepEqual((await readdir(downloads)).sort(), ['album', 'album (1)']);
  });
});
