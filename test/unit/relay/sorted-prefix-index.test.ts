// The sorted index behind the relay's prefix lookups: finds exactly the items with a prefix, in
// order, at most `limit`, wherever they sit (first, last, between others); keeps no duplicates.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SortedPrefixIndex } from '../../../src/relay/sorted-prefix-index.js';

describe('SortedPrefixIndex', () => {
  it('lists the items with a prefix, in order, up to the limit', () => {
    const index = new SortedPrefixIndex();
    for (const item of ['MNOP', 'ABCD', 'ABCE', 'ZZZZ', 'ABCA', 'ABDA', 'AAAA']) index.add(item);
    assert.deepEqual(index.withPrefix('ABC', 10), ['ABCA', 'ABCD', 'ABCE']);
    assert.deepEqual(index.withPrefix('ABC', 2), ['ABCA', 'ABCD']);
    assert.deepEqual(index.withPrefix('AAAA', 10), ['AAAA'], 'the first item');
    assert.deepEqual(index.withPrefix('ZZ', 10), ['ZZZZ'], 'the last item');
    assert.deepEqual(index.withPrefix('ABCB', 10), [], 'between two items');
    assert.deepEqual(index.withPrefix('ZZZZZ', 10), []);
    assert.deepEqual(index.withPrefix('', 3), ['AAAA', 'ABCA', 'ABCD']);
  });

  it('adds an item once and deletes only what it holds', () => {
    const index = new SortedPrefixIndex();
    index.add('ABCD');
    index.add('ABCD');
    assert.equal(index.size, 1);
    index.delete('ABCE');
    assert.equal(index.size, 1);
    index.delete('ABCD');
    assert.equal(index.size, 0);
    assert.deepEqual(index.withPrefix('A', 10), []);
  });

  it('agrees with a plain filter over many random items', () => {
    const index = new SortedPrefixIndex();
    const items = new Set<string>();
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 2_000; i++) {
      const item = Array.from({ length: 6 }, () => 'ABCD'[next() % 4]).join('');
      items.add(item);
      index.add(item);
      if (i % 3 === 0) {
        const gone = [...items][next() % items.size]!;
        items.delete(gone);
        index.delete(gone);
      }
    }
    const sorted = [...items].sort();
    for (const prefix of ['A', 'AB', 'DCB', 'BBBB', 'CADAB', 'DDDDDD']) {
      assert.deepEqual(index.withPrefix(prefix, 1_000), sorted.filter((s) => s.startsWith(prefix)), prefix);
    }
    assert.equal(index.size, items.size);
  });
});
