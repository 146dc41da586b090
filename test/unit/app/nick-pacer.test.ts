// Issue 12, item 1: our nickname changes go out at most once per interval, because receivers ignore
// faster ones. A change made too soon waits for its turn, a later one replaces it (the last one
// wins), and asking for the name we have drops a waiting change. On the manual clock.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NickPacer } from '../../../src/app/nick-pacer.js';
import { ManualClock } from '../../helpers/manual-clock.js';

function pacer(start = 'alice') {
  const clock = new ManualClock();
  let name = start;
  const applied: Array<{ name: string; at: number }> = [];
  const t0 = clock.now();
  const nicks = new NickPacer({
    clock,
    intervalMs: 2_000,
    current: () => name,
    apply: (next) => {
      name = next;
      applied.push({ name: next, at: clock.now() - t0 });
    },
  });
  return { clock, nicks, applied, name: () => name };
}

describe('NickPacer', () => {
  it('the first change goes out at once', () => {
    const { nicks, applied } = pacer();
    assert.equal(nicks.request('bobby'), 0);
    assert.deepEqual(applied, [{ name: 'bobby', at: 0 }]);
    assert.equal(nicks.pending, undefined);
  });

  it('a change within the interval waits for it, then goes out', () => {
    const { clock, nicks, applied } = pacer();
    nicks.request('bobby');
    clock.advance(500);
    assert.equal(nicks.request('b'), 1_500, 'ms until it goes out');
    assert.equal(nicks.pending, 'b');
    clock.advance(1_499);
    assert.deepEqual(applied.map((a) => a.name), ['bobby'], 'not yet');
    clock.advance(1);
    assert.deepEqual(applied, [{ name: 'bobby', at: 0 }, { name: 'b', at: 2_000 }]);
    assert.equal(nicks.pending, undefined);
  });

  it('the last of several waiting changes wins, and the next waits a full interval after it', () => {
    const { clock, nicks, applied } = pacer();
    nicks.request('one');
    assert.equal(nicks.request('two'), 2_000);
    clock.advance(1_000);
    assert.equal(nicks.request('three'), 1_000);
    clock.advance(1_000);
    assert.deepEqual(applied, [{ name: 'one', at: 0 }, { name: 'three', at: 2_000 }]);
    clock.advance(100);
    assert.equal(nicks.request('four'), 1_900);
    assert.equal(clock.pending, 1, 'one timer at a time');
  });

  it('changes spaced by the interval all go out at once', () => {
    const { clock, nicks, applied } = pacer();
    for (const name of ['a', 'b', 'c']) {
      assert.equal(nicks.request(name), 0);
      clock.advance(2_000);
    }
    assert.deepEqual(applied.map((a) => a.name), ['a', 'b', 'c']);
  });

  it('asking for the current name sends nothing and drops a waiting change', () => {
    const { clock, nicks, applied } = pacer();
    assert.equal(nicks.request('alice'), 0);
    assert.equal(applied.length, 0, 'no change, nothing sent, no interval used');
    nicks.request('bobby');
    assert.equal(nicks.request('b') > 0, true);
    assert.equal(nicks.request('bobby'), 0, 'back to the name we have');
    assert.equal(nicks.pending, undefined);
    clock.advance(5_000);
    assert.deepEqual(applied.map((a) => a.name), ['bobby']);
  });

  it('cancel() forgets a waiting change and its timer', () => {
    const { clock, nicks, applied } = pacer();
    nicks.request('bobby');
    nicks.request('b');
    nicks.cancel();
    assert.equal(clock.pending, 0);
    clock.advance(5_000);
    assert.deepEqual(applied.map((a) => a.name), ['bobby']);
  });
});
