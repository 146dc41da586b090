// The manual clock every timer test relies on: timers run in due order as time is advanced,
// including those scheduled by other timers, intervals repeat, and cleared timers never run.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { delay, SYSTEM_CLOCK } from '../../src/clock.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('ManualClock', () => {
  it('runs timers in due order, at their due time, only when advanced that far', () => {
    const clock = new ManualClock(1_000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => ran.push(`a@${clock.now()}`), 10);
    clock.advance(9);
    assert.deepEqual(ran, []);
    clock.advance(1);
    assert.deepEqual(ran, ['a@1010']);
    clock.advance(100);
    assert.deepEqual(ran, ['a@1010', 'b@1020']);
    assert.equal(clock.now(), 1_110);
  });

  it('runs a timer scheduled by another within the same advance, and never a cleared one', () => {
    const clock = new ManualClock(0);
    const ran: number[] = [];
    const cleared = clock.setTimeout(() => ran.push(-1), 15);
    clock.setTimeout(() => {
      ran.push(clock.now());
      clock.setTimeout(() => ran.push(clock.now()), 5);
    }, 10);
    clock.clearTimeout(cleared);
    clock.advance(30);
    assert.deepEqual(ran, [10, 15]);
    assert.equal(clock.pending, 0);
  });

  it('repeats an interval until it is cleared', () => {
    const clock = new ManualClock(0);
    let count = 0;
    const timer = clock.setInterval(() => count++, 100);
    clock.advance(350);
    assert.equal(count, 3);
    assert.equal(clock.nextDueIn(), 50);
    clock.clearInterval(timer);
    clock.advance(1_000);
    assert.equal(count, 3);
  });

  it('delay() resolves once the clock has passed it', async () => {
    const clock = new ManualClock(0);
    let done = false;
    void delay(clock, 50).then(() => (done = true));
    clock.advance(49);
    await Promise.resolve();
    assert.equal(done, false);
    clock.advance(1);
    await Promise.resolve();
    assert.equal(done, true);
  });
});

describe('SYSTEM_CLOCK', () => {
  it('reads the real time and runs a real timer', async () => {
    const before = Date.now();
    assert.ok(Math.abs(SYSTEM_CLOCK.now() - before) < 1_000);
    await new Promise<void>((resolve) => SYSTEM_CLOCK.setTimeout(resolve, 5));
    // Node times its timers on the event loop's own millisecond clock, not Date.now's: read by
    // Date.now, a 5 ms timer now and then fires after 4 ms (about 1 run in 20).
    const waited = SYSTEM_CLOCK.now() - before;
    assert.ok(waited >= 4, `a 5 ms timer fired after ${waited} ms`);
  });
});
