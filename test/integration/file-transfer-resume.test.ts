// A transfer whose connection is cut mid-way: both sides report it, the receiver keeps what it
// has in the partial folder, and the next offer of the same files from the same sender sends only
// the rest (checked against the sender's bytes first) and ends with the right files in place.

import assert from 'node:assert/strict';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { FileEventReporter } from '../../src/app/files/file-events.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { fileSha256, interruptedFile, MiB, offerAgain, partialFiles, proxiedPair, sendAndInterrupt, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

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
    const reported = new FileEventReporter(SYSTEM_CLOCK).toAppEvent(failed.receiver);
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
    for (const side of [again.pair.sender, again.pair.receiver]) {
      // Replayed on a manual clock: accepted, then the last progress a second later. A speed from
      // the bytes shown would be the whole file a second; from the bytes carried it is the rest.
      const clock = new ManualClock(0);
      const reporter = new FileEventReporter(clock);
      reporter.toAppEvent(side.events.find((e) => e.type === 'accepted')!);
      clock.advance(1_000);
      const last = reporter.toAppEvent(side.events.filter((e) => e.type === 'progress').at(-1)!);
      assert.ok(last.type === 'file-progress' && last.bytes === size);
      assert.equal(last.bytesPerSecond, size - point!.have, `${side.name}: bytes per second × 1 s = the bytes carried`);
    }
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
});
