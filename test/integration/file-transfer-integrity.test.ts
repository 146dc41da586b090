// Never a silently wrong file: a byte flipped in transit is caught by the Noise AEAD (the
// connection ends, the partial stays, a new offer resumes); data that does not match the SHA-256
// the sender announces is asked for once more, and a second mismatch is ERR_FILE_CORRUPT.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { FileEventReporter } from '../../src/app/files/file-events.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { RawFileSender } from '../helpers/raw-file-sender.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import { failure, fileSha256, interruptedFile, MiB, offerAgain, partialFiles, sha256, TransferFixture } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

function flipped(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at]! ^= 0x20;
  return copy;
}

/**
 * A raw sender offers notes.bin to a receiver that accepts anything, and sends it with the byte at
 * `flipAt` flipped under the right SHA-256; resolves with the receiver's file-resend.
 */
async function sendWrongCopy(flipAt: number) {
  const downloads = await fx.tempDir('dl');
  const p = await fx.pair(downloads, { rawSender: true, receiver: { acceptFiles: 'any' } });
  const raw = new RawFileSender(p.sender);
  const data = randomBytes(200_000);
  const id = raw.offer([{ path: 'notes.bin', size: data.length }]);
  await raw.next('file-accept', id);
  raw.sendFile(id, 0, flipped(data, flipAt), sha256(data));
  const resend = await raw.next('file-resend', id);
  return { downloads, p, raw, data, id, resend };
}

describe('file transfer integrity', () => {
  // Regression: the receiver's session ended as 'failed' (a handshake that never completed), since
  // its channel no longer counted as established once the tag check failed.
  it('a byte flipped in transit loses the connection; only the partial stays, and a new offer resumes to a correct file', { timeout: 60_000 }, async () => {
    const size = 16 * MiB + 5;
    const flipOne = (through: TcpProxy) => through.armFlip();
    const { downloads, path, keys, pair: p, proxy, failed } = await interruptedFile(fx, { name: 'photo.raw', size }, 2 * MiB, flipOne);
    assert.equal(proxy.flips, 1);
    const closed = await p.receiver.closed;
    assert.equal(closed.kind, 'lost', `an established session that ends is lost: ${JSON.stringify(closed)}`);
    assert.equal(closed.error.code, 'ERR_DECRYPT_FAILED', 'the AEAD caught the flip');
    assert.equal((await p.sender.closed).kind, 'lost');
    for (const f of [failed.sender, failed.receiver]) assert.equal(f.error.code, 'ERR_FILE_CANCELLED', f.error.message);
    const reported = new FileEventReporter(SYSTEM_CLOCK).toAppEvent(failed.receiver);
    assert.equal(reported.type === 'file-error' && reported.resumable, true, 'the receiver says it can resume');
    assert.equal(failed.receiver.error.message, 'photo.raw stopped: connection to sender lost (a message was changed in transit and failed authentication)');
    assert.deepEqual(await readdir(downloads), [PARTIAL_DIR], 'no final file');
    const [partial] = await partialFiles(downloads);
    assert.ok(partial && partial.size > 0 && partial.size < size);

    const again = await offerAgain(fx, downloads, keys, [path]);
    assert.equal(again.resume[0]?.have, partial.size, 'resumed from the partial');
    assert.equal(again.sent, size - partial.size);
    assert.equal(await fileSha256(join(downloads, 'photo.raw')), await fileSha256(path));
    assert.deepEqual(await partialFiles(downloads), []);
  });

  it('asks again for a file that does not match its SHA-256, and places the good copy', { timeout: 30_000 }, async () => {
    const { downloads, p, raw, data, id, resend } = await sendWrongCopy(150_001);
    assert.equal(resend.index, 0);
    assert.match(resend.reason, /SHA-256/);
    const mismatch = await p.receiver.next('mismatch');
    assert.equal(mismatch.type === 'mismatch' && mismatch.path, 'notes.bin');
    assert.deepEqual(await readdir(downloads), [PARTIAL_DIR], 'the bad copy was not placed');

    raw.sendFile(id, 0, data);
    assert.equal((await raw.next('file-verified', id)).index, 0);
    await p.receiver.next('done');
    assert.deepEqual(await readFile(join(downloads, 'notes.bin')), data);
    assert.deepEqual(await partialFiles(downloads), []);
  });

  it('a second mismatch is ERR_FILE_CORRUPT: the partial is kept and no file is placed', { timeout: 30_000 }, async () => {
    const { downloads, p, raw, data, id } = await sendWrongCopy(7);
    raw.sendFile(id, 0, flipped(data, 199_999), sha256(data));

    const failed = await failure(p.receiver);
    assert.equal(failed.error.code, 'ERR_FILE_CORRUPT', failed.error.message);
    assert.equal(failed.byPeer, false);
    const cancel = await raw.next('file-cancel', id);
    assert.equal(cancel.code, 'ERR_FILE_CORRUPT', 'the sender is told why');
    assert.equal(raw.received.filter((m) => m.type === 'file-verified').length, 0);
    assert.deepEqual(await readdir(downloads), [PARTIAL_DIR], 'no final file');
    assert.deepEqual((await partialFiles(downloads)).map((f) => f.size), [data.length], 'the partial data is kept');
  });
});
