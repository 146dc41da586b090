// One line per interval from a noisy source, the next one saying how many were held back.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogThrottle } from '../../../src/relay/log-throttle.js';

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
