// How a receiver collects a paged file offer from a peer, and where it stops: the file cap holds
// on the last page too, at most MAX_PENDING_OFFERS_PER_PEER offers are paged at once, and an offer
// of nothing is declined for what it is.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PENDING_OFFERS_PER_PEER, Transfers } from '../../../../src/app/files/transfers.js';
import { MAX_OFFER_FILES, type FileMessage } from '../../../../src/session/file-messages.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { recordingLink } from '../../../helpers/recording-link.js';

function receiver() {
  const transfers = new Transfers({ downloadDir: '/nonexistent', acceptFiles: 'ask', offerTimeoutMs: 60_000, progressIntervalMs: 0, clock: new ManualClock() });
  const link = recordingLink();
  const offered: string[] = [];
  transfers.on('event', (e) => e.type === 'offer' && offered.push(e.transfer.id));
  const page = (id: string, count: number, more: boolean, from = 0) =>
    transfers.handle(link, {
      type: 'file-offer',
      id,
      more,
      files: Array.from({ length: count }, (_, i) => ({ path: `d/f${from + i}`, size: 1 })),
    });
  const declined = () => link.sent.flatMap((m: FileMessage) => (m.type === 'file-decline' ? [`${m.id}: ${m.reason}`] : []));
  return { page, declined, offered };
}

const id = (n: number) => n.toString(16).padStart(16, '0');

describe('paged file offers', () => {
  it('holds the file cap on the last page as on the others', () => {
    const { page, declined, offered } = receiver();
    const half = MAX_OFFER_FILES / 2 + 1;
    page(id(1), half, true);
    page(id(1), half, false, half);
    assert.deepEqual(declined(), [`${id(1)}: offer too large (more than ${MAX_OFFER_FILES} files)`]);
    assert.deepEqual(offered, []);
  });

  it(`collects at most ${MAX_PENDING_OFFERS_PER_PEER} paged offers at once`, () => {
    const { page, declined } = receiver();
    for (let n = 1; n <= MAX_PENDING_OFFERS_PER_PEER + 1; n++) page(id(n), 1, true);
    assert.deepEqual(declined(), [`${id(MAX_PENDING_OFFERS_PER_PEER + 1)}: too many offers being sent at once`]);
    page(id(1), 1, false, 1); // a collected one may still finish
    assert.equal(declined().length, 1);
  });

  it('declines an offer of no files as such', () => {
    const { page, declined } = receiver();
    page(id(7), 0, false);
    assert.deepEqual(declined(), [`${id(7)}: the offer lists no files`]);
  });
});
