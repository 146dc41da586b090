// The per-direction rate limiter: a burst passes, then the debt says how long to wait, and the
// bucket refills with time (an injected clock).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../../src/session/token-bucket.js';

describe('TokenBucket', () => {
  it('lets one second worth through at once, then asks to wait for the debt', () => {
    const bucket = new TokenBucket(1_000, 0);
    assert.equal(bucket.take(1_000, 0), 0);
    assert.equal(bucket.take(500, 0), 500);
    assert.equal(bucket.available(0), -500);
  });

  it('refills with time, never beyond its burst', () => {
    const bucket = new TokenBucket(1_000, 0);
    bucket.take(1_000, 0);
    assert.equal(bucket.available(250), 250);
    assert.equal(bucket.available(60_000), 1_000);
  });

  it('takes a chunk larger than the burst and makes the sender wait it off', () => {
    const bucket = new TokenBucket(100, 0, 10);
    assert.equal(bucket.take(60, 0), 500);
    assert.equal(bucket.take(1, 500), 10);
  });

  it('rejects a rate that is not positive', () => {
    assert.throws(() => new TokenBucket(0, 0), RangeError);
  });
});
