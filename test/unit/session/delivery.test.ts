// Delivery, the bookkeeping of acknowledged delivery: what one side sent and the other has not
// acknowledged, and how many of the other's messages arrived. Acks are cumulative and each chat id
// is reported delivered once; a count the peer cannot have is ERR_BAD_MESSAGE; a resumed
// conversation sends again exactly what the peer lacks, in order.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import { Delivery } from '../../../src/session/delivery.js';

const ROOMY = { maxUnackedMessages: 1_000, maxUnackedBytes: 1 << 22 };

const bytes = (text: string) => Buffer.from(text, 'utf8');

function throwsBadMessage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => P2PChatError.is(err, 'ERR_BAD_MESSAGE') && pattern.test(err.message));
}

/** A Delivery that has sent `texts` (a text starting with `#` carries no id, like a nick or a forwarded message). */
function sentAll(texts: readonly string[], limits = ROOMY): Delivery {
  const delivery = new Delivery(limits);
  for (const text of texts) delivery.sent(bytes(text), text.startsWith('#') ? undefined : text);
  return delivery;
}

describe('Delivery: what is sent and not yet acknowledged', () => {
  it('numbers what is sent in order and keeps it until acknowledged', () => {
    const delivery = sentAll(['m1', 'm2', 'm3']);
    assert.equal(delivery.unacked, 3);
    assert.equal(delivery.unackedBytes, 6);
    assert.deepEqual(delivery.acknowledged(1), ['m1']);
    assert.equal(delivery.unacked, 2);
    assert.equal(delivery.unackedBytes, 4);
    // Message numbers go on from where they were: the next one sent is number 4.
    delivery.sent(bytes('m4'), 'm4');
    assert.deepEqual(delivery.acknowledged(4), ['m2', 'm3', 'm4']);
    assert.equal(delivery.unacked, 0);
    assert.equal(delivery.unackedBytes, 0);
  });

  it('acks are cumulative: each id is returned once, a repeated or stale ack says nothing new', () => {
    const delivery = sentAll(['m1', '#nick', 'm3', 'm4']);
    assert.deepEqual(delivery.acknowledged(2), ['m1'], 'the nick change counts but has no id');
    assert.deepEqual(delivery.acknowledged(2), [], 'the same ack again');
    assert.deepEqual(delivery.acknowledged(1), [], 'an older ack arriving late');
    assert.deepEqual(delivery.acknowledged(0), []);
    assert.equal(delivery.unacked, 2, 'a stale ack takes nothing off');
    assert.deepEqual(delivery.acknowledged(4), ['m3', 'm4']);
    assert.deepEqual(delivery.acknowledged(4), []);
  });

  it('an ack for more than was sent is ERR_BAD_MESSAGE and changes nothing', () => {
    const delivery = sentAll(['m1', 'm2']);
    throwsBadMessage(() => delivery.acknowledged(3), /^peer acknowledged 3 messages; 2 were sent$/);
    assert.equal(delivery.unacked, 2);
    assert.deepEqual(delivery.acknowledged(1), ['m1']);
    throwsBadMessage(() => delivery.acknowledged(3), /acknowledged 3 messages; 2 were sent/);
    assert.deepEqual(new Delivery(ROOMY).acknowledged(0), [], 'nothing sent, nothing acknowledged: fine');
    throwsBadMessage(() => new Delivery(ROOMY).acknowledged(1), /1 messages; 0 were sent/);
  });

  it('unackedChats counts only the messages with an id', () => {
    const delivery = sentAll(['#presence', 'm1', '#forwarded', 'm2', '#nick']);
    assert.equal(delivery.unacked, 5);
    assert.equal(delivery.unackedChats, 2);
    delivery.acknowledged(1);
    assert.equal(delivery.unackedChats, 2, 'the presence message was acknowledged, not a chat');
    delivery.acknowledged(2);
    assert.equal(delivery.unackedChats, 1);
    delivery.acknowledged(5);
    assert.equal(delivery.unackedChats, 0);
  });

  it('is full at the message limit until an ack makes room', () => {
    const delivery = new Delivery({ maxUnackedMessages: 3, maxUnackedBytes: 1 << 20 });
    for (const text of ['a', 'b']) delivery.sent(bytes(text), text);
    assert.equal(delivery.full, false, 'two of three');
    delivery.sent(bytes('c'), 'c');
    assert.equal(delivery.full, true, 'three of three');
    delivery.acknowledged(1);
    assert.equal(delivery.full, false);
  });

  it('is full at the byte limit until an ack makes room', () => {
    const delivery = new Delivery({ maxUnackedMessages: 1_000, maxUnackedBytes: 10 });
    delivery.sent(Buffer.alloc(6), 'a');
    assert.equal(delivery.full, false, '6 of 10 bytes');
    delivery.sent(Buffer.alloc(3), 'b');
    assert.equal(delivery.full, false, '9 of 10 bytes');
    delivery.sent(Buffer.alloc(1), 'c');
    assert.equal(delivery.full, true, '10 of 10 bytes');
    delivery.acknowledged(1);
    assert.equal(delivery.full, false, '4 of 10 bytes');
  });

  it("counts the peer's messages that arrived, for its ack and its resumption", () => {
    const delivery = new Delivery(ROOMY);
    assert.equal(delivery.received, 0);
    delivery.receivedOne();
    delivery.receivedOne();
    assert.equal(delivery.received, 2);
    assert.equal(delivery.unacked, 0, 'what arrives is not what we keep');
  });
});

describe('Delivery.resume: a conversation goes on over a new connection', () => {
  it('acknowledges what the peer says it has and returns the rest, in order', () => {
    const delivery = sentAll(['m1', 'm2', '#nick', 'm4', 'm5']);
    delivery.acknowledged(1);
    const { delivered, resend } = delivery.resume(3);
    assert.deepEqual(delivered, ['m2']);
    assert.deepEqual(resend.map(String), ['m4', 'm5']);
    assert.equal(delivery.unacked, 2, 'what is sent again stays kept until acknowledged');
    assert.deepEqual(delivery.acknowledged(5), ['m4', 'm5']);
  });

  it('sends everything again to a peer that had none, and nothing to one that had all', () => {
    const none = sentAll(['m1', 'm2']);
    assert.deepEqual(none.resume(0), { delivered: [], resend: [bytes('m1'), bytes('m2')] });
    const all = sentAll(['m1', 'm2']);
    assert.deepEqual(all.resume(2), { delivered: ['m1', 'm2'], resend: [] });
    assert.deepEqual(all.resume(2), { delivered: [], resend: [] }, 'resumed twice: the same count again');
  });

  it('a peer resuming with fewer than it acknowledged, or more than was sent, is ERR_BAD_MESSAGE', () => {
    const delivery = sentAll(['m1', 'm2', 'm3']);
    delivery.acknowledged(2);
    throwsBadMessage(() => delivery.resume(1), /^peer resumed with 1 of our messages; it had acknowledged 2$/);
    throwsBadMessage(() => delivery.resume(4), /resumed with 4 of our messages; 3 were sent/);
    assert.equal(delivery.unacked, 1, 'a refused resumption changes nothing');
    assert.deepEqual(delivery.resume(2).resend.map(String), ['m3']);
  });
});
