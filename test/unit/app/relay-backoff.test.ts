// When a peer retries its relay: a random wait in the upper half of a window that starts at the
// initial backoff and doubles up to the maximum; a success starts over. Injected randomness.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RelayBackoff } from '../../../src/app/relay-backoff.js';
import { DEFAULTS } from '../../../src/defaults.js';

function waits(random: number, n: number, initial = DEFAULTS.relayBackoffInitialMs, max = DEFAULTS.relayBackoffMaxMs): number[] {
  const backoff = new RelayBackoff(initial, max, () => random);
  return Array.from({ length: n }, () => backoff.next());
}

describe('RelayBackoff', () => {
  it('with the defaults, the first retry comes after 0.25 to 0.5 s', () => {
    assert.equal(waits(0, 1)[0], 250);
    assert.equal(waits(0.999_999, 1)[0], 500);
  });

  it('doubles the window with each try, up to the maximum, never below half of it', () => {
    assert.deepEqual(waits(0, 9), [250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
    assert.deepEqual(waits(1, 9), [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('starts over after a success', () => {
    const backoff = new RelayBackoff(100, 1_000, () => 1);
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [100, 200, 400]);
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });
});
