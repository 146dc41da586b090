// Fingerprints: a known answer computed independently here, check characters catching every
// single-character typo, normalisation, prefix matching and the CLI's fingerprint-or-host guess.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  fingerprintMatches,
  fingerprintOf,
  looksLikeFingerprint,
  normalizeFingerprint,
  shortFingerprint,
} from '../../../src/secure/fingerprint.js';
import { P2PChatError } from '../../../src/errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Reference base32 written differently from the module's: via a string of bits. */
function referenceBase32(bytes: Uint8Array): string {
  let bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
  bits = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0');
  return bits.replace(/.{5}/g, (five) => ALPHABET[parseInt(five, 2)]!);
}

/** Reference Luhn mod N: positions counted from the right, odd ones (1st, 3rd, …) doubled. */
function referenceLuhn(group: string): string {
  const digits = [...group].map((c) => ALPHABET.indexOf(c)).reverse();
  const sum = digits.reduce((acc, d, i) => {
    const v = i % 2 === 0 ? d * 2 : d;
    return acc + Math.floor(v / 32) + (v % 32);
  }, 0);
  return ALPHABET[(32 - (sum % 32)) % 32]!;
}

function referenceFingerprint(key: Uint8Array): string {
  const data = referenceBase32(createHash('sha256').update(key).digest());
  assert.equal(data.length, 52);
  const groups = [0, 1, 2, 3].map((g) => data.slice(g * 13, g * 13 + 13));
  const full = groups.map((g) => g + referenceLuhn(g)).join('');
  return full.match(/.{7}/g)!.join('-');
}

const KEY_01 = new Uint8Array(32).fill(0x01);
// Verified by hand-run scripts (Python hashlib/base64 and a Luhn mod N that gives Wikipedia's
// "abcdef" → "e" example) as well as by the reference functions above.
const FP_01 = 'OLGW5BB-CYQD7WE-3IJQ2IP-CEYLPXO-WX5QXX6-XQ5GC6O-Z2UQ7AF-JWG6JQO';

function badFingerprint(input: string, message: RegExp): void {
  assert.throws(
    () => normalizeFingerprint(input),
    (err: unknown) => P2PChatError.is(err, 'ERR_BAD_FINGERPRINT') && message.test(err.message),
    input,
  );
}

describe('fingerprintOf', () => {
  it('matches the independent reference and the pinned value for a key of all 0x01 bytes', () => {
    assert.equal(referenceFingerprint(KEY_01), FP_01);
    assert.equal(fingerprintOf(KEY_01), FP_01);
  });

  it('reference Luhn agrees with a hand-checked group', () => {
    // Group 1 of FP_01 is "OLGW5BBCYQD7W" + check "E".
    assert.equal(referenceLuhn('OLGW5BBCYQD7W'), 'E');
  });

  it('matches the reference for other keys', () => {
    for (let seed = 0; seed < 50; seed++) {
      const key = createHash('sha256').update(`key ${seed}`).digest();
      assert.equal(fingerprintOf(key), referenceFingerprint(key));
    }
    assert.equal(fingerprintOf(new Uint8Array(32)), referenceFingerprint(new Uint8Array(32)));
  });

  it('is 8 upper-case groups of 7 and differs between keys', () => {
    const a = fingerprintOf(new Uint8Array(32).fill(0xaa));
    const b = fingerprintOf(new Uint8Array(32).fill(0xab));
    assert.match(a, /^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$/);
    assert.notEqual(a, b);
  });

  it('rejects a key that is not 32 bytes', () => {
    assert.throws(() => fingerprintOf(new Uint8Array(31)), RangeError);
    assert.throws(() => fingerprintOf(new Uint8Array(33)), RangeError);
  });
});

describe('normalizeFingerprint', () => {
  it('accepts any case, with or without dashes or spaces', () => {
    const compact = FP_01.replace(/-/g, '');
    for (const input of [
      FP_01,
      FP_01.toLowerCase(),
      compact,
      compact.toLowerCase(),
      FP_01.replace(/-/g, ' '),
      `  ${compact.match(/.{4}/g)!.join(' ')}  `,
      'OlGw5bB-cYqD7wE-3iJq2iP-CeYlPxO-Wx5qXx6-Xq5gC6o-Z2uQ7aF-JwG6jQo',
    ]) {
      assert.equal(normalizeFingerprint(input), FP_01, input);
    }
  });

  it('requires all 56 characters, check characters included', () => {
    const data = FP_01.replace(/-/g, '');
    const withoutChecks = [0, 1, 2, 3].map((g) => data.slice(g * 14, g * 14 + 13)).join('');
    badFingerprint(withoutChecks, /56 characters.*got 52/);
    badFingerprint(FP_01.slice(0, -1), /got 55/);
    badFingerprint(`${FP_01}A`, /got 57/);
    badFingerprint('', /got 0/);
  });

  it('names a character outside the alphabet and its likely intended letter', () => {
    badFingerprint(`0${FP_01.slice(1)}`, /character 1 .*'0'.*did you mean O\?/);
    badFingerprint(`${FP_01.slice(0, 9)}1${FP_01.slice(10)}`, /character 9 .*'1'.*did you mean I\?/);
    badFingerprint(`${FP_01.slice(0, -1)}8`, /'8'.*did you mean B\?/);
    badFingerprint(`${FP_01.slice(0, -1)}!`, /character 56 .*'!', is not one of A-Z and 2-7$/);
  });

  it('detects every single-character typo in every position, naming the groups affected', () => {
    const s = FP_01.replace(/-/g, '');
    let typos = 0;
    for (let pos = 0; pos < s.length; pos++) {
      const checked = Math.floor(pos / 14); // which 14-character checked block
      const groups = new RegExp(`groups ${2 * checked + 1}-${2 * checked + 2} .*typo`);
      for (const c of ALPHABET) {
        if (c === s[pos]) continue;
        badFingerprint(s.slice(0, pos) + c + s.slice(pos + 1), groups);
        typos++;
      }
    }
    assert.equal(typos, 56 * 31);
  });

  it('accepts every fingerprint it produces', () => {
    for (let seed = 0; seed < 50; seed++) {
      const fp = fingerprintOf(createHash('sha256').update(`n ${seed}`).digest());
      assert.equal(normalizeFingerprint(fp.toLowerCase()), fp);
    }
  });
});

describe('shortFingerprint', () => {
  it('is the first group of 7', () => {
    assert.equal(shortFingerprint(FP_01), 'OLGW5BB');
    assert.equal(shortFingerprint(FP_01.toLowerCase().replace(/-/g, '')), 'OLGW5BB');
  });
});

describe('fingerprintMatches', () => {
  it('matches the full fingerprint in any form', () => {
    assert.ok(fingerprintMatches(FP_01, FP_01));
    assert.ok(fingerprintMatches(FP_01, FP_01.toLowerCase().replace(/-/g, '')));
    assert.ok(fingerprintMatches(FP_01.replace(/-/g, ''), FP_01));
  });

  it('matches a prefix of at least 4 characters, ignoring case and dashes', () => {
    assert.ok(fingerprintMatches(FP_01, 'OLGW'));
    assert.ok(fingerprintMatches(FP_01, 'olgw5b'));
    assert.ok(fingerprintMatches(FP_01, 'OLGW5BB-CYQ'));
    assert.ok(fingerprintMatches(FP_01, 'olgw5bbcyq'));
  });

  it('rejects prefixes that are too short, different, or longer than the fingerprint', () => {
    assert.ok(!fingerprintMatches(FP_01, 'OLG'));
    assert.ok(!fingerprintMatches(FP_01, ''));
    assert.ok(!fingerprintMatches(FP_01, '----'));
    assert.ok(!fingerprintMatches(FP_01, 'OLGX'));
    assert.ok(!fingerprintMatches(FP_01, 'CYQD7WE')); // a later group is not a prefix
    assert.ok(!fingerprintMatches(FP_01, `${FP_01}A`));
  });
});

describe('looksLikeFingerprint', () => {
  it('recognises full fingerprints in any case and spacing', () => {
    assert.ok(looksLikeFingerprint(FP_01));
    assert.ok(looksLikeFingerprint(FP_01.toLowerCase()));
    assert.ok(looksLikeFingerprint(FP_01.replace(/-/g, '')));
    assert.ok(looksLikeFingerprint(FP_01.replace(/-/g, ' ')));
  });

  it('recognises upper-case prefixes of 7 or more with dashes in the right places', () => {
    assert.ok(looksLikeFingerprint('OLGW5BB'));
    assert.ok(looksLikeFingerprint('OLGW5BB-C'));
    assert.ok(looksLikeFingerprint('OLGW5BB-CYQD7WE'));
    assert.ok(looksLikeFingerprint('OLGW5BB-CYQD7WE-3IJQ'));
  });

  it('does not mistake hostnames and addresses for fingerprints', () => {
    for (const host of [
      'localhost',
      'desktop', // valid base32 letters, but lower case
      'raspberrypi',
      'example.com',
      'my-laptop',
      '192.168.1.10',
      '::1',
      'host:7777',
      'OLGW5BB:7777',
      'OLGW5B', // too short
      'OLGW5BB-', // dangling dash
      'OLG-W5BB', // dash in the wrong place
      'OLGW5BBCYQ', // a prefix past 7 needs its dash
      'OLGW5B1', // 1 is not base32
      `${FP_01}-ABCDEFG`, // too many groups
      '',
    ]) {
      assert.ok(!looksLikeFingerprint(host), host);
    }
  });
});
