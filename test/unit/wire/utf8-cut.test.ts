// Cutting text to a UTF-8 byte limit: never over the limit, never half a character, the longest
// prefix that fits, and text already within the limit returned as it is.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cutUtf8 } from '../../../src/wire/utf8-cut.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('cutUtf8', () => {
  it('returns text within the limit unchanged', () => {
    for (const s of ['', 'abc', 'é'.repeat(5), '😀'.repeat(2)]) assert.equal(cutUtf8(s, 10), s);
    assert.equal(cutUtf8('x'.repeat(256), 256), 'x'.repeat(256));
  });

  it('cuts between characters of 1, 2, 3 and 4 bytes, at the longest prefix that fits', () => {
    assert.equal(cutUtf8('abcdef', 4), 'abcd');
    assert.equal(cutUtf8('ééé', 5), 'éé'); // 2 bytes each
    assert.equal(cutUtf8('日本語', 8), '日本'); // 3 bytes each
    assert.equal(cutUtf8('😀😀😀', 11), '😀😀'); // 4 bytes each, a surrogate pair never split
    assert.equal(cutUtf8('a😀', 4), 'a');
    assert.equal(cutUtf8('a😀', 5), 'a😀');
    assert.equal(cutUtf8('😀', 0), '');
  });

  it('counts a lone surrogate as the 3 bytes it is sent as', () => {
    assert.equal(cutUtf8('\ud800\ud800', 3), '\ud800');
    assert.equal(cutUtf8('\ud800\ud800', 5), '\ud800');
  });

  it('fuzz: the result is a prefix, fits, and one more character would not', () => {
    const pool = ['a', 'é', '日', '😀', '\ud800', '\u0000', '"'];
    let state = 7;
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    for (let round = 0; round < 2_000; round++) {
      const text = Array.from({ length: random(60) }, () => pool[random(pool.length)]!).join('');
      const limit = random(120);
      const cut = cutUtf8(text, limit);
      assert.ok(text.startsWith(cut));
      assert.ok(bytes(cut) <= limit, `${bytes(cut)} > ${limit}`);
      if (cut !== text) {
        const next = String.fromCodePoint(text.codePointAt(cut.length)!);
        assert.ok(bytes(cut + next) > limit, 'the longest prefix that fits');
      }
    }
  });
});
