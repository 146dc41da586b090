// Text fields on the wire have limits in UTF-8 bytes. This cuts a string to such a limit at a
// character boundary, so that a cut never leaves half a character (or half a surrogate pair).

/**
 * The longest prefix of `text` that is at most `maxBytes` long in UTF-8. A lone surrogate counts
 * as the 3 bytes of the U+FFFD it is encoded as, as Buffer.byteLength counts it.
 */
export function cutUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text; // no UTF-16 unit takes more than 3 bytes
  let bytes = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) return text.slice(0, i);
    i += cp < 0x10000 ? 1 : 2;
  }
  return text;
}
