// Cleaning of every peer-supplied string before it reaches the terminal. A peer must not be able to
// drive our terminal (escape sequences), fake a line from someone else (line breaks), or make text
// read differently from what it is (bidi overrides, invisible characters: every
// Default_Ignorable_Code_Point, so that `alice` and `alice` + a Hangul filler are not two names).

export const MAX_NAME_LENGTH = 32;

const ESC = 0x1b;
const BEL = 0x07;
const CAN = 0x18;
const SUB = 0x1a;
const ST_8BIT = 0x9c;
const ZWJ = 0x200d;
const BLACK_FLAG = 0x1f3f4;
const TAG_CANCEL = 0xe007f;
const KEYCAP = 0x20e3;
/**
 * The Braille pattern with no dots (a code point's offset in the block is its dot mask). It is no
 * Default_Ignorable_Code_Point but a printed blank cell, so it is shown as a space: Braille art
 * keeps its columns, and a name cannot end in an invisible one.
 */
const BRAILLE_BLANK = 0x2800;

/**
 * Anything sanitizeText would change; most chat lines contain none of it and are returned as-is.
 * Controls, surrogates, line and paragraph separators, every Default_Ignorable_Code_Point (zero-width
 * characters, bidi controls, Hangul and halfwidth fillers, variation selectors, tags, ...), the
 * interlinear annotation controls (format characters that are not default-ignorable), and the
 * Braille blank.
 */
export const UNPRINTABLE_CLASS = '[\\p{Cc}\\p{Cs}\\p{Default_Ignorable_Code_Point}\\u2028\\u2029\\ufff9-\\ufffb\\u2800]';
const NEEDS_CLEANING = new RegExp(UNPRINTABLE_CLASS, 'u');
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const VARIATION_SELECTOR = /\p{Variation_Selector}/u;
const IDEOGRAPHIC = /\p{Ideographic}/u;
/** No code point below this (U+00AD, the soft hyphen) is default-ignorable or a variation selector. */
const FIRST_IGNORABLE = 0xad;

/**
 * Text safe to print: escape sequences (7- and 8-bit) and other controls removed, tab and the
 * Braille blank shown as a space, any run of line breaks shown as one space, default-ignorable
 * characters (bidi controls, zero-width characters, fillers) removed. Letters, accents, CJK and
 * emoji (including ZWJ and variation sequences, keycaps and flags) are kept.
 */
export function sanitizeText(s: string): string {
  if (!NEEDS_CLEANING.test(s)) return s;
  let out = '';
  let lastKept = -1; // last code point written, for the emoji-sequence exceptions
  let inBreak = false;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const next = i + (cp > 0xffff ? 2 : 1);
    if (isLineBreak(cp)) {
      if (!inBreak) out += ' ';
      inBreak = true;
      lastKept = 0x20;
      i = next;
      continue;
    }
    const lengthBefore = out.length;

    if (cp === ESC) {
      i = skipEscape(s, next);
    } else if (cp >= 0x80 && cp <= 0x9f) {
      i = skipC1(s, cp, next);
    } else if (cp === 0x09) {
      out += ' ';
      lastKept = 0x20;
      i = next;
    } else if (cp < 0x20 || cp === 0x7f) {
      i = next;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate cannot be printed; show that something was there.
      out += '\ufffd';
      lastKept = 0xfffd;
      i = next;
    } else if (cp === BRAILLE_BLANK) {
      out += ' ';
      lastKept = 0x20;
      i = next;
    } else if (
      cp >= FIRST_IGNORABLE &&
      ((cp === ZWJ && joinsEmoji(lastKept, s.codePointAt(next))) ||
        (VARIATION_SELECTOR.test(String.fromCodePoint(cp)) && selectsVariant(lastKept, cp, s.codePointAt(next))))
    ) {
      out += String.fromCodePoint(cp);
      lastKept = cp;
      i = next;
    } else if (cp >= FIRST_IGNORABLE && (IGNORABLE.test(String.fromCodePoint(cp)) || (cp >= 0xfff9 && cp <= 0xfffb))) {
      i = next;
    } else {
      out += String.fromCodePoint(cp);
      lastKept = cp;
      i = next;
      if (cp === BLACK_FLAG) {
        // Subdivision flags (England, Scotland, Wales) are the black flag plus tag characters; tags
        // anywhere else are invisible and could smuggle hidden text, so only this shape is kept.
        const end = tagSequenceEnd(s, i);
        out += s.slice(i, end);
        i = end;
      }
    }
    // Escapes and invisibles between two line breaks must not split their single space in two.
    if (out.length !== lengthBefore) inBreak = false;
  }
  return out;
}

/**
 * A display name: sanitized, whitespace collapsed and trimmed, at most MAX_NAME_LENGTH code points
 * (cut between grapheme clusters so an emoji or accented letter is never split), or 'anonymous'.
 */
export function sanitizeName(s: string): string {
  const text = sanitizeText(s).replace(/\s+/gu, ' ').trim();
  let name = '';
  let count = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = [...segment].length;
    if (count + size > MAX_NAME_LENGTH) {
      // A single cluster longer than the whole limit (a pile of combining marks) is cut inside.
      if (count === 0) name = [...segment].slice(0, MAX_NAME_LENGTH).join('');
      break;
    }
    name += segment;
    count += size;
  }
  return name.trim() || 'anonymous';
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function isLineBreak(cp: number): boolean {
  // LF, VT, FF, CR move the cursor down or back in a terminal; NEL and U+2028/9 are line breaks too.
  return (cp >= 0x0a && cp <= 0x0d) || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
}

/**
 * A variation selector picks a glyph of the character before it: emoji or text style of a pictograph
 * or keycap, or a variant of an ideograph. After anything else it changes nothing visible.
 */
function selectsVariant(before: number, cp: number, after: number | undefined): boolean {
  if (before < 0) return false;
  const base = String.fromCodePoint(before);
  if (cp === 0xfe0e || cp === 0xfe0f) return PICTOGRAPHIC.test(base) || (isKeycapBase(before) && after === KEYCAP);
  return IDEOGRAPHIC.test(base);
}

/** 0-9, # and *: an emoji keycap is one of these, U+FE0F and U+20E3. */
function isKeycapBase(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || cp === 0x23 || cp === 0x2a;
}

/** A ZWJ between two emoji builds one glyph (family, rainbow flag); anywhere else it only hides. */
function joinsEmoji(before: number, after: number | undefined): boolean {
  const emojiBefore =
    before >= 0 &&
    (PICTOGRAPHIC.test(String.fromCodePoint(before)) ||
      before === 0xfe0f || // emoji presentation selector
      (before >= 0x1f3fb && before <= 0x1f3ff)); // skin tones
  return emojiBefore && after !== undefined && PICTOGRAPHIC.test(String.fromCodePoint(after));
}

/** End of a well-formed tag sequence (tag characters closed by CANCEL TAG) at `i`, or `i`. */
function tagSequenceEnd(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const cp = s.codePointAt(j)!;
    if (cp === TAG_CANCEL) return j > i ? j + 2 : i;
    if (cp < 0xe0020 || cp > 0xe007e) return i;
    j += 2;
  }
  return i;
}

/** Skip what follows an ESC at `i`; returns where ordinary text resumes. */
function skipEscape(s: string, i: number): number {
  if (i >= s.length) return i;
  const c = s.charCodeAt(i);
  if (c === 0x5b) return skipCsi(s, i + 1); // ESC [
  if (c === 0x5d) return skipString(s, i + 1, true); // ESC ] (OSC)
  if (c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) return skipString(s, i + 1, false); // DCS SOS PM APC
  let j = i;
  while (j < s.length && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x2f) j++; // intermediates
  if (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x7e) return j + 1; // final
  // No valid final byte (a control or non-ASCII character follows): drop what we read, keep that.
  return j;
}

function skipC1(s: string, cp: number, i: number): number {
  if (cp === 0x9b) return skipCsi(s, i);
  if (cp === 0x9d) return skipString(s, i, true);
  if (cp === 0x90 || cp === 0x98 || cp === 0x9e || cp === 0x9f) return skipString(s, i, false);
  return i;
}

/** Parameters and intermediates (0x20-0x3F) up to a final byte (0x40-0x7E). */
function skipCsi(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c >= 0x40 && c <= 0x7e) return j + 1;
    // Anything else ends the sequence as a terminal would abort it; the main loop handles it.
    if (c < 0x20 || c > 0x3f) return j;
    j++;
  }
  return j;
}

/**
 * A control string (OSC, DCS, SOS, PM, APC) runs to ST (ESC \ or 0x9C), or BEL for OSC. An ESC
 * inside aborts it, as in terminals. An unterminated one swallows the rest of the text, which is
 * what the terminal would have done with it.
 */
function skipString(s: string, i: number, belEnds: boolean): number {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === ST_8BIT || c === CAN || c === SUB || (belEnds && c === BEL)) return j + 1;
    if (c === ESC) return j; // ESC \ is then dropped as a two-character sequence
    j++;
  }
  return j;
}
