// An offer sent with Transfers.send expires on the clock: unanswered, it fails with
// ERR_FILE_DECLINED at exactly offerTimeoutMs (and the peer is told); answered, its timer is gone
// and the transfer runs on however long the clock goes. A fake link records what is sent.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Transfers, type TransferEvent } from '../../../../src/app/files/transfers.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { recordingLink } from '../../../helpers/recording-link.js';

const OFFER_TIMEOUT_MS = 30_000;

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A real 10-byte file to offer (an accepted offer reads it). */
async function localFile() {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-offer-'));
  dirs.push(dir);
  const absolutePath = join(dir, 'a.bin');
  await writeFile(absolutePath, '0123456789');
  return { path: 'a.bin', size: 10, absolutePath };
}

/** A 10-byte file offered to bob on `clock`, with the sender's events. */
async function offered(clock: ManualClock) {
  const transfers = new Transfers({ downloadDir: tmpdir(), acceptFiles: 'ask', offerTimeoutMs: OFFER_TIMEOUT_MS, progressIntervalMs: 0, clock });
  const events: TransferEvent[] = [];
  transfers.on('event', (event) => events.push(event));
  const link = recordingLink();
  const transfer = transfers.send(link, [await localFile()]);
  assert.equal(clock.pending, 1, 'the offer waits on the clock');
  return { transfers, link, transfer, failures: () => events.filter((e) => e.type === 'failed') };
}

describe('offer expiry on a manual clock', () => {
  it('fails an unanswered offer with ERR_FILE_DECLINED at exactly offerTimeoutMs, and tells the peer', async () => {
    const clock = new ManualClock();
    const { transfers, link, transfer, failures } = await offered(clock);

    clock.advance(OFFER_TIMEOUT_MS - 1);
    assert.deepEqual(failures(), []);
    assert.equal(transfer.state, 'offered', 'still offered a millisecond before the timeout');

    clock.advance(1);
    const [failed] = failures();
    assert.ok(failed?.type === 'failed');
    assert.equal(failed.error.code, 'ERR_FILE_DECLINED');
    assert.equal(failed.error.message, 'a.bin: bob did not answer the offer in time');
    assert.equal(failed.byPeer, false);
    assert.deepEqual(link.sent.at(-1), { type: 'file-cancel', id: transfer.id, reason: 'offer expired', code: 'ERR_FILE_DECLINED' });
    assert.deepEqual(transfers.list(), []);
    assert.equal(clock.pending, 0);
  });

  it('clears the timer of an accepted offer: the transfer runs on past the timeout', async () => {
    const clock = new ManualClock();
    const { transfers, link, transfer, failures } = await offered(clock);
    transfers.handle(link, { type: 'file-accept', id: transfer.id, resume: [] });
    assert.equal(clock.pending, 0, 'the answer cleared the offer timer');

    clock.advance(10 * OFFER_TIMEOUT_MS);
    // The file is read from disk meanwhile and sent whole; then the sender waits for bob's check.
    for (let i = 0; i < 10_000 && !link.sent.some((m) => m.type === 'file-end'); i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(link.sent.some((m) => m.type === 'file-end'), 'the file was sent');
    assert.deepEqual(failures(), []);
    assert.equal(transfer.state, 'active');
    transfer.cancel();
  });

  it('clears the timer of a declined offer', async () => {
    const clock = new ManualClock();
    const { transfers, link, transfer, failures } = await offered(clock);
    transfers.handle(link, { type: 'file-decline', id: transfer.id, reason: 'no thanks' });
    assert.equal(clock.pending, 0);
    assert.deepEqual(failures().map((f) => f.type === 'failed' && f.error.message), ['bob declined a.bin: no thanks']);
  });
});
