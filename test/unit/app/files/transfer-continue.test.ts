// Transfers across a lost connection whose conversation resumes: nothing fails while it is
// suspended; on the new connection the sender offers the same transfer again (same id), the
// receiver answers at once with where it stands, and only what is missing is carried. A
// conversation that is lost ends them as a lost connection did before; a cancel while suspended
// ends at once and reaches the peer after the resume. In-memory links (resumable-links.ts) on a
// manual clock; the files are real, in temporary directories.

import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { DownloadDir, PARTIAL_DIR } from '../../../../src/app/files/download-dir.js';
import { FileEventReporter } from '../../../../src/app/files/file-events.js';
import { listFiles } from '../../../../src/app/files/file-list.js';
import type { Transfer } from '../../../../src/app/files/transfer.js';
import { Transfers, type TransferEvent } from '../../../../src/app/files/transfers.js';
import type { FileMessage } from '../../../../src/session/file-messages.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { recordingLink } from '../../../helpers/recording-link.js';
import { ResumableLinks, type ResumableLinksOptions, type Side } from '../../../helpers/resumable-links.js';
import { fileSha256, MiB, partialFiles, TransferFixture, writeRandomFile } from '../../../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

/** Files of random bytes (by relative path and size) in a source directory, and a download directory. */
async function setup(files: Record<string, number>, acceptFiles: 'any' | 'ask' = 'any', openDownloadDir?: ResumableLinksOptions['openDownloadDir']) {
  const source = await fx.tempDir('src');
  const downloads = await fx.tempDir('dl');
  for (const [name, size] of Object.entries(files)) {
    await mkdir(join(source, name, '..'), { recursive: true });
    await writeRandomFile(join(source, name), size);
  }
  const links = new ResumableLinks({ downloadDir: downloads, clock: new ManualClock(0), acceptFiles, ...(openDownloadDir ? { openDownloadDir } : {}) });
  return { source, downloads, links };
}

async function send(links: ResumableLinks, paths: string[]): Promise<Transfer> {
  return links.bob.transfers.send(links.bob.link, (await listFiles(paths)).files);
}

/** Once alice has `bytes` of the transfer on disk. */
function aliceHas(links: ResumableLinks, bytes: number): Promise<TransferEvent> {
  return links.alice.next('progress', (e) => e.type === 'progress' && e.bytes >= bytes);
}

function ofType<T extends FileMessage['type']>(messages: readonly FileMessage[], type: T): Extract<FileMessage, { type: T }>[] {
  return messages.filter((m): m is Extract<FileMessage, { type: T }> => m.type === type);
}

function eventTypes(side: Side): string[] {
  return side.events.map((e) => e.type).filter((t) => t !== 'progress');
}

/** big.bin of `size` random bytes sent to alice, and the connection cut once she has `at` bytes of it. */
async function cutPartWay(size: number, at: number) {
  const { source, downloads, links } = await setup({ 'big.bin': size });
  const path = join(source, 'big.bin');
  const transfer = await send(links, [path]);
  await aliceHas(links, at);
  links.cut();
  return { path, downloads, links, transfer };
}

/** Both sides done; resolves with each side's done event. */
async function bothDone(links: ResumableLinks) {
  const [sent, received] = await Promise.all([links.bob.next('done'), links.alice.next('done')]);
  return { sent: sent as Extract<TransferEvent, { type: 'done' }>, received: received as Extract<TransferEvent, { type: 'done' }> };
}

describe('a transfer over a conversation that resumes', () => {
  it('pauses when the connection is lost, and on resume goes on from what the receiver holds, unasked', { timeout: 30_000 }, async () => {
    const size = 8 * MiB + 7;
    const { path, downloads, links, transfer } = await cutPartWay(size, 2 * MiB);
    const incoming = links.alice.transfers.list()[0]!;
    assert.equal(transfer.suspended, true);
    assert.equal(incoming.suspended, true);
    await delay(50); // the writes under way settle; nothing may fail meanwhile
    assert.deepEqual(links.bob.events.filter((e) => e.type === 'failed'), []);
    assert.deepEqual(links.alice.events.filter((e) => e.type === 'failed'), []);
    const carriedBefore = links.connections[0]!.dataBytes;
    assert.ok(carriedBefore < size, 'cut before the end');

    links.resume();
    const { sent, received } = await bothDone(links);
    const again = links.current;
    const offers = ofType(again.toAlice, 'file-offer');
    assert.deepEqual(offers.map((o) => o.id), [transfer.id], 'the same offer again, same id');
    assert.deepEqual(offers[0]!.files, [{ path: 'big.bin', size }]);
    const [answer] = ofType(again.toBob, 'file-accept');
    assert.equal(answer?.id, transfer.id);
    const have = answer!.resume[0]!.have;
    assert.deepEqual(answer!.resume.map((p) => p.index), [0]);
    assert.ok(have >= 2 * MiB && have <= carriedBefore, `resumed from ${have} of the ${carriedBefore} carried`);
    assert.deepEqual(ofType(again.toAlice, 'file-start'), [{ type: 'file-start', id: transfer.id, index: 0, offset: have }]);
    assert.equal(again.dataBytes, size - have, 'only the rest was carried');

    assert.deepEqual(eventTypes(links.alice), ['offer', 'accepted', 'done'], 'no second offer, nobody asked');
    assert.deepEqual(eventTypes(links.bob), ['offer', 'accepted', 'done']);
    for (const done of [sent, received]) assert.equal(done.transfer.resumed, have, 'what the resume found counts as resumed');
    assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(path));
    assert.deepEqual(await partialFiles(downloads), []);
  });

  it('keeps progress honest: bytes carried only grow, by what crossed a connection; bytes reach the total', { timeout: 30_000 }, async () => {
    const size = 6 * MiB;
    const { links } = await cutPartWay(size, 1 * MiB);
    links.resume();
    await bothDone(links);
    const [first, second] = links.connections.map((c) => c.dataBytes) as [number, number];
    const have = ofType(links.current.toBob, 'file-accept')[0]!.resume[0]!.have;
    assert.equal(second, size - have);
    const last = new Map<Side, Extract<TransferEvent, { type: 'progress' }>>();
    for (const side of [links.bob, links.alice]) {
      const progress = side.events.filter((e): e is Extract<TransferEvent, { type: 'progress' }> => e.type === 'progress');
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.carried >= progress[i - 1]!.carried, 'carried never goes back');
      last.set(side, progress.at(-1)!);
      assert.equal(progress.at(-1)!.bytes, size);
    }
    // The receiver wrote every byte either connection brought; the sender counts what was
    // acknowledged: all of the second connection's, and some of the first's (acks lag behind).
    assert.equal(last.get(links.alice)!.carried, first + second);
    const bob = last.get(links.bob)!.carried;
    assert.ok(bob > second && bob <= first + second, `bob: ${bob} carried, of ${first} + ${second}`);
  });

  it('ends both sides as a lost connection, resumable, when the conversation is lost instead', { timeout: 30_000 }, async () => {
    const { downloads, links } = await cutPartWay(4 * MiB, 1 * MiB);
    links.lose();
    const [bob, alice] = await Promise.all([links.bob.next('failed'), links.alice.next('failed')]);
    for (const failed of [bob, alice]) {
      assert.ok(failed.type === 'failed');
      assert.equal(failed.error.code, 'ERR_FILE_CANCELLED');
      assert.equal(failed.byPeer, true, 'the connection ended it');
      assert.match(failed.error.message, /big\.bin stopped: connection to (alice|bob) lost \(reset by peer; not back within 120 s\)$/);
      const reported = new FileEventReporter(new ManualClock(0)).toAppEvent(failed);
      assert.equal(reported.type === 'file-error' && reported.resumable, true);
    }
    assert.deepEqual(links.bob.transfers.list(), []);
    assert.deepEqual(links.alice.transfers.list(), []);
    const [partial] = await partialFiles(downloads);
    assert.ok(partial && partial.size >= 1 * MiB, 'the partial file is kept for an offer made by hand');
  });

  it('a sender that cancels while suspended ends at once; the receiver hears it on resume and nothing is offered', { timeout: 30_000 }, async () => {
    const { links, transfer } = await cutPartWay(4 * MiB, 1 * MiB);
    links.bob.transfers.cancel();
    const bobFailed = links.bob.events.find((e) => e.type === 'failed');
    assert.ok(bobFailed?.type === 'failed' && bobFailed.error.code === 'ERR_FILE_CANCELLED', 'ended at once, not at the resume');
    assert.equal(transfer.finished, true);

    links.resume();
    const aliceFailed = await links.alice.next('failed');
    assert.ok(aliceFailed.type === 'failed');
    assert.equal(aliceFailed.byPeer, true);
    assert.equal(aliceFailed.error.message, 'bob stopped big.bin');
    assert.deepEqual(ofType(links.current.toAlice, 'file-offer'), [], 'a cancelled transfer is not offered again');
    assert.deepEqual(ofType(links.current.toAlice, 'file-cancel').map((m) => m.id), [transfer.id]);
  });

  it('a receiver that cancels while suspended answers the repeated offer with its cancel, not a new offer', { timeout: 30_000 }, async () => {
    const { links, transfer } = await cutPartWay(4 * MiB, 1 * MiB);
    links.alice.transfers.cancel();
    assert.ok(links.alice.events.some((e) => e.type === 'failed'), 'ended at once');

    links.resume();
    const bobFailed = await links.bob.next('failed');
    assert.ok(bobFailed.type === 'failed');
    assert.equal(bobFailed.byPeer, true);
    assert.equal(bobFailed.error.message, 'alice stopped big.bin');
    await links.idle();
    assert.deepEqual(eventTypes(links.alice), ['offer', 'accepted', 'failed'], 'the repeated offer was not taken for a new one');
    assert.deepEqual(ofType(links.current.toBob, 'file-accept'), []);
    assert.deepEqual(ofType(links.current.toBob, 'file-cancel').map((m) => m.id), [transfer.id]);
  });

  it('an offer still unanswered is made again: the receiver keeps asking once, and its /accept starts the transfer', { timeout: 30_000 }, async () => {
    const { source, downloads, links } = await setup({ 'a.bin': 300_000 }, 'ask');
    const transfer = await send(links, [join(source, 'a.bin')]);
    await links.alice.next('offer');
    links.cut();
    links.resume();
    await links.idle();
    assert.deepEqual(ofType(links.current.toAlice, 'file-offer').map((o) => o.id), [transfer.id]);
    assert.deepEqual(eventTypes(links.alice), ['offer'], 'still the one offer, waiting for the user');
    assert.deepEqual(links.current.toBob, [], 'nothing is answered for the user');
    links.alice.transfers.accept();
    await bothDone(links);
    assert.equal(await fileSha256(join(downloads, 'a.bin')), await fileSha256(join(source, 'a.bin')));
  });

  it('an offer lost in the cut arrives after the resume as the offer it is', { timeout: 30_000 }, async () => {
    const { source, downloads, links } = await setup({ 'a.bin': 300_000 }, 'ask');
    links.cut(); // before the offer leaves: it is lost with the connection
    const transfer = await send(links, [join(source, 'a.bin')]);
    assert.equal(transfer.suspended, false, 'made on a link already lost, it waits for the next');
    assert.deepEqual(links.alice.events, []);
    links.resume();
    const offer = await links.alice.next('offer');
    assert.equal(offer.type === 'offer' && offer.transfer.id, transfer.id);
    links.alice.transfers.accept();
    await bothDone(links);
    assert.equal(await fileSha256(join(downloads, 'a.bin')), await fileSha256(join(source, 'a.bin')));
  });

  for (const ready of [true, false]) {
    it(`a /accept given while suspended is the answer to the repeated offer (${ready ? 'ready before' : 'still being prepared at'} the resume)`, { timeout: 30_000 }, async () => {
      // Opening the download directory waits for `open()`: the accept is prepared only then.
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      const openDownloadDir = async (path: string) => {
        await opened;
        return DownloadDir.open(path);
      };
      const { source, downloads, links } = await setup({ 'a.bin': 300_000 }, 'ask', openDownloadDir);
      await send(links, [join(source, 'a.bin')]);
      await links.alice.next('offer');
      links.cut();
      links.alice.transfers.accept();
      if (ready) {
        open();
        await delay(100);
      }
      links.resume();
      await links.idle(); // the repeated offer has arrived
      if (!ready) open();
      await bothDone(links);
      assert.equal(ofType(links.current.toBob, 'file-accept').length, 1, 'one answer, to the repeated offer');
      assert.equal(await fileSha256(join(downloads, 'a.bin')), await fileSha256(join(source, 'a.bin')));
    });
  }

  it('a receiver done when the connection dropped confirms again: the sender, waiting, finishes', { timeout: 30_000 }, async () => {
    const { source, downloads, links } = await setup({ 'a.bin': 1 * MiB });
    const transfer = await send(links, [join(source, 'a.bin')]);
    // Lost the moment alice is done: her confirmation never leaves.
    links.alice.transfers.on('event', (e) => {
      if (e.type === 'done') links.cut();
    });
    await links.alice.next('done');
    assert.equal(transfer.state, 'active', 'bob still waits for the confirmation');
    links.resume();
    await links.bob.next('done');
    assert.deepEqual(ofType(links.current.toBob, 'file-verified').map((m) => m.index), [0]);
    assert.equal(links.current.dataBytes, 0, 'nothing sent again');
    assert.deepEqual(eventTypes(links.alice), ['offer', 'accepted', 'done'], 'no second offer');
    assert.deepEqual((await readdir(downloads)).sort(), ['a.bin'], 'one copy, no "a (1).bin"');
  });

  it('confirms placed files again, and finishes a verified file waiting for its group without its bytes', { timeout: 30_000 }, async () => {
    const files = { 'x.bin': 200_000, 'album/a.bin': 300_000, 'album/b.bin': 4 * MiB + 1, 'album/z.bin': 70_000 };
    const { source, downloads, links } = await setup(files);
    const transfer = await send(links, [join(source, 'x.bin'), join(source, 'album')]);
    // At the cut x.bin is placed and confirmed, album/a.bin is verified but waits for the rest of
    // album/, and album/b.bin is part-way.
    const indexOf = (path: string) => transfer.files.findIndex((f) => f.path === path);
    const accepted = await links.alice.next('accepted');
    assert.ok(accepted.type === 'accepted');
    // Placing x.bin waits on the disk, receiving does not: under load the bytes can run ahead of it.
    const xConfirmed = new Promise<void>((resolve) => {
      accepted.transfer.on('file-verified', (f) => {
        if (f.index === indexOf('x.bin')) resolve();
      });
    });
    await aliceHas(links, 200_000 + 300_000 + 1 * MiB);
    await xConfirmed;
    links.cut();
    links.resume();
    await bothDone(links);
    const again = links.current;
    assert.deepEqual(ofType(again.toBob, 'file-verified').map((m) => m.index).sort(), [indexOf('x.bin'), indexOf('album/a.bin'), indexOf('album/b.bin'), indexOf('album/z.bin')].sort());
    const [answer] = ofType(again.toBob, 'file-accept');
    const have = new Map(answer!.resume.map((p) => [p.index, p.have]));
    assert.equal(have.get(indexOf('album/a.bin')), files['album/a.bin'], 'held whole');
    assert.ok(!have.has(indexOf('x.bin')), 'a placed file has no resume point');
    const b = have.get(indexOf('album/b.bin'))!;
    assert.ok(b >= 1 * MiB - 300_000, `album/b.bin resumes from ${b}`);
    assert.equal(again.dataBytes, files['album/b.bin'] - b + files['album/z.bin'], 'neither x.bin nor album/a.bin carried again');
    for (const name of Object.keys(files)) assert.equal(await fileSha256(join(downloads, name)), await fileSha256(join(source, name)), name);
    assert.deepEqual((await readdir(downloads)).sort(), ['album', 'x.bin'], 'nothing placed twice');
    assert.ok(!(await readdir(downloads)).includes(PARTIAL_DIR));
  });

  it('repeats a confirmation the cut lost: the placed file is not sent again', { timeout: 30_000 }, async () => {
    const files = { 'x.bin': 200_000, 'y.bin': 2 * MiB };
    const { source, downloads, links } = await setup(files);
    const transfer = await send(links, [join(source, 'x.bin'), join(source, 'y.bin')]);
    const accepted = await links.alice.next('accepted');
    assert.ok(accepted.type === 'accepted');
    // Lost the moment x.bin is placed: its confirmation never leaves.
    accepted.transfer.once('file-verified', () => links.cut());
    await new Promise<void>((resolve) => accepted.transfer.once('file-verified', () => resolve()));
    assert.equal(ofType(links.connections[0]!.toBob, 'file-verified').length, 0, 'bob never heard of x.bin');
    links.resume();
    await bothDone(links);
    const again = links.current;
    assert.deepEqual(ofType(again.toBob, 'file-verified').map((m) => m.index), [0, 1]);
    assert.ok(!ofType(again.toAlice, 'file-start').some((m) => m.index === 0), 'x.bin is not started again');
    assert.ok(again.dataBytes <= files['y.bin']);
    assert.equal(transfer.state, 'done');
    assert.deepEqual((await readdir(downloads)).sort(), ['x.bin', 'y.bin']);
    for (const name of Object.keys(files)) assert.equal(await fileSha256(join(downloads, name)), await fileSha256(join(source, name)), name);
  });

  it('a sending loop overtaken by a pause leaves the next answer\'s queue alone', { timeout: 30_000 }, async () => {
    // Accepted, paused and accepted again before the first loop has read anything: that loop
    // ends on its way in, and the second sends the file. (One that took a file from the new
    // queue on its way out would leave the second with nothing to send.)
    const source = await fx.tempDir('src');
    await writeRandomFile(join(source, 'a.bin'), 100_000);
    const transfers = new Transfers({ downloadDir: source, acceptFiles: 'never', offerTimeoutMs: 60_000, progressIntervalMs: 0, clock: new ManualClock(0) });
    const [first, second] = [recordingLink(), recordingLink()];
    const transfer = transfers.send(first, (await listFiles([join(source, 'a.bin')])).files);
    transfers.handle(first, { type: 'file-accept', id: transfer.id, resume: [] });
    transfers.linkSuspended(first);
    transfers.linkResumed(first, second);
    transfers.handle(second, { type: 'file-accept', id: transfer.id, resume: [] });
    for (let i = 0; i < 10_000 && !second.sent.some((m) => m.type === 'file-end'); i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ofType(second.sent, 'file-start'), [{ type: 'file-start', id: transfer.id, index: 0, offset: 0 }]);
    assert.equal(ofType(second.sent, 'file-end').length, 1, 'the file was sent on the second link');
    assert.deepEqual(ofType(first.sent, 'file-start'), [], 'nothing on the first after the pause');
    transfer.cancel();
  });

  it('survives a second cut while the answer is still on its way', { timeout: 30_000 }, async () => {
    const size = 6 * MiB;
    const { path, downloads, links } = await cutPartWay(size, 1 * MiB);
    links.resume();
    links.cut(); // the repeated offer is lost too
    links.resume();
    await bothDone(links);
    assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(path));
    assert.equal(links.connections.length, 3);
  });
});
