// File-transfer messages: the type codes, a round trip of every type through the session codec,
// the binary file-data layout, refusal of malformed bodies with ERR_BAD_MESSAGE, and offer pages
// that always fit in one encrypted message.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PLAINTEXT } from '../../../src/secure/secure-channel.js';
import {
  FILE_DATA_HEADER_BYTES,
  FILE_MESSAGE_TYPES,
  isFileMessageType,
  MAX_OFFER_FILES,
  MAX_OFFER_PAGE_BYTES,
  MAX_RESUME_POINTS,
  offerPages,
  TRANSFER_ID_BYTES,
  writeFileDataHeader,
  type FileMessage,
  type OfferedFile,
} from '../../../src/session/file-messages.js';
import { RELAY_MESSAGE_TYPES } from '../../../src/session/relay-messages.js';
import { decodeMessage, encodeMessage, MESSAGE_TYPES } from '../../../src/session/session-messages.js';
import { throwsCode } from '../../helpers/assert-code.js';

const ID = '0123456789abcdef';
const SHA = 'ab'.repeat(32);

const EXAMPLES: readonly FileMessage[] = [
  { type: 'file-offer', id: ID, files: [{ path: 'a.txt', size: 12 }], more: false },
  {
    type: 'file-offer',
    id: ID,
    files: [
      { path: 'photos/2024/日本.jpg', size: 0 },
      { path: 'photos/emoji 😀.png', size: Number.MAX_SAFE_INTEGER },
    ],
    more: true,
  },
  { type: 'file-offer', id: ID, files: [], more: false },
  { type: 'file-accept', id: ID, resume: [] },
  { type: 'file-accept', id: ID, resume: [{ index: 0, have: 1024, sha256: SHA }, { index: 7, have: 1, sha256: 'f'.repeat(64) }] },
  { type: 'file-decline', id: ID, reason: 'declined' },
  { type: 'file-decline', id: ID, reason: '' },
  { type: 'file-start', id: ID, index: 0, offset: 0 },
  { type: 'file-start', id: ID, index: 3, offset: 5_000_000_000 },
  { type: 'file-data', id: ID, data: Buffer.from('hello, file') },
  { type: 'file-data', id: 'ffffffffffffffff', data: new Uint8Array(0) },
  { type: 'file-end', id: ID, index: 2, sha256: SHA },
  { type: 'file-ack', id: ID, bytes: 0 },
  { type: 'file-ack', id: ID, bytes: 123_456_789_012 },
  { type: 'file-verified', id: ID, index: 9, sha256: SHA },
  { type: 'file-resend', id: ID, index: 1, reason: 'SHA-256 mismatch' },
  { type: 'file-cancel', id: ID, reason: 'cancelled by alice' },
  { type: 'file-cancel', id: ID, reason: 'disk full', code: 'ERR_FILE_WRITE' },
];

/** A message as the type byte and a raw body. */
function raw(type: keyof typeof FILE_MESSAGE_TYPES, body: string): Buffer {
  return Buffer.concat([Buffer.of(FILE_MESSAGE_TYPES[type]), Buffer.from(body, 'utf8')]);
}

function json(type: keyof typeof FILE_MESSAGE_TYPES, body: unknown): Buffer {
  return raw(type, JSON.stringify(body));
}

/** Compare decoded messages, treating file-data bytes by content (decode gives a Buffer view). */
function normalised(message: unknown): unknown {
  const m = message as Record<string, unknown>;
  return m.type === 'file-data' ? { ...m, data: Buffer.from(m.data as Uint8Array) } : m;
}

describe('FILE_MESSAGE_TYPES', () => {
  it('assigns the documented codes 0x08-0x11, frozen', () => {
    assert.deepEqual({ ...FILE_MESSAGE_TYPES }, {
      'file-offer': 0x08,
      'file-accept': 0x09,
      'file-decline': 0x0a,
      'file-start': 0x0b,
      'file-data': 0x0c,
      'file-end': 0x0d,
      'file-ack': 0x0e,
      'file-verified': 0x0f,
      'file-resend': 0x10,
      'file-cancel': 0x11,
    });
    assert.ok(Object.isFrozen(FILE_MESSAGE_TYPES));
  });

  it('shares no code with the chat or relay messages', () => {
    const file = new Set<number>(Object.values(FILE_MESSAGE_TYPES));
    for (const code of [...Object.values(MESSAGE_TYPES), ...Object.values(RELAY_MESSAGE_TYPES)]) {
      assert.ok(!file.has(code), `code ${code} is used twice`);
    }
  });

  it('uses exactly the codes 0x08-0x11', () => {
    const file = new Set<number>(Object.values(FILE_MESSAGE_TYPES));
    for (let code = 0; code < 256; code++) {
      assert.equal(file.has(code), code >= 0x08 && code <= 0x11, `code 0x${code.toString(16)}`);
    }
  });

  it('isFileMessageType knows the file types and nothing else', () => {
    for (const type of Object.keys(FILE_MESSAGE_TYPES)) assert.equal(isFileMessageType(type), true, type);
    for (const type of ['chat', 'bye', 'nick', 'register', 'file', 'file-', 'FILE-OFFER', '']) {
      assert.equal(isFileMessageType(type), false, type);
    }
  });

  it('sizes: an 8-byte id, a 9-byte file-data header', () => {
    assert.equal(TRANSFER_ID_BYTES, 8);
    assert.equal(FILE_DATA_HEADER_BYTES, 9);
    assert.equal(MAX_PLAINTEXT, 65_519);
    assert.ok(MAX_OFFER_PAGE_BYTES < MAX_PLAINTEXT);
  });
});

describe('encodeMessage / decodeMessage of file messages', () => {
  it('round-trips every file message type', () => {
    const seen = new Set<string>();
    for (const message of EXAMPLES) {
      const bytes = encodeMessage(message);
      assert.equal(bytes[0], FILE_MESSAGE_TYPES[message.type], message.type);
      assert.deepEqual(normalised(decodeMessage(bytes)), normalised(message), message.type);
      seen.add(message.type);
    }
    assert.deepEqual([...seen].sort(), Object.keys(FILE_MESSAGE_TYPES).sort());
  });

  it('puts a JSON body without the type after the type byte for control messages', () => {
    const bytes = encodeMessage({ type: 'file-ack', id: ID, bytes: 42 });
    assert.equal(bytes[0], 0x0e);
    assert.deepEqual(JSON.parse(bytes.subarray(1).toString('utf8')), { id: ID, bytes: 42 });
  });

  it('decodes from a view into a larger buffer', () => {
    const inner = encodeMessage({ type: 'file-end', id: ID, index: 4, sha256: SHA });
    const outer = Buffer.concat([Buffer.from('junk-before'), inner, Buffer.from('{"junk":1}')]);
    const view = outer.subarray(11, 11 + inner.length);
    assert.deepEqual(decodeMessage(view), { type: 'file-end', id: ID, index: 4, sha256: SHA });

    const data = encodeMessage({ type: 'file-data', id: ID, data: Buffer.from('payload') });
    const padded = Buffer.concat([Buffer.from('xyz'), data, Buffer.from('tail')]);
    const decoded = decodeMessage(padded.subarray(3, 3 + data.length));
    assert.equal(decoded.type, 'file-data');
    if (decoded.type !== 'file-data') return;
    assert.equal(decoded.id, ID);
    assert.equal(Buffer.from(decoded.data).toString(), 'payload');
  });

  it('drops unknown fields', () => {
    assert.deepEqual(decodeMessage(json('file-verified', { id: ID, index: 1, sha256: SHA, extra: 'x', nested: { a: 1 } })), {
      type: 'file-verified',
      id: ID,
      index: 1,
      sha256: SHA,
    });
    assert.deepEqual(
      decodeMessage(json('file-offer', { id: ID, files: [{ path: 'a', size: 1, mode: 0o777 }], more: false, total: 5 })),
      { type: 'file-offer', id: ID, files: [{ path: 'a', size: 1 }], more: false },
    );
  });

  it('reads loose fields leniently: more only when exactly true, missing resume as none, missing reason as empty', () => {
    for (const more of [undefined, 1, 'true', null, false]) {
      const decoded = decodeMessage(json('file-offer', { id: ID, files: [], more }));
      assert.equal(decoded.type === 'file-offer' && decoded.more, false, String(more));
    }
    assert.deepEqual(decodeMessage(json('file-accept', { id: ID })), { type: 'file-accept', id: ID, resume: [] });
    assert.deepEqual(decodeMessage(json('file-decline', { id: ID })), { type: 'file-decline', id: ID, reason: '' });
    assert.deepEqual(decodeMessage(json('file-decline', { id: ID, reason: 7 })), { type: 'file-decline', id: ID, reason: '' });
    assert.deepEqual(decodeMessage(json('file-resend', { id: ID, index: 0 })), { type: 'file-resend', id: ID, index: 0, reason: '' });
    assert.deepEqual(decodeMessage(json('file-cancel', { id: ID })), { type: 'file-cancel', id: ID, reason: '' });
  });

  it('caps a reason at 256 characters', () => {
    const long = 'r'.repeat(1000);
    for (const type of ['file-decline', 'file-cancel'] as const) {
      const decoded = decodeMessage(json(type, { id: ID, reason: long })) as { reason: string };
      assert.equal(decoded.reason, 'r'.repeat(256), type);
    }
    const resend = decodeMessage(json('file-resend', { id: ID, index: 0, reason: long })) as { reason: string };
    assert.equal(resend.reason.length, 256);
  });

  it('keeps the code of a file-cancel only when it looks like ERR_*', () => {
    const codeOf = (code: unknown): string | undefined => {
      const decoded = decodeMessage(json('file-cancel', { id: ID, reason: 'x', code }));
      assert.equal(decoded.type, 'file-cancel');
      return decoded.type === 'file-cancel' ? decoded.code : undefined;
    };
    for (const code of ['ERR_FILE_WRITE', 'ERR_FILE_CANCELLED', 'ERR_X', 'ERR_FILE_CORRUPT']) assert.equal(codeOf(code), code);
    for (const code of [
      'err_file_write',
      'ERR_',
      'ERR_FILE1',
      'XERR_FILE',
      'ERR_FILE WRITE',
      'ERR_FILE_WRITE\n',
      '\u001b[31mERR_X',
      'ERR_' + 'A'.repeat(41),
      '',
      42,
      null,
      ['ERR_X'],
    ]) {
      assert.equal(codeOf(code), undefined, JSON.stringify(code));
    }
    // And without a code the property is absent, not undefined.
    const decoded = decodeMessage(json('file-cancel', { id: ID, reason: 'x', code: 'nope' }));
    assert.ok(!('code' in decoded));
  });
});

describe('file-data binary layout', () => {
  it('is the type byte 0x0c, the 8-byte id, then the raw data', () => {
    const data = Buffer.from([0, 1, 2, 0xff, 0x7b, 0x22]); // includes bytes that look like JSON
    const bytes = encodeMessage({ type: 'file-data', id: 'deadbeef00c0ffee', data });
    assert.equal(bytes.length, 1 + 8 + data.length);
    assert.equal(bytes[0], 0x0c);
    assert.equal(bytes.toString('hex', 1, 9), 'deadbeef00c0ffee');
    assert.deepEqual(bytes.subarray(9), data);
  });

  it('carries a chunk as large as fits in one encrypted message', () => {
    const data = Buffer.alloc(MAX_PLAINTEXT - FILE_DATA_HEADER_BYTES);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const bytes = encodeMessage({ type: 'file-data', id: ID, data });
    assert.equal(bytes.length, MAX_PLAINTEXT);
    const decoded = decodeMessage(bytes);
    assert.ok(decoded.type === 'file-data');
    assert.ok(Buffer.from(decoded.data).equals(data));
  });

  it('writeFileDataHeader frames a chunk in place, without copying it', () => {
    const chunk = Buffer.from('chunk read from disk');
    const message = Buffer.alloc(FILE_DATA_HEADER_BYTES + chunk.length, 0xaa);
    chunk.copy(message, FILE_DATA_HEADER_BYTES);
    const out = writeFileDataHeader(message, '00112233445566ff');
    assert.equal(out, message, 'returns the same buffer');
    assert.equal(message[0], 0x0c);
    assert.equal(message.toString('hex', 1, 9), '00112233445566ff');
    assert.deepEqual(message.subarray(FILE_DATA_HEADER_BYTES), chunk, 'the chunk is untouched');
    assert.deepEqual(message, encodeMessage({ type: 'file-data', id: '00112233445566ff', data: chunk }));
    const decoded = decodeMessage(message);
    assert.ok(decoded.type === 'file-data');
    assert.equal(decoded.id, '00112233445566ff');
    assert.equal(Buffer.from(decoded.data).toString(), 'chunk read from disk');
  });

  it('refuses a file-data shorter than its header', () => {
    for (let length = 1; length < FILE_DATA_HEADER_BYTES; length++) {
      const bytes = Buffer.alloc(length, 0x11);
      bytes[0] = 0x0c;
      throwsCode(() => decodeMessage(bytes), 'ERR_BAD_MESSAGE');
    }
    // Exactly the header: an empty chunk, accepted.
    const header = Buffer.concat([Buffer.of(0x0c), Buffer.from(ID, 'hex')]);
    const decoded = decodeMessage(header);
    assert.ok(decoded.type === 'file-data');
    assert.equal(decoded.data.length, 0);
    assert.equal(decoded.id, ID);
  });
});

describe('decodeMessage rejects malformed file messages with ERR_BAD_MESSAGE', () => {
  it('reads a code outside 0x08-0x11 as no file message', () => {
    const chat = Buffer.concat([Buffer.of(0x01), Buffer.from('{"id":"a","time":1,"text":"t"}')]);
    assert.equal(isFileMessageType(decodeMessage(chat).type), false);
    assert.deepEqual(decodeMessage(Buffer.from([0x1f, 0x7b, 0x7d])), { type: 'unknown', code: 0x1f });
  });

  it('a body that is missing, not JSON, or not a JSON object', () => {
    for (const type of Object.keys(FILE_MESSAGE_TYPES) as (keyof typeof FILE_MESSAGE_TYPES)[]) {
      if (type === 'file-data') continue;
      for (const body of ['', '{', 'not json', '[]', '[1,2]', 'null', '42', '"text"', 'true']) {
        throwsCode(() => decodeMessage(raw(type, body)), 'ERR_BAD_MESSAGE');
      }
      throwsCode(() => decodeMessage(Buffer.concat([Buffer.of(FILE_MESSAGE_TYPES[type]), Buffer.from([0xff, 0xfe])])), 'ERR_BAD_MESSAGE');
    }
  });

  it('a transfer id that is not 16 lower-case hex digits', () => {
    for (const id of [undefined, null, 42, '', '0123456789abcde', '0123456789abcdef0', '0123456789ABCDEF', '0123456789abcdeg', ' 0123456789abcdef', '0123456789abcdef\n', ['0123456789abcdef']]) {
      throwsCode(() => decodeMessage(json('file-ack', { id, bytes: 1 })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-decline', { id, reason: 'x' })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-offer', { id, files: [], more: false })), 'ERR_BAD_MESSAGE');
    }
  });

  it('counts (index, offset, bytes, size, have) that are negative, fractional, unsafe or not numbers', () => {
    const bad: unknown[] = [-1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, '5', null, undefined, true, [1], 1e400];
    for (const n of bad) {
      throwsCode(() => decodeMessage(json('file-start', { id: ID, index: n, offset: 0 })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-start', { id: ID, index: 0, offset: n })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-end', { id: ID, index: n, sha256: SHA })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-ack', { id: ID, bytes: n })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-verified', { id: ID, index: n, sha256: SHA })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-resend', { id: ID, index: n, reason: 'x' })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-offer', { id: ID, files: [{ path: 'a', size: n }] })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-accept', { id: ID, resume: [{ index: n, have: 1, sha256: SHA }] })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-accept', { id: ID, resume: [{ index: 0, have: n, sha256: SHA }] })), 'ERR_BAD_MESSAGE');
    }
    // The largest safe integer is still a count.
    assert.deepEqual(decodeMessage(json('file-ack', { id: ID, bytes: Number.MAX_SAFE_INTEGER })), {
      type: 'file-ack',
      id: ID,
      bytes: Number.MAX_SAFE_INTEGER,
    });
  });

  it('a sha256 that is not 64 lower-case hex digits', () => {
    for (const sha256 of [undefined, 42, '', 'ab'.repeat(31), 'ab'.repeat(33), 'AB'.repeat(32), 'g'.repeat(64), `${'a'.repeat(63)}\n`, ['ab'.repeat(32)]]) {
      throwsCode(() => decodeMessage(json('file-end', { id: ID, index: 0, sha256 })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-verified', { id: ID, index: 0, sha256 })), 'ERR_BAD_MESSAGE');
      throwsCode(() => decodeMessage(json('file-accept', { id: ID, resume: [{ index: 0, have: 1, sha256 }] })), 'ERR_BAD_MESSAGE');
    }
  });

  it('an offer whose files are not a list of {path, size}', () => {
    for (const files of [undefined, null, 'a.txt', { path: 'a', size: 1 }, 5]) {
      throwsCode(() => decodeMessage(json('file-offer', { id: ID, files })), 'ERR_BAD_MESSAGE');
    }
    for (const file of [null, 'a.txt', 42, { size: 1 }, { path: 5, size: 1 }, { path: 'a' }, { path: 'x'.repeat(4097), size: 1 }]) {
      throwsCode(() => decodeMessage(json('file-offer', { id: ID, files: [{ path: 'ok', size: 1 }, file] })), 'ERR_BAD_MESSAGE');
    }
    // A path of exactly 4096 characters is still read (its safety is judged later, by file-names).
    const long = decodeMessage(json('file-offer', { id: ID, files: [{ path: 'x'.repeat(4096), size: 1 }] }));
    assert.ok(long.type === 'file-offer' && long.files[0]!.path.length === 4096);
  });

  it(`an offer of more than ${MAX_OFFER_FILES} files`, () => {
    const files = Array.from({ length: MAX_OFFER_FILES }, () => ({ path: 'a', size: 0 }));
    const atLimit = decodeMessage(json('file-offer', { id: ID, files }));
    assert.ok(atLimit.type === 'file-offer' && atLimit.files.length === MAX_OFFER_FILES);
    files.push({ path: 'a', size: 0 });
    throwsCode(() => decodeMessage(json('file-offer', { id: ID, files })), 'ERR_BAD_MESSAGE');
  });

  it('an accept whose resume is not a list of resume points, or has too many', () => {
    for (const resume of [null, 'all', { index: 0, have: 1, sha256: SHA }, 3]) {
      throwsCode(() => decodeMessage(json('file-accept', { id: ID, resume })), 'ERR_BAD_MESSAGE');
    }
    for (const point of [null, 'x', 7, { have: 1, sha256: SHA }, { index: 0, sha256: SHA }, { index: 0, have: 1 }]) {
      throwsCode(() => decodeMessage(json('file-accept', { id: ID, resume: [point] })), 'ERR_BAD_MESSAGE');
    }
    const points = Array.from({ length: MAX_RESUME_POINTS }, (_, index) => ({ index, have: 1, sha256: SHA }));
    const atLimit = decodeMessage(json('file-accept', { id: ID, resume: points }));
    assert.ok(atLimit.type === 'file-accept' && atLimit.resume.length === MAX_RESUME_POINTS);
    points.push({ index: MAX_RESUME_POINTS, have: 1, sha256: SHA });
    throwsCode(() => decodeMessage(json('file-accept', { id: ID, resume: points })), 'ERR_BAD_MESSAGE');
  });
});

describe('offerPages', () => {
  /** 5,000 files with long, multi-byte names: about 1.5 MB of JSON, far over one message. */
  function manyFiles(): OfferedFile[] {
    return Array.from({ length: 5000 }, (_, i) => ({
      path: `a fairly deep/directory tree/with long names ✓ é 日本/${String(i).padStart(5, '0')} ${'ž'.repeat(100)} \u001b.bin`,
      size: i * 1_000_003,
    }));
  }

  it('splits a large list into pages that each encode under the message limit', () => {
    const files = manyFiles();
    const pages = offerPages(ID, files);
    assert.ok(pages.length > 10, `expected many pages, got ${pages.length}`);
    const joined: OfferedFile[] = [];
    pages.forEach((page, i) => {
      assert.equal(page.type, 'file-offer');
      if (page.type !== 'file-offer') return;
      assert.equal(page.id, ID);
      assert.equal(page.more, i < pages.length - 1, `page ${i} of ${pages.length}: more`);
      assert.ok(page.files.length > 0, `page ${i} is empty`);
      const bytes = encodeMessage(page);
      assert.ok(bytes.length <= MAX_PLAINTEXT, `page ${i} encodes to ${bytes.length} bytes`);
      assert.ok(bytes.length < 65_519);
      // Each page round-trips on its own.
      assert.deepEqual(decodeMessage(bytes), page);
      joined.push(...page.files);
    });
    assert.deepEqual(joined, files, 'the pages together are the whole list, in order');
  });

  it('fills pages (a page is cut only when the next file would not fit)', () => {
    const files = manyFiles();
    const pages = offerPages(ID, files) as Extract<FileMessage, { type: 'file-offer' }>[];
    for (let i = 0; i < pages.length - 1; i++) {
      const page = pages[i]!;
      const next = pages[i + 1]!.files[0]!;
      const withNext = encodeMessage({ ...page, files: [...page.files, next] });
      assert.ok(withNext.length > MAX_OFFER_PAGE_BYTES, `page ${i} could have held one more file`);
    }
  });

  it('puts a small list in a single page with more=false', () => {
    const files = [{ path: 'a.txt', size: 1 }, { path: 'b/c.txt', size: 2 }];
    assert.deepEqual(offerPages(ID, files), [{ type: 'file-offer', id: ID, files, more: false }]);
  });

  it('gives an empty list one empty, final page', () => {
    assert.deepEqual(offerPages(ID, []), [{ type: 'file-offer', id: ID, files: [], more: false }]);
  });

  it('counts bytes, not characters, and escaped control characters at their escaped length', () => {
    // 4-byte characters: 12,000 characters of emoji = 48,000 bytes of UTF-8 per ~4 files.
    const wide = Array.from({ length: 40 }, (_, i) => ({ path: `${i} ${'😀'.repeat(1000)}`, size: i }));
    // Control characters are six bytes each once JSON-escaped.
    const escaped = Array.from({ length: 40 }, (_, i) => ({ path: `${i} ${'\u0001'.repeat(2000)}`, size: i }));
    for (const files of [wide, escaped]) {
      const pages = offerPages(ID, files);
      assert.ok(pages.length > 1);
      for (const page of pages) assert.ok(encodeMessage(page).length <= MAX_PLAINTEXT);
      assert.deepEqual(pages.flatMap((p) => (p.type === 'file-offer' ? p.files : [])), files);
    }
  });
});

describe('file-messages hardening (review findings)', () => {
  it('isFileMessageType is false for names inherited from Object.prototype', () => {
    for (const type of ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf']) {
      assert.equal(isFileMessageType(type), false, type);
    }
  });

  it('encodeMessage refuses a file-data id that is not 16 hex digits instead of sending uninitialised bytes', () => {
    for (const id of ['xyz', '0123456789abcde', '']) {
      assert.throws(() => encodeMessage({ type: 'file-data', id, data: Buffer.alloc(16) }), id);
    }
  });
});
