// Fingerprints: the human-checkable name of a peer's identity (its X25519 public key). Like a
// Syncthing device ID: base32 of SHA-256(key), with a Luhn mod 32 check character after every 13
// characters so a mistyped or misread fingerprint is caught instead of silently matching no one.

import { createHash } from 'node:crypto';
import { chatError } from '../errors.js';

/** RFC 4648 base32 alphabet; its digits avoid 0/1/8, which read like O/I/B. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const N = ALPHABET.length;

const PUBLIC_KEY_SIZE = 32;
const CHECKED_GROUP = 13; // data characters covered by one check character
const GROUPS = 4; // 52 base32 characters of SHA-256 = 4 × 13
const DISPLAY_GROUP = 7;
export const FINGERPRINT_LENGTH = GROUPS * (CHECKED_GROUP + 1); // 56, without dashes
/** Shortest prefix that may stand for a fingerprint: 20 bits, enough among a handful of peers. */
export const MIN_FINGERPRINT_PREFIX = 4;

/** Full fingerprint of a public key: 56 characters as 8 dash-separated groups of 7. */
export function fingerprintOf(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_SIZE) {
    throw new RangeError(`a public key is ${PUBLIC_KEY_SIZE} bytes, got ${publicKey.length}`);
  }
  const data = base32(createHash('sha256').update(publicKey).digest());
  let checked = '';
  for (let g = 0; g < GROUPS; g++) {
    const group = data.slice(g * CHECKED_GROUP, (g + 1) * CHECKED_GROUP);
    checked += group + luhnCheckChar(group);
  }
  return dashed(checked);
}

/** First display group, for prompts and peer lists; the full form is for verifying. */
export function shortFingerprint(fp: string): string {
  return compact(fp).slice(0, DISPLAY_GROUP);
}

/**
 * Canonical (upper case, dashed) form of a fingerprint a person typed or pasted. Throws
 * ERR_BAD_FINGERPRINT saying what is wrong: length, a character outside the alphabet, or a check
 * character that does not match (a typo).
 */
export function normalizeFingerprint(input: string): string {
  const s = compact(input);
  if (s.length !== FINGERPRINT_LENGTH) {
    throw chatError(
      'ERR_BAD_FINGERPRINT',
      `a fingerprint has ${FINGERPRINT_LENGTH} characters (not counting dashes), got ${s.length}`,
    );
  }
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!ALPHABET.includes(c)) {
      const hint = LOOKALIKES[c] === undefined ? '' : ` (did you mean ${LOOKALIKES[c]}?)`;
      throw chatError(
        'ERR_BAD_FINGERPRINT',
        `character ${i + 1} of the fingerprint, '${c}', is not one of A-Z and 2-7${hint}`,
      );
    }
  }
  for (let g = 0; g < GROUPS; g++) {
    const start = g * (CHECKED_GROUP + 1);
    const group = s.slice(start, start + CHECKED_GROUP);
    if (luhnCheckChar(group) !== s[start + CHECKED_GROUP]) {
      // Users see groups of 7, so name the two display groups this check character covers.
      throw chatError(
        'ERR_BAD_FINGERPRINT',
        `check character mismatch in groups ${2 * g + 1}-${2 * g + 2} of the fingerprint (typo?)`,
      );
    }
  }
  return dashed(s);
}

/**
 * Does `prefixOrFull` name the fingerprint `fp`? Case, dashes and spaces are ignored; anything
 * shorter than MIN_FINGERPRINT_PREFIX characters matches nothing.
 */
export function fingerprintMatches(fp: string, prefixOrFull: string): boolean {
  const candidate = compact(prefixOrFull);
  return candidate.length >= MIN_FINGERPRINT_PREFIX && compact(fp).startsWith(candidate);
}

const SHORT_FORM = /^[A-Z2-7]{7}(-[A-Z2-7]{7}){0,6}(-[A-Z2-7]{1,7})?$/;

/**
 * Heuristic for the CLI: is this argument a fingerprint (or prefix) rather than a hostname? A full
 * 56-character fingerprint counts in any case. A shorter prefix counts only in upper case, as
 * fingerprints are displayed, with dashes after every 7 characters: lower-case words such as
 * "desktop" are valid base32 and far more likely to be hostnames.
 */
export function looksLikeFingerprint(s: string): boolean {
  const trimmed = s.trim();
  const full = compact(trimmed);
  if (full.length === FINGERPRINT_LENGTH && /^[A-Z2-7]+$/.test(full) && /^[A-Za-z2-7 -]+$/.test(trimmed)) {
    return true;
  }
  return SHORT_FORM.test(trimmed);
}

/** Characters people type for ones the alphabet left out. */
const LOOKALIKES: Readonly<Record<string, string>> = Object.freeze({ '0': 'O', '1': 'I', '8': 'B' });

function compact(s: string): string {
  return s.replace(/[\s-]+/g, '').toUpperCase();
}

/** Dashes after every 7 characters of a compact (upper-case, undashed) fingerprint or prefix. */
export function dashed(s: string): string {
  const parts: string[] = [];
  for (let i = 0; i < s.length; i += DISPLAY_GROUP) parts.push(s.slice(i, i + DISPLAY_GROUP));
  return parts.join('-');
}

/** RFC 4648 base32 without padding; the last character carries the leftover bits, zero-filled. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1; // keep only unread bits so `value` never grows
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Luhn mod N check character. Working from the right, every other code point is doubled and its
 * base-N digits summed; for even N doubling is a permutation of 0..N-1, so any single substituted
 * character changes the sum and is caught.
 */
function luhnCheckChar(group: string): string {
  let factor = 2;
  let sum = 0;
  for (let i = group.length - 1; i >= 0; i--) {
    const addend = factor * ALPHABET.indexOf(group[i]!);
    sum += Math.floor(addend / N) + (addend % N);
    factor = factor === 2 ? 1 : 2;
  }
  return ALPHABET[(N - (sum % N)) % N]!;
}
