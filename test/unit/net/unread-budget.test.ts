// UnreadBudget: what all udx streams hold unread together; past the budget the largest holder is
// cut off, whichever holder's bytes tipped it over, and the total follows what is read and dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnreadBudget, type BudgetHolder } from '../../../src/net/unread-budget.js';

class Holder implements BudgetHolder {
  cut: [number, number] | undefined;
  constructor(readonly name: string) {}
  cutOff(total: number, budget: number): void {
    this.cut = [total, budget];
  }
}

describe('UnreadBudget', () => {
  it('counts what holders add, read and drop', () => {
    const budget = new UnreadBudget(100);
    const a = new Holder('a');
    const b = new Holder('b');
    budget.add(a, 30);
    budget.add(b, 20);
    budget.add(a, 10);
    assert.equal(budget.total, 60);
    budget.release(a, 25);
    assert.equal(budget.total, 35);
    budget.release(a, 100); // more than it held: it holds nothing, not less
    assert.equal(budget.total, 20);
    budget.forget(b);
    assert.equal(budget.total, 0);
    budget.release(b, 5);
    assert.equal(budget.total, 0);
    assert.equal(a.cut ?? b.cut, undefined, 'nobody was over');
  });

  it('cuts off the largest holder, not the one whose bytes tipped it over', () => {
    const budget = new UnreadBudget(100);
    const flood = new Holder('flood');
    const honest = new Holder('honest');
    budget.add(flood, 90);
    budget.add(honest, 11);
    assert.deepEqual(flood.cut, [101, 100], 'told the total and the budget');
    assert.equal(honest.cut, undefined);
    assert.equal(budget.total, 11, 'what the cut holder held is gone');
    budget.add(honest, 80);
    assert.equal(honest.cut, undefined, 'within the budget again');
  });

  it('cuts off the one adding when it is the largest', () => {
    const budget = new UnreadBudget(10);
    const a = new Holder('a');
    budget.add(a, 11);
    assert.deepEqual(a.cut, [11, 10]);
    assert.equal(budget.total, 0);
  });

  it('is exactly at its budget without cutting anyone', () => {
    const budget = new UnreadBudget(10);
    const a = new Holder('a');
    budget.add(a, 10);
    assert.equal(a.cut, undefined);
  });
});
