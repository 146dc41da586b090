// Keepalive driven by an explicit clock: pings fall due when nothing has arrived for the interval,
// the peer counts as lost only when a ping goes unanswered, anything received answers it, and what
// nextDueIn promises.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keepalive } from '../../../src/session/keepalive.js';

const OPTIONS = { intervalMs: 10_000, timeoutMs: 30_000 };
const T0 = 1_000_000;

describe('Keepalive', () => {
  it('asks for nothing before the interval has passed in silence', () => {
    const k = new Keepalive(OPTIONS, T0);
    for (const t of [T0, T0 + 1, T0 + 5_000, T0 + 9_999]) assert.equal(k.poll(t), 'none', `at +${t - T0}`);
  });

  it('asks for a ping once the interval has passed with nothing received', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
  });

  it('receiving postpones the ping: a peer that keeps talking is never pinged', () => {
    const k = new Keepalive(OPTIONS, T0);
    for (let t = T0 + 5_000; t <= T0 + 100_000; t += 5_000) {
      k.received(t);
      assert.equal(k.poll(t + 4_999), 'none', `at +${t - T0 + 4_999}`);
    }
  });

  it('pings once, then waits for the answer: the next ping comes an interval after the peer was last heard', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
    assert.equal(k.poll(T0 + 20_000), 'none', 'no second ping while the first is unanswered');
    k.received(T0 + 21_000); // the pong
    assert.equal(k.poll(T0 + 30_999), 'none');
    assert.equal(k.poll(T0 + 31_000), 'ping');
  });

  it('a peer that only answers pings is never lost', () => {
    const k = new Keepalive(OPTIONS, T0);
    for (let t = T0; t < T0 + 600_000; t += 1_000) {
      const action = k.poll(t);
      assert.notEqual(action, 'timeout', `at +${t - T0}`);
      if (action === 'ping') k.received(t + 50);
    }
  });

  it('times out when the ping goes unanswered: timeoutMs after the peer was last heard', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
    assert.equal(k.poll(T0 + 29_999), 'none');
    assert.equal(k.poll(T0 + 30_000), 'timeout');
    assert.equal(k.poll(T0 + 45_000), 'timeout', 'a timeout stays a timeout');
  });

  it('never times out without a ping first, however late it is polled', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 95_000), 'ping', 'a stalled timer pings first');
    assert.equal(k.poll(T0 + 114_999), 'none', 'the ping gets its full time to be answered');
    assert.equal(k.poll(T0 + 115_000), 'timeout');
  });

  it('anything received answers the ping, not only a pong', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
    k.received(T0 + 25_000);
    assert.equal(k.poll(T0 + 30_000), 'none');
    assert.equal(k.poll(T0 + 35_000), 'ping');
    assert.equal(k.poll(T0 + 54_999), 'none');
    assert.equal(k.poll(T0 + 55_000), 'timeout');
  });

  it('pings at half the timeout when the interval is not shorter, so the ping can be answered', () => {
    const k = new Keepalive({ intervalMs: 100, timeoutMs: 100 }, T0);
    assert.equal(k.poll(T0 + 49), 'none');
    assert.equal(k.poll(T0 + 50), 'ping');
    assert.equal(k.poll(T0 + 99), 'none');
    assert.equal(k.poll(T0 + 100), 'timeout');
  });
});

describe('Keepalive.nextDueIn', () => {
  it('is the interval right after creation', () => {
    assert.equal(new Keepalive(OPTIONS, T0).nextDueIn(T0), 10_000);
  });

  it('counts down to the next ping, and starts again when something arrives', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.nextDueIn(T0 + 3_000), 7_000);
    assert.equal(k.nextDueIn(T0 + 9_999), 1);
    k.received(T0 + 9_999);
    assert.equal(k.nextDueIn(T0 + 9_999), 10_000);
  });

  it('is 0, never negative, once something is overdue', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.nextDueIn(T0 + 10_000), 0);
    assert.equal(k.nextDueIn(T0 + 99_000), 0);
  });

  it('after a ping, counts down to the end of its wait for an answer', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
    assert.equal(k.nextDueIn(T0 + 10_000), 20_000);
    assert.equal(k.poll(T0 + 25_000), 'none');
    assert.equal(k.nextDueIn(T0 + 25_000), 5_000);
    k.received(T0 + 26_000);
    assert.equal(k.nextDueIn(T0 + 26_000), 10_000);
  });

  it('does not change state: polling at nextDueIn gives the due action', () => {
    const k = new Keepalive(OPTIONS, T0);
    const due = k.nextDueIn(T0);
    assert.equal(k.nextDueIn(T0), due);
    assert.equal(k.poll(T0 + due - 1), 'none');
    assert.equal(k.poll(T0 + due), 'ping');
  });
});
