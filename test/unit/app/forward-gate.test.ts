// The host's forwarding shares on a manual clock: a sender past its rate and burst is not read
// until it has paid; a recipient past the hold mark holds up its senders until it drains, and is
// given up (releasing them) if it stays stalled; a peer that leaves releases what it held.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ForwardGate, type ForwardGateOptions } from '../../../src/app/forward-gate.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/** A peer as the gate sees it: a queue the test sets, and the holds on its reading. */
class FakePeer extends EventEmitter<{ drain: [] }> {
  queuedBytes = 0;
  readonly holds = new Set<object>();

  constructor(readonly name: string) {
    super();
  }

  holdReading(holder: object): void {
    this.holds.add(holder);
  }

  releaseReading(holder: object): void {
    this.holds.delete(holder);
  }

  get reading(): boolean {
    return this.holds.size === 0;
  }

  drain(): void {
    this.queuedBytes = 0;
    this.emit('drain');
  }
}

const KIB = 1024;

function gate(clock: ManualClock, options: Partial<ForwardGateOptions<FakePeer>> = {}) {
  const stalled: string[] = [];
  const forwardGate = new ForwardGate<FakePeer>({
    rateBytesPerSec: 100 * KIB,
    burstBytes: 100 * KIB,
    holdAtBytes: 64 * KIB,
    stalledMs: 30_000,
    maxHoldMs: 5_000,
    clock,
    onStalled: (recipient, queued) => stalled.push(`${recipient.name}:${queued}`),
    ...options,
  });
  return { forwardGate, stalled };
}

describe('ForwardGate', () => {
  it('lets a burst through, then stops reading the sender for exactly as long as its debt', () => {
    const clock = new ManualClock(0);
    const { forwardGate } = gate(clock);
    const [flooder, other] = [new FakePeer('flooder'), new FakePeer('other')];
    forwardGate.forwarded(flooder, 100 * KIB, [other]);
    assert.equal(flooder.reading, true, 'the burst passes');
    forwardGate.forwarded(flooder, 50 * KIB, [other]); // 50 KiB in debt at 100 KiB/s: 500 ms
    assert.equal(flooder.reading, false);
    clock.advance(499);
    assert.equal(flooder.reading, false);
    clock.advance(1);
    assert.equal(flooder.reading, true);
    assert.equal(clock.pending, 0);
  });

  it('a message forwarded while in debt extends the wait by its own cost', () => {
    const clock = new ManualClock(0);
    const { forwardGate } = gate(clock, { burstBytes: 10 * KIB });
    const [sender, other] = [new FakePeer('sender'), new FakePeer('other')];
    forwardGate.forwarded(sender, 20 * KIB, [other]); // 10 KiB in debt: 100 ms
    forwardGate.forwarded(sender, 10 * KIB, [other]); // 20 KiB in debt: 200 ms from now
    clock.advance(199);
    assert.equal(sender.reading, false);
    clock.advance(1);
    assert.equal(sender.reading, true);
  });

  it('holds up every sender forwarded to a backlogged recipient until it drains', () => {
    const clock = new ManualClock(0);
    const { forwardGate, stalled } = gate(clock);
    const [a, b, slow, quick] = ['a', 'b', 'slow', 'quick'].map((n) => new FakePeer(n)) as [FakePeer, FakePeer, FakePeer, FakePeer];
    slow.queuedBytes = 64 * KIB;
    forwardGate.forwarded(a, KIB, [slow, quick]);
    forwardGate.forwarded(b, KIB, [slow, quick]);
    assert.deepEqual([a.reading, b.reading], [false, false]);
    assert.equal(forwardGate.stalled, 1);
    clock.advance(4_000);
    slow.drain();
    assert.deepEqual([a.reading, b.reading], [true, true]);
    assert.equal(forwardGate.stalled, 0);
    clock.advance(60_000);
    assert.deepEqual(stalled, [], 'a recipient that drained in time is not given up');
    assert.equal(slow.listenerCount('drain'), 0);
  });

  it('gives up a recipient that stays stalled, and releases the senders it held', () => {
    const clock = new ManualClock(0);
    const { forwardGate, stalled } = gate(clock, { maxHoldMs: 60_000 });
    const [sender, stuck] = [new FakePeer('sender'), new FakePeer('stuck')];
    stuck.queuedBytes = 200 * KIB;
    forwardGate.forwarded(sender, KIB, [stuck]);
    clock.advance(29_999);
    assert.deepEqual(stalled, []);
    assert.equal(sender.reading, false);
    clock.advance(1);
    assert.deepEqual(stalled, [`stuck:${200 * KIB}`]);
    assert.equal(sender.reading, true);
  });

  it('charges nothing for a message passed on to nobody (a peer talking only to the host)', () => {
    const clock = new ManualClock(0);
    const { forwardGate } = gate(clock);
    const sender = new FakePeer('sender');
    for (let i = 0; i < 100; i++) forwardGate.forwarded(sender, 100 * KIB, []);
    assert.equal(sender.reading, true);
    assert.equal(clock.pending, 0);
  });

  it('keeps a recipient on a slow link that takes some of its queue in each period', () => {
    const clock = new ManualClock(0);
    const { forwardGate, stalled } = gate(clock, { maxHoldMs: 600_000 });
    const [sender, slowLink] = [new FakePeer('sender'), new FakePeer('slow link')];
    slowLink.queuedBytes = 400 * KIB;
    forwardGate.forwarded(sender, KIB, [slowLink]);
    for (let period = 0; period < 3; period++) {
      slowLink.queuedBytes -= 100 * KIB; // reading, slowly: never drained in one period
      clock.advance(30_000);
    }
    assert.deepEqual(stalled, [], 'progress each period keeps it');
    assert.equal(sender.reading, false, 'the sender still waits for it to catch up');
    clock.advance(30_000); // a period with no progress
    assert.deepEqual(stalled, [`slow link:${100 * KIB}`]);
    assert.equal(sender.reading, true);
  });

  it('reads a held sender again after maxHoldMs, and holds it anew at its next forward', () => {
    const clock = new ManualClock(0);
    const { forwardGate, stalled } = gate(clock);
    const [sender, behind] = [new FakePeer('sender'), new FakePeer('behind')];
    behind.queuedBytes = 100 * KIB;
    forwardGate.forwarded(sender, KIB, [behind]);
    clock.advance(4_999);
    assert.equal(sender.reading, false);
    clock.advance(1);
    assert.equal(sender.reading, true, 'read again: its keepalive is answered');
    forwardGate.forwarded(sender, KIB, [behind]);
    assert.equal(sender.reading, false, 'the recipient is still behind');
    assert.deepEqual(stalled, []);
  });

  it('a recipient below the hold mark holds nobody up', () => {
    const clock = new ManualClock(0);
    const { forwardGate } = gate(clock);
    const [sender, fine] = [new FakePeer('sender'), new FakePeer('fine')];
    fine.queuedBytes = 64 * KIB - 1;
    forwardGate.forwarded(sender, KIB, [fine]);
    assert.equal(sender.reading, true);
    assert.equal(forwardGate.stalled, 0);
  });

  it('a peer that leaves releases the senders it held up, and its own debt timer', () => {
    const clock = new ManualClock(0);
    const { forwardGate, stalled } = gate(clock, { burstBytes: KIB });
    const [sender, leaver] = [new FakePeer('sender'), new FakePeer('leaver')];
    leaver.queuedBytes = 100 * KIB;
    forwardGate.forwarded(sender, KIB, [leaver]);
    forwardGate.forwarded(leaver, 10 * KIB, [sender]); // the leaver is in debt too
    forwardGate.left(leaver);
    assert.equal(sender.reading, true);
    assert.equal(clock.pending, 0, 'no stall deadline or debt timer is left behind');
    clock.advance(60_000);
    assert.deepEqual(stalled, []);
  });
});
