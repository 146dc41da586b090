// Keepalive driven by an explicit clock: when pings fall due, when the peer counts as lost, how
// traffic in either direction moves those deadlines, and what nextDueIn promises.

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

  it('asks for a ping once the interval has passed without sending', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
  });

  it('counts the ping it asked for as sent: the next one is an interval later', () => {
    const k = new Keepalive(OPTIONS, T0);
    k.received(T0 + 12_000); // the peer keeps talking, so no timeout interferes
    assert.equal(k.poll(T0 + 12_000), 'ping');
    assert.equal(k.poll(T0 + 12_001), 'none');
    assert.equal(k.poll(T0 + 21_999), 'none');
    k.received(T0 + 22_000);
    assert.equal(k.poll(T0 + 22_000), 'ping');
  });

  it('postpones the ping when we sent something ourselves', () => {
    const k = new Keepalive(OPTIONS, T0);
    k.sent(T0 + 8_000);
    assert.equal(k.poll(T0 + 10_000), 'none');
    assert.equal(k.poll(T0 + 17_999), 'none');
    assert.equal(k.poll(T0 + 18_000), 'ping');
  });

  it('receiving does not postpone our ping (NAT mappings need outgoing traffic)', () => {
    const k = new Keepalive(OPTIONS, T0);
    k.received(T0 + 9_000);
    assert.equal(k.poll(T0 + 10_000), 'ping');
  });

  it('times out after timeoutMs without receiving anything, even while pinging', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
    assert.equal(k.poll(T0 + 20_000), 'ping');
    assert.equal(k.poll(T0 + 29_999), 'none');
    assert.equal(k.poll(T0 + 30_000), 'timeout');
    assert.equal(k.poll(T0 + 45_000), 'timeout', 'a timeout stays a timeout');
  });

  it('sending does not postpone the timeout', () => {
    const k = new Keepalive(OPTIONS, T0);
    k.sent(T0 + 29_000);
    assert.equal(k.poll(T0 + 30_000), 'timeout');
  });

  it('timeout wins over a due ping', () => {
    const k = new Keepalive({ intervalMs: 100, timeoutMs: 100 }, T0);
    assert.equal(k.poll(T0 + 100), 'timeout');
  });

  it('received() resets the timeout', () => {
    const k = new Keepalive(OPTIONS, T0);
    k.received(T0 + 25_000);
    k.sent(T0 + 50_000);
    assert.equal(k.poll(T0 + 30_000), 'none');
    assert.equal(k.poll(T0 + 54_999), 'none');
    assert.equal(k.poll(T0 + 55_000), 'timeout');
  });

  it('a long silence after traffic times out from the last receipt', () => {
    const k = new Keepalive(OPTIONS, T0);
    k.received(T0 + 1_000);
    assert.equal(k.poll(T0 + 31_000), 'timeout');
  });
});

describe('Keepalive.nextDueIn', () => {
  it('is the interval right after creation', () => {
    assert.equal(new Keepalive(OPTIONS, T0).nextDueIn(T0), 10_000);
  });

  it('counts down to the next ping', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.nextDueIn(T0 + 3_000), 7_000);
    assert.equal(k.nextDueIn(T0 + 9_999), 1);
  });

  it('is 0, never negative, once something is overdue', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.nextDueIn(T0 + 10_000), 0);
    assert.equal(k.nextDueIn(T0 + 99_000), 0);
  });

  it('after a ping, is the nearer of the next ping and the timeout', () => {
    const k = new Keepalive(OPTIONS, T0);
    assert.equal(k.poll(T0 + 10_000), 'ping');
    assert.equal(k.nextDueIn(T0 + 10_000), 10_000);
    assert.equal(k.poll(T0 + 20_000), 'ping');
    assert.equal(k.nextDueIn(T0 + 20_000), 10_000);
    assert.equal(k.poll(T0 + 25_000), 'none');
    // Next ping at +30000, timeout also at +30000.
    assert.equal(k.nextDueIn(T0 + 25_000), 5_000);
  });

  it('follows the timeout when it comes first', () => {
    const k = new Keepalive({ intervalMs: 10_000, timeoutMs: 15_000 }, T0);
    k.sent(T0 + 9_000); // next ping at +19000, timeout at +15000
    assert.equal(k.nextDueIn(T0 + 9_000), 6_000);
    k.received(T0 + 12_000); // timeout moves to +27000, ping stays at +19000
    assert.equal(k.nextDueIn(T0 + 12_000), 7_000);
  });

  it('does not change state: polling at nextDueIn gives the due action', () => {
    const k = new Keepalive(OPTIONS, T0);
    const due = k.nextDueIn(T0);
    assert.equal(k.nextDueIn(T0), due);
    assert.equal(k.poll(T0 + due - 1), 'none');
    assert.equal(k.poll(T0 + due), 'ping');
  });
});
