// A transfer whose connection is cut mid-way: both sides report it, the receiver keeps what it
// has in the partial folder, and the next offer of the same files from the same sender sends only
// the rest (checked against the sender's bytes first) and ends with the right files in place.

import assert from 'node:assert/strict';
import { type FileHandle, mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { DownloadDir, PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { FileEventReporter } from '../../src/app/files/file-events.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import type { ResumePoint } from '../../src/session/file-messages.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  failure,
  fileSha256,
  interruptedFile,
  MiB,
  offer,
  offerAgain,
  partialFiles,
  proxiedPair,
  sendAndInterrupt,
  TransferFixture,
  writeRandomFile,
} from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

/** Holds every file write made while it is closed, until release(). */
class WriteGate {
  #closed = false;
  #held: (() => void)[] = [];
  #onHold: (() => void) | undefined;
  /** Bytes of the writes held. */
  heldBytes = 0;
  /** Resolves once a write is held. */
  readonly holding = new Promise<void>((resolve) => (this.#onHold = resolve));

  close(): void {
    this.#closed = true;
  }

  async pass(bytes: number): Promise<void> {
    if (!this.#closed) return;
    this.heldBytes += bytes;
    this.#onHold?.();
    await new Promise<void>((resolve) => this.#held.push(resolve));
  }

  release(): void {
    this.#closed = false;
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

/** A download directory whose partial files' writes go through `gate`. */
function gatedDir(gate: WriteGate): (path: string) => Promise<DownloadDir> {
  class GatedDir extends DownloadDir {
    override async openPart(partPath: string, offset: number): Promise<FileHandle> {
      const handle = await super.openPart(partPath, offset);
      const writev = handle.writev.bind(handle);
      handle.writev = (async (buffers: NodeJS.ArrayBufferView[], position?: number) => {
        await gate.pass(buffers.reduce((n, b) => n + b.byteLength, 0));
        return writev(buffers, position);
      }) as FileHandle['writev'];
      return handle;
    }
  }
  return (path) => GatedDir.open(path);
}

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

  it('a write still under way when the transfer ends lands before the next offer reads the partial', { timeout: 60_000 }, async () => {
    const gate = new WriteGate();
    try {
      const size = 8 * MiB;
      const { downloads, path, keys, pair: p, proxy } = await proxiedPair(fx, { name: 'big.bin', size }, { openDownloadDir: gatedDir(gate) });
      // Once 1 MiB is on disk the next write is held; the connection is cut under it.
      const cut = p.receiver.next('progress', (e) => e.type === 'progress' && e.bytes >= MiB).then(async () => {
        gate.close();
        await gate.holding;
        proxy.cut();
      });
      await offer(p.sender, [path]);
      await p.receiver.next('offer');
      p.receiver.transfers.accept();
      await cut;
      await Promise.all([failure(p.sender), failure(p.receiver)]);
      const [before] = await partialFiles(downloads);
      assert.ok(gate.heldBytes > 0 && before, 'a write is held, and the partial file is there');

      // The same sender offers the file again. The new transfer opens the directory, claims the
      // part, and must then wait for the held write rather than read the partial as it is now.
      let opened!: () => void;
      const directoryOpened = new Promise<void>((resolve) => (opened = resolve));
      let partialsRead = false;
      class WatchedDir extends DownloadDir {
        override partsPresent(): Promise<ReadonlySet<string>> {
          partialsRead = true;
          return super.partsPresent();
        }
      }
      const again = await fx.pair(downloads, {
        keys: { sender: keys },
        receiver: { openDownloadDir: async (dir) => WatchedDir.open(dir).finally(opened) },
      });
      const resume: ResumePoint[] = [];
      again.sender.conn.on('message', (m) => m.type === 'file-accept' && resume.push(...m.resume));
      await offer(again.sender, [path]);
      await again.receiver.next('offer');
      again.receiver.transfers.accept();
      await directoryOpened;
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(partialsRead, false, 'the partial folder is not read while the ended transfer still writes');

      gate.release();
      await Promise.all([again.sender.next('done'), again.receiver.next('done')]);
      assert.equal(resume[0]?.have, before.size + gate.heldBytes, 'resumed from the partial with the late write in it');
      assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(path));
    } finally {
      gate.release();
    }
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
