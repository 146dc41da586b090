// The rendezvous' answer budget, with the time given: a burst per source address (an IPv6 source
// by its /64) and in all, refilled at the rate, the proven answers counted against their address
// only, and budgets that are full again forgotten.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerBudget, type AnswerLimits } from '../../../src/net/answer-budget.js';

const LIMITS: AnswerLimits = { perGroupPerSec: 10, perGroupBurst: 4, totalPerSec: 100, totalBurst: 6 };

/** How many of `count` answers to `host` at `now` the budget lets through. */
function admitted(budget: AnswerBudget, host: string, now: number, count: number): number {
  let yes = 0;
  for (let i = 0; i < count; i++) if (budget.admit(host, now)) yes++;
  return yes;
}

describe('AnswerBudget', () => {
  it("lets a source's burst through at once, then one answer per 1/rate s", () => {
    const budget = new AnswerBudget(LIMITS);
    assert.equal(admitted(budget, '192.0.2.1', 0, 10), 4);
    assert.equal(admitted(budget, '192.0.2.1', 99, 1), 0);
    assert.equal(admitted(budget, '192.0.2.1', 100, 2), 1);
    assert.equal(admitted(budget, '192.0.2.1', 10_000, 10), 4, 'never more than the burst after a quiet spell');
  });

  it('counts an IPv6 source by its /64, and every source against the total', () => {
    const budget = new AnswerBudget(LIMITS);
    assert.equal(admitted(budget, '2001:db8:1:2::1', 0, 2) + admitted(budget, '2001:db8:1:2:ffff::9', 0, 5), 4);
    assert.equal(admitted(budget, '192.0.2.1', 0, 5), 2, 'the total had two left');
    assert.equal(admitted(budget, '192.0.2.2', 0, 1), 0);
    assert.equal(admitted(budget, '192.0.2.2', 10, 1), 1, 'the total refills at its own rate');
  });

  it('lets a proven answer past an empty total, within its own budget, which it spends', () => {
    const budget = new AnswerBudget(LIMITS);
    for (let i = 0; i < 3; i++) admitted(budget, `192.0.2.${10 + i}`, 0, 2);
    assert.equal(admitted(budget, '192.0.2.1', 0, 1), 0, 'the total is spent');
    assert.equal([1, 2, 3, 4, 5].filter(() => budget.admitProven('192.0.2.1', 0)).length, 4);
    assert.equal(admitted(budget, '192.0.2.1', 50, 1), 0, "the address's own budget is spent too");
  });

  it('forgets the budgets of sources that are full again, so forged sources cannot grow it', () => {
    const budget = new AnswerBudget({ perGroupPerSec: 1, perGroupBurst: 1, totalPerSec: 1_000_000, totalBurst: 1_000_000 });
    for (let i = 0; i < 5_000; i++) budget.admit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, i);
    assert.ok(budget.held <= 2_048, `held ${budget.held}`);
  });

  it('keeps every answer of a burst at a rate that is no whole number of ms', () => {
    const budget = new AnswerBudget({ perGroupPerSec: 3, perGroupBurst: 30, totalPerSec: 7, totalBurst: 70 });
    assert.equal(admitted(budget, '192.0.2.1', 0, 40), 30);
  });

  it('rejects a rate or burst that is not positive', () => {
    assert.throws(() => new AnswerBudget({ ...LIMITS, totalPerSec: 0 }), RangeError);
    assert.throws(() => new AnswerBudget({ ...LIMITS, perGroupBurst: 0 }), RangeError);
  });
});
