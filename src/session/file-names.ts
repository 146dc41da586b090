// Names in a file offer come from the peer and are hostile until checked. A name is only ever used
// as a relative path below the download directory: anything that could climb out of it (`..`,
// absolute paths, drive letters, backslashes) is rejected; characters that could trick the
// terminal or the eye (controls, escapes, bidi overrides, invisible marks) and names that are
// devices on Windows are neutralised.

import { chatError } from '../errors.js';
import { cutUtf8 } from '../wire/utf8-cut.js';
import { TEXT_LIMITS } from './message-fields.js';
import { UNPRINTABLE_CLASS } from './sanitize.js';

/** Longest name component in UTF-8 bytes (the common file-system limit). */
export const MAX_NAME_BYTES = 255;
/** Deepest directory nesting accepted in an offer. */
export const MAX_PATH_DEPTH = 64;

/**
 * What sanitizeText removes (controls, escapes, bidi controls, invisible and tag characters, lone
 * surrogates), except the zero-width (non-)joiners U+200C/U+200D, which emoji sequences and Persian
 * or Indic names need, and a variation selector right after a pictograph or an ideograph.
 */
const NEUTRALISE = new RegExp(
  `(?![\\u200c\\u200d])(?!(?<=[\\p{Extended_Pictographic}\\p{Ideographic}])\\p{Variation_Selector})${UNPRINTABLE_CLASS}`,
  'gu',
);
const RESERVED_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\.|$)/i;
const DRIVE_LETTER = /^[a-z]:/i;

export function unsafeName(path: string, why: string) {
  return chatError('ERR_FILE_UNSAFE_NAME', `refused the offered name ${JSON.stringify(neutralise(path).slice(0, 80))}: ${why}`);
}

/**
 * The safe relative path components for an offered path, or ERR_FILE_UNSAFE_NAME. Separators are
 * `/` only; each component is neutralised (see neutraliseComponent).
 */
export function safeRelativePath(path: string): string[] {
  if (path.length === 0) throw unsafeName(path, 'empty name');
  if (Buffer.byteLength(path, 'utf8') > TEXT_LIMITS.path) throw unsafeName(path, `path is over ${TEXT_LIMITS.path} bytes`);
  if (path.startsWith('/') || DRIVE_LETTER.test(path)) throw unsafeName(path, 'absolute path');
  if (path.includes('\\')) throw unsafeName(path, 'backslash in name');
  const parts = path.split('/');
  if (parts.length > MAX_PATH_DEPTH) throw unsafeName(path, 'nested too deep');
  return parts.map((part) => {
    if (part === '') throw unsafeName(path, 'empty path component');
    if (part === '.' || part === '..') throw unsafeName(path, 'relative path component');
    const safe = neutraliseComponent(part);
    if (Buffer.byteLength(safe, 'utf8') > MAX_NAME_BYTES) throw unsafeName(path, `a name is over ${MAX_NAME_BYTES} bytes`);
    return safe;
  });
}

/**
 * One path component made safe to create on any system and to print: dangerous characters become
 * `_`, a trailing dot or space becomes `_` (Windows drops them), a device name gets a `_` prefix.
 */
export function neutraliseComponent(part: string): string {
  let safe = neutralise(part).replace(/[. ]$/, '_');
  if (RESERVED_DEVICE.test(safe)) safe = `_${safe}`;
  return safe;
}

function neutralise(s: string): string {
  return s.replace(NEUTRALISE, '_');
}

export interface SafeEntry {
  readonly parts: readonly string[];
  readonly size: number;
}

/**
 * Check a whole offer: every path safe, no two files at the same path, no file that is also
 * another file's directory. Returns the safe entries in offer order.
 */
export function validateOffer(files: readonly { readonly path: string; readonly size: number }[]): SafeEntry[] {
  const entries = files.map((f) => ({ parts: safeRelativePath(f.path), size: f.size }));
  const filePaths = new Set<string>();
  const dirPaths = new Set<string>();
  for (const entry of entries) {
    const key = collisionKey(entry.parts);
    if (filePaths.has(key) || dirPaths.has(key)) throw unsafeName(entry.parts.join('/'), 'listed twice');
    filePaths.add(key);
    for (let i = 1; i < entry.parts.length; i++) dirPaths.add(collisionKey(entry.parts.slice(0, i)));
  }
  for (const dir of dirPaths) if (filePaths.has(dir)) throw unsafeName(dir, 'both a file and a directory');
  return entries;
}

/** Names that some file system would store as one (case-insensitive, Unicode-normalising). */
function collisionKey(parts: readonly string[]): string {
  return parts.join('/').normalize('NFC').toLowerCase();
}

const DOUBLE_EXTENSION = /\.tar\.[a-z0-9]{1,4}$/i;

/**
 * `name (n).ext`: the n-th alternative to a name already taken (n >= 1), its base shortened (at
 * a character boundary) when needed to stay within MAX_NAME_BYTES.
 */
export function numberedName(name: string, n: number): string {
  const double = DOUBLE_EXTENSION.exec(name);
  const dot = double ? double.index : name.lastIndexOf('.');
  const base = dot <= 0 ? name : name.slice(0, dot);
  const extension = dot <= 0 ? '' : name.slice(dot);
  const suffix = ` (${n})${extension}`;
  const room = MAX_NAME_BYTES - Buffer.byteLength(suffix, 'utf8');
  return `${cutUtf8(base, room)}${suffix}`;
}
