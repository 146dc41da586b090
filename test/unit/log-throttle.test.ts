// One line per interval from a noisy source or key, the next saying how many were held back.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLogThrottle, LogThrottle } from '../../src/log-throttle.js';

describe('LogThrottle', () => {
  it('lets the first line through, holds the rest of the interval, and counts them', () => {
    const log = new LogThrottle(60_000);
    assert.equal(log.pass(0), 0);
    assert.equal(log.pass(1), undefined);
    assert.equal(log.pass(59_999), undefined);
    assert.equal(log.pass(60_000), 2);
    assert.equal(log.pass(60_001), undefined);
    assert.equal(log.pass(200_000), 1);
    assert.equal(log.pass(400_000), 0);
  });

  it('an interval of 0 lets every line through', () => {
    const log = new LogThrottle(0);
    assert.deepEqual([log.pass(5), log.pass(5), log.pass(5)], [0, 0, 0]);
  });
});

describe('KeyedLogThrottle', () => {
  it('throttles each key on its own', () => {
    const log = new KeyedLogThrottle<string>(60_000);
    assert.equal(log.pass('a', 0), 0);
    assert.equal(log.pass('b', 10), 0);
    assert.equal(log.pass('a', 20), undefined);
    assert.equal(log.pass('b', 30), undefined);
    assert.equal(log.pass('b', 40), undefined);
    assert.equal(log.pass('a', 60_000), 1);
    assert.equal(log.pass('b', 60_010), 2);
  });

  it('forgets keys whose interval is over, counting once what they held back', () => {
    const log = new KeyedLogThrottle<string>(60_000);
    log.pass('quiet', 0);
    log.pass('noisy', 1_000);
    log.pass('noisy', 2_000);
    log.pass('noisy', 3_000);
    log.pass('late', 30_000);
    assert.deepEqual(log.sweep(59_999), []);
    assert.equal(log.size, 3);
    assert.deepEqual(log.sweep(61_000), [{ key: 'noisy', held: 2 }]);
    // 'quiet' is forgotten; 'noisy' is kept for the interval its counting line opened.
    assert.equal(log.size, 2);
    assert.equal(log.pass('noisy', 62_000), undefined);
    assert.deepEqual(log.sweep(121_000), [{ key: 'noisy', held: 1 }]);
    assert.deepEqual(log.sweep(181_000), []);
    assert.equal(log.size, 0);
    assert.equal(log.pass('noisy', 181_000), 0);
  });

  it('holds only the keys heard from within the interval, however many came before', () => {
    const log = new KeyedLogThrottle<number>(1_000);
    for (let i = 0; i < 10_000; i++) {
      log.pass(i, i);
      log.sweep(i);
    }
    assert.equal(log.size, 1_000);
  });

  it('an interval of 0 lets every line through and remembers nothing after a sweep', () => {
    const log = new KeyedLogThrottle<string>(0);
    assert.deepEqual([log.pass('a', 5), log.pass('a', 5)], [0, 0]);
    assert.deepEqual(log.sweep(5), []);
    assert.equal(log.size, 0);
  });
});
