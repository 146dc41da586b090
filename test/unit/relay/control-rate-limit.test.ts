// A control connection's request allowance, with an injected clock: a burst is served, then
// requests are refused, and a connection that goes on by as many again is to be closed; the
// allowance refills with time. Zero means no limit.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControlRateLimit } from '../../../src/relay/control-rate-limit.js';

function verdicts(limit: ControlRateLimit, n: number, now: number): string[] {
  return Array.from({ length: n }, () => limit.admit(now));
}

describe('ControlRateLimit', () => {
  it('serves a burst, refuses as many more, then says close', () => {
    const limit = new ControlRateLimit(1, 3, 0);
    assert.deepEqual(verdicts(limit, 8, 0), ['serve', 'serve', 'serve', 'refuse', 'refuse', 'refuse', 'close', 'close']);
  });

  it('refills at the rate: a client that slows down is served again', () => {
    const limit = new ControlRateLimit(2, 2, 0);
    assert.deepEqual(verdicts(limit, 3, 0), ['serve', 'serve', 'refuse']);
    // The refused request is owed too: 1.5 s at 2/s pays it and earns two more.
    assert.deepEqual(verdicts(limit, 3, 1_500), ['serve', 'serve', 'refuse']);
    assert.deepEqual(verdicts(limit, 1, 60_000), ['serve']);
  });

  it('a steady client within the rate is never refused', () => {
    const limit = new ControlRateLimit(5, 20, 0);
    for (let t = 0; t < 100_000; t += 200) assert.equal(limit.admit(t), 'serve', `at ${t} ms`);
  });

  it('0 per second is no limit', () => {
    const limit = new ControlRateLimit(0, 0, 0);
    assert.ok(verdicts(limit, 10_000, 0).every((v) => v === 'serve'));
  });

  it('says its limit in words', () => {
    assert.equal(new ControlRateLimit(5, 20, 0).describe(), 'more than 5 requests per second (burst 20)');
  });
});
