// Offered file names are hostile: paths that could leave the download directory are refused with
// ERR_FILE_UNSAFE_NAME; characters that could trick the terminal or the eye, Windows device names
// and trailing dots/spaces are neutralised; an offer listing a path twice (even by case) or a file
// that is also a directory is refused; a taken name gets a numbered alternative.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_NAME_BYTES,
  MAX_PATH_DEPTH,
  neutraliseComponent,
  numberedName,
  safeRelativePath,
  unsafeName,
  validateOffer,
} from '../../../src/session/file-names.js';
import { throwsCode } from '../../helpers/assert-code.js';

/** Anything that must never reach a file name or the terminal from a peer. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

describe('safeRelativePath: refused names', () => {
  const refused: Array<[string, RegExp]> = [
    ['', /empty name/],
    ['/etc/passwd', /absolute path/],
    ['/', /absolute path/],
    ['//server/share/x', /absolute path/],
    ['C:\\x', /absolute path/],
    ['C:x', /absolute path/],
    ['c:/windows/system32', /absolute path/],
    ['z:', /absolute path/],
    ['a:b.txt', /absolute path/], // drive-relative on Windows
    ['a\\b', /backslash/],
    ['dir\\..\\..\\x', /backslash/],
    ['..\\x', /backslash/],
    ['../../x', /relative path component/],
    ['..', /relative path component/],
    ['.', /relative path component/],
    ['a/../b', /relative path component/],
    ['a/..', /relative path component/],
    ['./a', /relative path component/],
    ['a/./b', /relative path component/],
    ['a//b', /empty path component/],
    ['a/', /empty path component/],
  ];

  for (const [path, why] of refused) {
    it(`refuses ${JSON.stringify(path)}`, () => {
      const err = throwsCode(() => safeRelativePath(path), 'ERR_FILE_UNSAFE_NAME');
      assert.match(err.message, why);
      assert.match(err.message, /^refused the offered name /);
    });
  }

  it(`refuses nesting deeper than ${MAX_PATH_DEPTH} components, accepts exactly ${MAX_PATH_DEPTH}`, () => {
    const deepest = Array.from({ length: MAX_PATH_DEPTH }, (_, i) => `d${i}`);
    assert.deepEqual(safeRelativePath(deepest.join('/')), deepest);
    const err = throwsCode(() => safeRelativePath([...deepest, 'x'].join('/')), 'ERR_FILE_UNSAFE_NAME');
    assert.match(err.message, /nested too deep/);
    throwsCode(() => safeRelativePath('a/'.repeat(5000) + 'a'), 'ERR_FILE_UNSAFE_NAME');
  });

  it(`refuses a component over ${MAX_NAME_BYTES} bytes of UTF-8, accepts exactly ${MAX_NAME_BYTES}`, () => {
    assert.equal(MAX_NAME_BYTES, 255);
    assert.deepEqual(safeRelativePath('a'.repeat(255)), ['a'.repeat(255)]);
    assert.deepEqual(safeRelativePath(`dir/${'a'.repeat(255)}`), ['dir', 'a'.repeat(255)]);
    for (const path of ['a'.repeat(256), `dir/${'a'.repeat(256)}`, `${'a'.repeat(256)}/x`]) {
      const err = throwsCode(() => safeRelativePath(path), 'ERR_FILE_UNSAFE_NAME');
      assert.match(err.message, /over 255 bytes/);
    }
    // Counted in bytes: 128 two-byte characters are 256 bytes, 85 three-byte ones are 255.
    throwsCode(() => safeRelativePath('é'.repeat(128)), 'ERR_FILE_UNSAFE_NAME');
    assert.deepEqual(safeRelativePath('日'.repeat(85)), ['日'.repeat(85)]);
    throwsCode(() => safeRelativePath('日'.repeat(86)), 'ERR_FILE_UNSAFE_NAME');
    throwsCode(() => safeRelativePath('😀'.repeat(64)), 'ERR_FILE_UNSAFE_NAME');
  });

  it('refuses a whole path over 4096 bytes (the path limit of the protocol), accepts exactly 4096', () => {
    const names = (first: number) => ['x'.repeat(first), ...Array.from({ length: 15 }, () => 'y'.repeat(255)), 'z'];
    const atLimit = names(254).join('/');
    assert.equal(Buffer.byteLength(atLimit), 4096);
    assert.deepEqual(safeRelativePath(atLimit), names(254));
    const err = throwsCode(() => safeRelativePath(names(255).join('/')), 'ERR_FILE_UNSAFE_NAME');
    assert.match(err.message, /: path is over 4096 bytes$/);
  });

  it('shows a refused name in the error without its control characters', () => {
    const err = throwsCode(() => safeRelativePath('/tmp/\u001b[2Jevil\u202e'), 'ERR_FILE_UNSAFE_NAME');
    assert.doesNotMatch(err.message, FORBIDDEN);
    assert.match(err.message, /_\[2Jevil_/);
    const long = throwsCode(() => safeRelativePath('/' + 'x'.repeat(500)), 'ERR_FILE_UNSAFE_NAME');
    assert.ok(long.message.length < 200, 'the name is shortened in the message');
  });
});

describe('neutraliseComponent: invisible tag characters', () => {
  it('turns Unicode tag characters (invisible text) into _, keeping the zero-width joiner of emoji', () => {
    assert.equal(neutraliseComponent('a\u{e0041}\u{e007f}b.txt'), 'a__b.txt');
    assert.equal(neutraliseComponent('\u{1f468}\u200d\u{1f469}.png'), '\u{1f468}\u200d\u{1f469}.png');
  });

  it('turns fillers, the Braille blank and stray variation selectors into _, keeping emoji and ideograph variants', () => {
    for (const cp of [0x3164, 0x115f, 0x1160, 0xffa0, 0x2800, 0x034f, 0x17b4]) {
      assert.equal(neutraliseComponent(`report${String.fromCodePoint(cp)}.pdf`), 'report_.pdf', cp.toString(16));
    }
    assert.equal(neutraliseComponent('report\ufe0f.pdf'), 'report_.pdf');
    assert.equal(neutraliseComponent('❤️.png'), '❤️.png');
    assert.equal(neutraliseComponent('葛\u{e0100}.txt'), '葛\u{e0100}.txt');
  });
});

describe('safeRelativePath: accepted names', () => {
  it('splits a relative path on /', () => {
    assert.deepEqual(safeRelativePath('a.txt'), ['a.txt']);
    assert.deepEqual(safeRelativePath('photos/2024/img 001.jpg'), ['photos', '2024', 'img 001.jpg']);
  });

  it('keeps unicode names (CJK, emoji, accents, RTL script) unchanged', () => {
    for (const name of ['日本語のファイル.txt', 'фото/зима.jpg', 'café crème.pdf', 'emoji 😀🎉👍🏽.png', 'שלום.txt', '中文/文件夹/文档.docx', 'naïve résumé.doc', 'thumbs 👍🏽.jpg', 'flag 🇯🇵.png']) {
      assert.deepEqual(safeRelativePath(name), name.split('/'), name);
    }
  });

  it('keeps ordinary punctuation, leading dots and inner dots', () => {
    for (const name of ['.bashrc', '.config/app/settings.json', 'a..b', '...x', 'x (1).txt', "it's [draft] #2 & more!.md", 'notes:2024.txt', '~', '~user', '-rf', '$HOME']) {
      assert.deepEqual(safeRelativePath(name), name.split('/'), name);
    }
  });
});

describe('safeRelativePath: neutralised characters', () => {
  const cases: Array<[string, string]> = [
    ['evil\u001b[31m.txt', 'evil_[31m.txt'],
    ['photo\u202egpj.exe', 'photo_gpj.exe'],
    ['a\u0000b', 'a_b'],
    ['line1\nline2.txt', 'line1_line2.txt'],
    ['cr\r.txt', 'cr_.txt'],
    ['tab\there', 'tab_here'],
    ['bell\u0007', 'bell_'],
    ['del\u007f.txt', 'del_.txt'],
    ['csi\u009b31m.txt', 'csi_31m.txt'],
    ['osc\u001b]0;title\u0007.txt', 'osc_]0;title_.txt'],
    ['zero\u200bwidth.txt', 'zero_width.txt'],
    ['lrm\u200e.txt', 'lrm_.txt'],
    ['isolate\u2066x\u2069.txt', 'isolate_x_.txt'],
    ['bom\ufeff.txt', 'bom_.txt'],
    ['soft\u00adhyphen', 'soft_hyphen'],
    ['sep\u2028x', 'sep_x'],
    ['lone\ud800surrogate', 'lone_surrogate'],
  ];

  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      const parts = safeRelativePath(input);
      assert.deepEqual(parts, [expected]);
      assert.doesNotMatch(parts.join('/'), FORBIDDEN);
    });
  }

  it('neutralises every component of a nested path', () => {
    const parts = safeRelativePath('\u001b[1mdir\u001b[0m/sub\u202e/file\n.txt');
    assert.deepEqual(parts, ['_[1mdir_[0m', 'sub_', 'file_.txt']);
  });

  it('leaves no C0, C1 or bidi control in any name', () => {
    for (let code = 0; code <= 0x9f; code++) {
      if (code >= 0x20 && code < 0x7f) continue;
      const parts = safeRelativePath(`x${String.fromCharCode(code)}y`);
      assert.deepEqual(parts, ['x_y'], `U+${code.toString(16).padStart(4, '0')}`);
    }
    for (let code = 0x202a; code <= 0x202e; code++) {
      assert.deepEqual(safeRelativePath(`x${String.fromCharCode(code)}y`), ['x_y']);
    }
  });

  it('neutralises a trailing dot or space (Windows drops them)', () => {
    assert.deepEqual(safeRelativePath('name.'), ['name_']);
    assert.deepEqual(safeRelativePath('name '), ['name_']);
    assert.deepEqual(safeRelativePath('dir./file '), ['dir_', 'file_']);
    assert.deepEqual(safeRelativePath('...'), ['.._']);
    assert.equal(neutraliseComponent('a. '), 'a._');
    assert.equal(neutraliseComponent(' lead'), ' lead');
  });

  it('prefixes Windows device names with _ (any case, with or without an extension)', () => {
    const cases: Array<[string, string]> = [
      ['CON', '_CON'],
      ['con', '_con'],
      ['nul.txt', '_nul.txt'],
      ['NUL.tar.gz', '_NUL.tar.gz'],
      ['com1.log', '_com1.log'],
      ['COM9', '_COM9'],
      ['LPT9', '_LPT9'],
      ['lpt1.txt', '_lpt1.txt'],
      ['PRN', '_PRN'],
      ['aux.c', '_aux.c'],
      ['CONIN$', '_CONIN$'],
      ['conout$.txt', '_conout$.txt'],
      ['com¹', '_com¹'],
    ];
    for (const [input, expected] of cases) {
      assert.deepEqual(safeRelativePath(input), [expected], input);
      assert.deepEqual(safeRelativePath(`dir/${input}`), ['dir', expected], `dir/${input}`);
    }
    // A device name with a trailing dot is both: 'nul.' → 'nul_'? No: the dot becomes '_' first.
    assert.deepEqual(safeRelativePath('CON.'), ['CON_']);
    // Names that merely start like a device are left alone.
    for (const name of ['console.log', 'context', 'nully', 'com10', 'lpt', 'auxiliary.txt', 'prn2', 'com']) {
      assert.deepEqual(safeRelativePath(name), [name], name);
    }
  });
});

describe('validateOffer', () => {
  it('returns the safe entries in offer order', () => {
    const entries = validateOffer([
      { path: 'b.txt', size: 2 },
      { path: 'photos/x\u001b.jpg', size: 10 },
      { path: 'photos/sub/y.jpg', size: 0 },
      { path: 'CON', size: 1 },
    ]);
    assert.deepEqual(entries, [
      { parts: ['b.txt'], size: 2 },
      { parts: ['photos', 'x_.jpg'], size: 10 },
      { parts: ['photos', 'sub', 'y.jpg'], size: 0 },
      { parts: ['_CON'], size: 1 },
    ]);
    assert.deepEqual(validateOffer([]), []);
  });

  it('refuses any unsafe path in the offer', () => {
    throwsCode(() => validateOffer([{ path: 'ok.txt', size: 1 }, { path: '../escape', size: 1 }]), 'ERR_FILE_UNSAFE_NAME');
    throwsCode(() => validateOffer([{ path: '/etc/shadow', size: 1 }]), 'ERR_FILE_UNSAFE_NAME');
  });

  it('refuses a path listed twice, including by case only', () => {
    for (const [a, b] of [
      ['a.txt', 'a.txt'],
      ['dir/x', 'dir/x'],
      ['README.md', 'readme.md'],
      ['Dir/File.TXT', 'dir/file.txt'],
    ] as const) {
      const err = throwsCode(() => validateOffer([{ path: a, size: 1 }, { path: 'other', size: 1 }, { path: b, size: 2 }]), 'ERR_FILE_UNSAFE_NAME');
      assert.match(err.message, /listed twice/);
    }
  });

  it('refuses two names that become the same once neutralised', () => {
    const err = throwsCode(() => validateOffer([{ path: 'a\u0000b', size: 1 }, { path: 'a\u0001b', size: 1 }]), 'ERR_FILE_UNSAFE_NAME');
    assert.match(err.message, /listed twice/);
    throwsCode(() => validateOffer([{ path: 'a_b', size: 1 }, { path: 'a\nb', size: 1 }]), 'ERR_FILE_UNSAFE_NAME');
  });

  it('refuses a file that is also the directory of another file, in either order', () => {
    for (const files of [
      [{ path: 'x', size: 1 }, { path: 'x/y', size: 1 }],
      [{ path: 'x/y', size: 1 }, { path: 'x', size: 1 }],
      [{ path: 'a/b/c', size: 1 }, { path: 'a/b', size: 1 }],
      [{ path: 'a/b', size: 1 }, { path: 'A/B/c', size: 1 }],
    ]) {
      throwsCode(() => validateOffer(files), 'ERR_FILE_UNSAFE_NAME');
    }
  });

  it('accepts siblings and shared directories', () => {
    const entries = validateOffer([
      { path: 'dir/a', size: 1 },
      { path: 'dir/b', size: 1 },
      { path: 'dir/sub/a', size: 1 },
      { path: 'dir2/a', size: 1 },
      { path: 'a', size: 1 },
    ]);
    assert.equal(entries.length, 5);
  });
});

describe('unsafeName', () => {
  it('is an ERR_FILE_UNSAFE_NAME naming the path and the reason', () => {
    const err = unsafeName('some/path', 'because');
    assert.equal(err.code, 'ERR_FILE_UNSAFE_NAME');
    assert.equal(err.message, 'refused the offered name "some/path": because');
  });
});

describe('numberedName', () => {
  const cases: Array<[string, number, string]> = [
    ['trip.tar', 1, 'trip (1).tar'],
    ['archive.tar.gz', 2, 'archive (2).tar.gz'],
    ['backup.TAR.XZ', 3, 'backup (3).TAR.XZ'],
    ['data.tar.zst', 1, 'data (1).tar.zst'],
    ['.bashrc', 1, '.bashrc (1)'],
    ['README', 1, 'README (1)'],
    ['photos', 1, 'photos (1)'],
    ['a.txt', 1, 'a (1).txt'],
    ['a.txt', 12, 'a (12).txt'],
    ['my.file.name.pdf', 1, 'my.file.name (1).pdf'],
    ['.config.json', 1, '.config (1).json'],
    ['日本語.txt', 1, '日本語 (1).txt'],
  ];
  for (const [name, n, expected] of cases) {
    it(`${name} (${n}) → ${expected}`, () => {
      assert.equal(numberedName(name, n), expected);
    });
  }

  it('gives distinct names for distinct n', () => {
    const names = new Set(Array.from({ length: 50 }, (_, i) => numberedName('x.tar.gz', i + 1)));
    assert.equal(names.size, 50);
    assert.ok(!names.has('x.tar.gz'));
  });
});
