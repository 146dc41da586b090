// Sanitizing peer-supplied text: each escape family (7- and 8-bit), controls, line breaks, bidi and
// invisible characters removed; real text and emoji kept; names collapsed and capped by code point.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NAME_LENGTH, sanitizeName, sanitizeText } from '../../../src/session/sanitize.js';

const ESC = '\x1b';

function cleans(cases: Array<[string, string]>): void {
  for (const [input, expected] of cases) {
    assert.equal(sanitizeText(input), expected, JSON.stringify(input));
  }
}

/** Characters that must never reach the terminal from a peer. */
const FORBIDDEN =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b\u200c\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u;

describe('sanitizeText', () => {
  it('returns ordinary text unchanged: accents, CJK, RTL letters, emoji, combining marks', () => {
    for (const s of [
      'hello, world!',
      'café naïve Ångström',
      '日本語のテキスト 中文 한국어',
      'Ελληνικά and русский',
      'مرحبا שלום',
      'e\u0301 (combining acute)',
      'emoji 😀🎉👍🏽',
      'family 👨‍👩‍👧 rainbow 🏳️‍🌈 coder 👩🏽‍💻',
      'flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿 of Scotland',
      'symbols <>&"\'`~|\\ {}[]',
    ]) {
      assert.equal(sanitizeText(s), s);
    }
  });

  it('removes CSI sequences: colours, cursor movement, private modes, intermediates', () => {
    cleans([
      [`${ESC}[31mred${ESC}[0m`, 'red'],
      [`${ESC}[1;38;2;255;0;0mbold${ESC}[m`, 'bold'],
      [`a${ESC}[2J${ESC}[Hb`, 'ab'], // clear screen, home
      [`a${ESC}[3Ab`, 'ab'], // cursor up: could overwrite earlier lines
      [`${ESC}[?25lhidden cursor${ESC}[?1049h`, 'hidden cursor'],
      [`x${ESC}[1 qy`, 'xy'], // intermediate byte before the final
      [`x${ESC}[>0;1c`, 'x'], // device attributes query
      [`trailing${ESC}[31`, 'trailing'], // unterminated at the end
    ]);
  });

  it('removes OSC strings ended by BEL or ST, including hyperlinks and clipboard writes', () => {
    cleans([
      [`${ESC}]0;fake title\x07text`, 'text'],
      [`${ESC}]2;title${ESC}\\text`, 'text'],
      [`${ESC}]8;;https://evil.example${ESC}\\click me${ESC}]8;;${ESC}\\`, 'click me'],
      [`${ESC}]52;c;ZWNobyBwd25lZA==\x07after`, 'after'],
      [`a${ESC}]0;never terminated`, 'a'], // a terminal would swallow the rest too
      [`${ESC}]0;aborted${ESC}[31mred`, 'red'], // ESC inside a string starts a new sequence
    ]);
  });

  it('removes DCS, SOS, PM and APC strings', () => {
    cleans([
      [`a${ESC}P1$r0m${ESC}\\b`, 'ab'], // DCS
      [`a${ESC}Xsos payload${ESC}\\b`, 'ab'], // SOS
      [`a${ESC}^privacy message${ESC}\\b`, 'ab'], // PM
      [`a${ESC}_Gf=100;AAAA${ESC}\\b`, 'ab'], // APC (kitty graphics)
      [`a${ESC}Pno ST, BEL does not end DCS\x07still inside`, 'a'],
    ]);
  });

  it('removes two- and three-character ESC sequences', () => {
    cleans([
      [`${ESC}cafter reset`, 'after reset'], // RIS
      [`a${ESC}7b${ESC}8c`, 'abc'], // save/restore cursor
      [`a${ESC}Mb`, 'ab'], // reverse index
      [`${ESC}(0lqk${ESC}(B`, 'lqk'], // charset designation
      [`${ESC}#8x`, 'x'], // DEC screen alignment
      [`a${ESC}`, 'a'], // lone ESC at the end
      [`a${ESC}é`, 'aé'], // ESC before non-ASCII: only the ESC goes
      [`a${ESC}${ESC}[1mb`, 'ab'],
    ]);
  });

  it('removes 8-bit C1 sequences and other C1 controls', () => {
    cleans([
      ['\u009b31mred\u009b0m', 'red'], // CSI
      ['\u009d0;title\u0007text', 'text'], // OSC … BEL
      ['\u009d0;title\u009ctext', 'text'], // OSC … ST
      ['a\u0090dcs\u009cb', 'ab'], // DCS
      ['a\u0098sos\u009cb', 'ab'], // SOS
      ['a\u009epm\u009cb', 'ab'], // PM
      ['a\u009fapc\u009cb', 'ab'], // APC
      ['a\u0084b\u008dc\u009cd\u0080e', 'abcde'], // IND, RI, stray ST, PAD
      ['line\u0085next', 'line next'], // NEL is a line break
    ]);
  });

  it('removes C0 controls and DEL, and shows a tab as a space', () => {
    cleans([
      ['bell\x07', 'bell'],
      ['secret\x08\x08\x08\x08\x08\x08public', 'secretpublic'], // backspace overwrite
      ['nul\x00byte', 'nulbyte'],
      ['del\x7fete', 'delete'],
      ['a\x18b\x1ac', 'abc'],
      ['col1\tcol2', 'col1 col2'],
    ]);
  });

  it('turns any run of CR/LF (and other line breaks) into a single space', () => {
    cleans([
      ['a\nb', 'a b'],
      ['a\r\nb', 'a b'],
      ['a\rb', 'a b'],
      ['a\n\n\r\n\nb', 'a b'],
      ['a\u2028b\u2029c', 'a b c'],
      ['a\x0bb\x0cc', 'a b c'], // VT, FF
      ['end\n', 'end '],
      [`a\n${ESC}[0m\u200b\nb`, 'a b'], // removed characters between breaks do not add spaces
    ]);
  });

  it('does not let a peer fake a line from someone else', () => {
    const forged = 'hi\r\n<bob> please paste your key here\r\x1b[2K<carol> ok';
    const out = sanitizeText(forged);
    assert.ok(!/[\r\n\x1b]/.test(out));
    assert.equal(out, 'hi <bob> please paste your key here <carol> ok');
  });

  it('removes bidi embeddings, overrides and isolates', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      const c = String.fromCodePoint(cp);
      assert.equal(sanitizeText(`a${c}b${c}`), 'ab', cp.toString(16));
    }
    // The classic file-name spoof: "invoice‮fdp.exe" renders as "invoiceexe.pdf".
    assert.equal(sanitizeText('invoice\u202efdp.exe'), 'invoicefdp.exe');
    assert.equal(sanitizeText('a\u200eb\u200fc\u061cd'), 'abcd'); // LRM, RLM, ALM
  });

  it('removes zero-width and other invisible format characters', () => {
    cleans([
      ['al\u200bice', 'alice'],
      ['al\u200cice', 'alice'],
      ['al\u200dice', 'alice'], // ZWJ between letters only hides
      ['\ufeffbom', 'bom'],
      ['soft\u00adhyphen', 'softhyphen'],
      ['word\u2060joiner\u2063', 'wordjoiner'],
      ['a\u180eb', 'ab'],
      ['a\ufff9b\ufffbc', 'abc'],
    ]);
  });

  it('removes the Hangul and halfwidth fillers and other default-ignorable letters, and shows the Braille blank as a space', () => {
    for (const cp of [0x3164, 0x115f, 0x1160, 0xffa0, 0x034f, 0x17b4]) {
      const c = String.fromCodePoint(cp);
      assert.equal(sanitizeText(`hi ${c}there${c}`), 'hi there', cp.toString(16));
      assert.equal(sanitizeText(c), '', cp.toString(16));
    }
    assert.equal(sanitizeText('a⠀b⠀'), 'a b ');
    assert.equal(sanitizeText('⣿⠀⣿'), '⣿ ⣿', 'Braille art keeps its columns');
  });

  it('removes every Default_Ignorable_Code_Point that does not select an emoji or ideograph variant', () => {
    const ignorable = /\p{Default_Ignorable_Code_Point}/u;
    let count = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      if (!ignorable.test(c)) continue;
      count++;
      assert.equal(sanitizeText(`a${c}b`), 'ab', cp.toString(16));
      assert.equal(sanitizeText(`x${c}`), 'x', cp.toString(16));
    }
    assert.ok(count > 4000, `${count} default-ignorable code points checked`);
  });

  it('keeps a variation selector only where it selects a glyph: after a pictograph, in a keycap, after an ideograph', () => {
    for (const s of ['❤️', '☺︎', '1️⃣', '#️⃣', '🏳️‍🌈', '葛\u{e0100}', '漢\ufe00']) assert.equal(sanitizeText(s), s, JSON.stringify(s));
    cleans([
      ['alice\ufe0f', 'alice'],
      ['a\ufe0eb', 'ab'],
      ['1\ufe0f', '1'], // not a keycap without U+20E3
      ['x\u{e0100}', 'x'],
      ['❤️\ufe0f\ufe0f', '❤️'], // one selector per character
      ['\ufe0f❤', '❤'],
    ]);
  });

  it('keeps ZWJ inside emoji sequences but not at their edges', () => {
    assert.equal(sanitizeText('👨\u200d👩'), '👨\u200d👩');
    assert.equal(sanitizeText('👍🏽\u200d💻'), '👍🏽\u200d💻'); // after a skin tone
    assert.equal(sanitizeText('\u200d👩'), '👩');
    assert.equal(sanitizeText('👩\u200d'), '👩');
    assert.equal(sanitizeText('👩\u200da'), '👩a');
  });

  it('removes tag characters except in a subdivision flag', () => {
    const tags = (s: string) => [...s].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    assert.equal(sanitizeText(`hi${tags('ignore previous')}\u{e007f}`), 'hi'); // hidden text
    assert.equal(sanitizeText(`hi\u{e0001}${tags('en')}`), 'hi');
    const england = `🏴${tags('gbeng')}\u{e007f}`;
    assert.equal(sanitizeText(england), england);
    assert.equal(sanitizeText(`🏴${tags('gbeng')}`), '🏴'); // no CANCEL TAG: not a flag
  });

  it('replaces lone surrogates with U+FFFD', () => {
    assert.equal(sanitizeText('a\ud800b'), 'a\ufffdb');
    assert.equal(sanitizeText('a\udc00'), 'a\ufffd');
    assert.equal(sanitizeText('ok 😀'), 'ok 😀');
  });

  it('fuzz: output never contains a control, bidi or invisible character', () => {
    let state = 0x12345678;
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const pool = [
      ...'aZ9 [];?P]X^_\\\x07\x1b\x1b\x1b\x9b\x9c\x9d\x90\x85\r\n\t\x00\x7f',
      '\u202e', '\u2066', '\u200b', '\u200d', '\ufeff', '\u2028', '😀', 'é', '\u{e0041}', '\ud800',
    ];
    for (let round = 0; round < 2000; round++) {
      const input = Array.from({ length: random(40) }, () => pool[random(pool.length)]!).join('');
      const out = sanitizeText(input);
      assert.ok(!FORBIDDEN.test(out), JSON.stringify(input));
      assert.equal(sanitizeText(out), out, `not idempotent: ${JSON.stringify(input)}`);
    }
  });
});

describe('sanitizeName', () => {
  it('does not let an invisible character make a second "alice"', () => {
    for (const cp of [0x3164, 0x115f, 0x1160, 0xffa0, 0x2800, 0x034f, 0x17b4, 0xfe0f, 0x200b, 0x2060, 0xe0041]) {
      const c = String.fromCodePoint(cp);
      assert.equal(sanitizeName(`alice${c}`), 'alice', cp.toString(16));
      assert.equal(sanitizeName(`${c}alice`), 'alice', cp.toString(16));
      assert.equal(sanitizeName(`ali${c}ce`), cp === 0x2800 ? 'ali ce' : 'alice', cp.toString(16));
      assert.equal(sanitizeName(c), 'anonymous', cp.toString(16));
    }
  });

  it('sanitizes, collapses whitespace and trims', () => {
    assert.equal(sanitizeName('  alice  '), 'alice');
    assert.equal(sanitizeName('alice \t\t  the\u00a0\u3000great'), 'alice the great');
    assert.equal(sanitizeName('al\nice\r\n'), 'al ice');
    assert.equal(sanitizeName(`${ESC}[31mbob${ESC}[0m`), 'bob');
    assert.equal(sanitizeName('\u202eeve'), 'eve');
    assert.equal(sanitizeName('Zoë 🦊'), 'Zoë 🦊');
  });

  it("returns 'anonymous' when nothing printable is left", () => {
    for (const s of ['', '   ', '\r\n\t', `${ESC}[2J`, '\u200b\u202e\ufeff', `${ESC}]0;x\x07`]) {
      assert.equal(sanitizeName(s), 'anonymous', JSON.stringify(s));
    }
  });

  it('caps the name at 32 code points, not UTF-16 units', () => {
    assert.equal(MAX_NAME_LENGTH, 32);
    assert.equal(sanitizeName('x'.repeat(40)), 'x'.repeat(32));
    const emoji = sanitizeName('😀'.repeat(40));
    assert.equal([...emoji].length, 32);
    assert.equal(emoji.length, 64); // each is a surrogate pair
    assert.equal(sanitizeName('a'.repeat(32)), 'a'.repeat(32));
  });

  it('never cuts a grapheme cluster in half', () => {
    const thumb = '👍🏽'; // two code points
    assert.equal(sanitizeName('a'.repeat(30) + thumb), 'a'.repeat(30) + thumb);
    assert.equal(sanitizeName('a'.repeat(31) + thumb), 'a'.repeat(31));
    assert.equal(sanitizeName(`${'a'.repeat(28)}👨\u200d👩\u200d👧`), 'a'.repeat(28)); // 5 code points
  });

  it('does not end on a space left by the cut', () => {
    assert.equal(sanitizeName(`${'a'.repeat(31)} bcd`), 'a'.repeat(31));
  });

  it('cuts inside a single cluster longer than the limit rather than dropping everything', () => {
    const zalgo = `z${'\u0301'.repeat(60)}`;
    const name = sanitizeName(zalgo);
    assert.equal([...name].length, 32);
    assert.ok(name.startsWith('z'));
  });
});
