// How a receiving transfer uses PartClaims: while one transfer of a file is live, another accept of
// it is refused; once it has ended, the next transfer of the same file reads the partial only after
// the write the ended one still had under way has landed, so it resumes from the partial as it
// stays, not from a size that is still growing. In-memory links (resumable-links.ts) on a manual
// clock; one write of the partial file is held by the test; the files are real, in temp dirs.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { DownloadDir, type ResumableData } from '../../../../src/app/files/download-dir.js';
import { listFiles } from '../../../../src/app/files/file-list.js';
import { PART_CLAIMS } from '../../../../src/app/files/part-claims.js';
import type { Transfer } from '../../../../src/app/files/transfer.js';
import type { TransferEvent } from '../../../../src/app/files/transfers.js';
import type { FileMessage } from '../../../../src/session/file-messages.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { ResumableLinks } from '../../../helpers/resumable-links.js';
import { fileSha256, MiB, partialFiles, sha256, TransferFixture, writeRandomFile } from '../../../helpers/transfer-fixture.js';

const fx = new TransferFixture();
const gates: WriteGate[] = [];
const started: ResumableLinks[] = [];
// A failed test leaves no write held and nothing running that could write into its directories
// once they are removed.
afterEach(async () => {
  for (const gate of gates.splice(0)) gate.release();
  for (const links of started.splice(0)) {
    for (const side of [links.bob, links.alice]) {
      side.transfers.cancelAll('the test is over');
      while (side.transfers.list().length > 0) await setImmediate(); // a cancel waits for moves into place
    }
  }
  await PART_CLAIMS.settled();
  await fx.cleanup();
}, { timeout: 10_000 });

/**
 * Holds the first write of a partial file that starts at or past `from` bytes, until release();
 * every other write passes. Logs what the download directory is asked to do, in order.
 */
class WriteGate {
  readonly log: string[] = [];
  /** The held write: where it starts and how long it is. */
  held: { position: number; length: number } | undefined;
  readonly holding: Promise<void>;
  readonly #released: Promise<void>;
  #hold!: () => void;
  #release!: () => void;
  #opens = 0;
  readonly #waiters: { count: number; resolve: () => void }[] = [];

  constructor(readonly from: number) {
    this.holding = new Promise((resolve) => (this.#hold = resolve));
    this.#released = new Promise((resolve) => (this.#release = resolve));
    gates.push(this);
  }

  release(): void {
    this.log.push('released');
    this.#release();
  }

  /** Resolves once the directory has been opened `count` times (by as many accepts). */
  opened(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      this.#notify();
    });
  }

  #notify(): void {
    for (const w of [...this.#waiters]) {
      if (this.#opens < w.count) continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** How the receiver opens its download directory: one whose partial files write through the gate. */
  readonly openDownloadDir = async (path: string): Promise<DownloadDir> => {
    const gate = this; // what the subclass below reports to
    class GatedDir extends DownloadDir {
      override async openPart(partPath: string, offset: number) {
        const handle = await super.openPart(partPath, offset);
        const writev = handle.writev.bind(handle);
        handle.writev = (async (buffers: NodeJS.ArrayBufferView[], position: number) => {
          const length = buffers.reduce((n, b) => n + b.byteLength, 0);
          if (gate.held || position < gate.from) return writev(buffers, position);
          gate.held = { position, length };
          gate.log.push('held');
          gate.#hold();
          await gate.#released;
          const written = await writev(buffers, position);
          gate.log.push('landed');
          return written;
        }) as typeof handle.writev;
        return handle;
      }

      override partsPresent(): Promise<ReadonlySet<string>> {
        gate.log.push('partsPresent');
        return super.partsPresent();
      }

      override resumable(partPath: string, size: number): Promise<ResumableData | undefined> {
        gate.log.push('resumable');
        return super.resumable(partPath, size);
      }
    }
    const dir = await GatedDir.open(path);
    this.log.push('open');
    this.#opens++;
    this.#notify();
    return dir;
  };
}

/** big.bin of `size` random bytes, and links whose receiver (alice) writes through `gate`. */
async function setup(size: number, gate: WriteGate) {
  const source = await fx.tempDir('src');
  const downloads = await fx.tempDir('dl');
  const path = join(source, 'big.bin');
  await writeRandomFile(path, size);
  const links = new ResumableLinks({ downloadDir: downloads, clock: new ManualClock(0), acceptFiles: 'any', openDownloadDir: gate.openDownloadDir });
  started.push(links);
  return { path, downloads, links };
}

async function send(links: ResumableLinks, path: string): Promise<Transfer> {
  return links.bob.transfers.send(links.bob.link, (await listFiles([path])).files);
}

function ofType<T extends FileMessage['type']>(messages: readonly FileMessage[], type: T): Extract<FileMessage, { type: T }>[] {
  return messages.filter((m): m is Extract<FileMessage, { type: T }> => m.type === type);
}

function failedOf(transfer: Transfer) {
  return (e: TransferEvent) => e.type === 'failed' && e.transfer.id === transfer.id;
}

/** How the first transfer ends while its write is held. */
const ENDINGS: Record<string, (links: ResumableLinks) => void> = {
  'the receiver cancels': (links) => links.alice.transfers.cancel(),
  'the sender cancels': (links) => links.bob.transfers.cancel(),
  'the conversation is lost': (links) => {
    links.cut();
    links.lose();
  },
};

describe('a receiving transfer and the partial files it claims', () => {
  for (const [ending, end] of Object.entries(ENDINGS)) {
    it(`a next offer of the file, when ${ending} under a write, reads the partial once that write has landed`, { timeout: 30_000 }, async () => {
      const size = 3 * MiB + 17;
      // Some write starts past 1 MiB and short of the end: the sender's window is 256 KiB more
      // than the receiver has acknowledged, so no write begun below 1 MiB reaches past 2.25 MiB.
      const gate = new WriteGate(1 * MiB);
      const { path, downloads, links } = await setup(size, gate);
      const first = await send(links, path);
      await gate.holding;
      end(links);
      await links.alice.next('failed', failedOf(first));
      const { position, length } = gate.held!;
      assert.deepEqual((await partialFiles(downloads)).map((p) => p.size), [position], 'the held write has not landed');

      if (links.current.lost) links.resume();
      const answersTo = (t: Transfer) => ofType(links.current.toBob, 'file-accept').filter((m) => m.id === t.id);
      const second = await send(links, path);
      await gate.opened(2); // the second accept has opened the directory and claimed the part
      await setImmediate(); // every promise job its claim queued has run
      assert.deepEqual(gate.log, ['open', 'partsPresent', 'held', 'open'], 'the partial folder is not read while the ended transfer still writes');
      assert.deepEqual(answersTo(second), [], 'nor is the offer answered');
      assert.equal(second.state, 'offered');

      gate.release();
      await Promise.all([links.bob.next('done'), links.alice.next('done')]);
      assert.deepEqual(gate.log.slice(3), ['open', 'released', 'landed', 'partsPresent', 'resumable']);
      const have = position + length;
      const source = await readFile(path);
      assert.deepEqual(answersTo(second), [{ type: 'file-accept', id: second.id, resume: [{ index: 0, have, sha256: sha256(source.subarray(0, have)) }] }], 'resumed from the partial with the held write in it');
      assert.deepEqual(ofType(links.current.toAlice, 'file-start').filter((m) => m.id === second.id), [{ type: 'file-start', id: second.id, index: 0, offset: have }]);
      assert.equal(await fileSha256(join(downloads, 'big.bin')), sha256(source));
      assert.deepEqual(await partialFiles(downloads), []);
    });
  }

  it('refuses another accept of a file a live transfer from the same peer is receiving', { timeout: 30_000 }, async () => {
    const size = 3 * MiB + 17;
    const gate = new WriteGate(1 * MiB);
    const { path, downloads, links } = await setup(size, gate);
    const first = await send(links, path);
    await gate.holding; // the first is live, a write of its partial under way

    for (const attempt of ['second', 'third']) {
      const again = await send(links, path);
      const refused = await links.alice.next('failed', failedOf(again));
      assert.ok(refused.type === 'failed');
      assert.equal(refused.error.code, 'ERR_FILE_WRITE', attempt);
      assert.equal(refused.error.message, 'already receiving big.bin from bob', attempt);
      const told = await links.bob.next('failed', failedOf(again));
      assert.ok(told.type === 'failed' && told.error.code === 'ERR_FILE_WRITE', `${attempt}: the sender hears why`);
      // A refused transfer gives back nothing it did not claim: the third is refused as well.
    }
    assert.equal(first.state, 'active', 'the live transfer goes on');
    assert.deepEqual(gate.log, ['open', 'partsPresent', 'held', 'open', 'open'], 'no refused accept reads the partial folder');

    gate.release();
    await Promise.all([links.bob.next('done'), links.alice.next('done')]);
    assert.equal(first.state, 'done');
    assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(path));
    assert.deepEqual(await partialFiles(downloads), []);
  });
});
