// Connection preamble: exact bytes, every split point, early rejection of strangers with a useful
// description, version mismatch, and the bytes that follow the preamble.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeStranger,
  PREAMBLE,
  PreambleReader,
  PROTOCOL_VERSION,
  strangerSaid,
} from '../../../src/wire/preamble.js';
import { P2PChatError, type ErrorCode } from '../../../src/errors.js';

function rejects(chunks: Uint8Array[], code: ErrorCode, message: RegExp): void {
  const reader = new PreambleReader();
  assert.throws(
    () => {
      for (const chunk of chunks) reader.push(chunk);
    },
    (err: unknown) => P2PChatError.is(err, code) && message.test(err.message),
  );
}

describe('PREAMBLE', () => {
  it('is ASCII "P2PCHAT" followed by the protocol version byte', () => {
    assert.equal(PROTOCOL_VERSION, 1);
    assert.equal(PREAMBLE.toString('hex'), '5032504348415401');
    assert.equal(PREAMBLE.subarray(0, 7).toString('ascii'), 'P2PCHAT');
  });
});

describe('PreambleReader', () => {
  it('accepts the whole preamble in one chunk, with nothing after it', () => {
    const result = new PreambleReader().push(PREAMBLE);
    assert.deepEqual(result, { done: true, version: 1, rest: Buffer.alloc(0) });
  });

  it('hands back the bytes that follow the preamble in the same chunk', () => {
    const result = new PreambleReader().push(Buffer.concat([PREAMBLE, Buffer.from('0002hi')]));
    assert.ok(result.done);
    assert.equal(result.rest.toString(), '0002hi');
  });

  it('accepts the preamble plus data split at every byte boundary', () => {
    const stream = Buffer.concat([PREAMBLE, Buffer.from('after')]);
    for (let split = 0; split <= stream.length; split++) {
      const reader = new PreambleReader();
      const first = reader.push(stream.subarray(0, split));
      let rest: Buffer;
      if (first.done) {
        assert.ok(split >= PREAMBLE.length, `done too early at ${split}`);
        rest = Buffer.concat([first.rest, stream.subarray(split)]);
      } else {
        assert.ok(split < PREAMBLE.length, `not done at ${split}`);
        const second = reader.push(stream.subarray(split));
        assert.ok(second.done, `split ${split}`);
        assert.equal(second.version, PROTOCOL_VERSION);
        rest = second.rest;
      }
      assert.equal(rest.toString(), 'after', `split ${split}`);
    }
  });

  it('accepts the preamble one byte at a time', () => {
    const reader = new PreambleReader();
    for (let i = 0; i < PREAMBLE.length - 1; i++) {
      assert.deepEqual(reader.push(PREAMBLE.subarray(i, i + 1)), { done: false });
    }
    const last = reader.push(PREAMBLE.subarray(-1));
    assert.ok(last.done);
    assert.equal(last.rest.length, 0);
  });

  it('accepts a plain Uint8Array', () => {
    const result = new PreambleReader().push(new Uint8Array([...PREAMBLE, 0x41]));
    assert.ok(result.done);
    assert.ok(Buffer.isBuffer(result.rest));
    assert.equal(result.rest.toString(), 'A');
  });

  it('rejects someone typing "hello" at the first byte, without waiting for 8', () => {
    rejects([Buffer.from('h')], 'ERR_NOT_P2P_CHAT', /plain text/);
    rejects([Buffer.from('hello\n')], 'ERR_NOT_P2P_CHAT', /looks like plain text/);
  });

  it('rejects at the first wrong byte after a matching start', () => {
    const reader = new PreambleReader();
    assert.deepEqual(reader.push(Buffer.from('P2P')), { done: false });
    assert.throws(() => reader.push(Buffer.from('x')), (err: unknown) =>
      P2PChatError.is(err, 'ERR_NOT_P2P_CHAT'),
    );
  });

  it('describes an HTTP request, including methods that share a first letter with the magic', () => {
    rejects([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], 'ERR_NOT_P2P_CHAT', /an HTTP request/);
    rejects([Buffer.from('POST /api HTTP/1.1\r\n')], 'ERR_NOT_P2P_CHAT', /an HTTP request/);
    // "P" matched the magic in an earlier chunk; it still counts towards the description.
    rejects([Buffer.from('P'), Buffer.from('UT /x HTTP/1.1\r\n')], 'ERR_NOT_P2P_CHAT', /an HTTP request/);
  });

  it('quotes the status line of a web server that answered our preamble', () => {
    const answer = 'HTTP/1.0 400 Bad request version\r\nServer: SimpleHTTP/0.6\r\n\r\n<html>...';
    rejects([Buffer.from(answer)], 'ERR_NOT_P2P_CHAT', /\(it answered HTTP: "HTTP\/1\.0 400 Bad request version"\)$/);
  });

  it('describes a TLS handshake', () => {
    const clientHello = Buffer.from('160301020001', 'hex');
    rejects([clientHello], 'ERR_NOT_P2P_CHAT', /a TLS handshake/);
  });

  it("describes an SSH greeting (a client's or a server's)", () => {
    rejects([Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')], 'ERR_NOT_P2P_CHAT', /an SSH greeting/);
  });

  it('describes binary data', () => {
    rejects([Buffer.from([0x00, 0xff, 0x10, 0x80])], 'ERR_NOT_P2P_CHAT', /binary data/);
  });

  it('rejects another protocol version, naming both versions', () => {
    const v2 = Buffer.from('P2PCHAT\x02', 'latin1');
    rejects([v2], 'ERR_VERSION_MISMATCH', /version 2.*version 1/);
    rejects([v2.subarray(0, 7), v2.subarray(7)], 'ERR_VERSION_MISMATCH', /version 2.*version 1/);
    rejects([Buffer.from('P2PCHAT\x00', 'latin1')], 'ERR_VERSION_MISMATCH', /version 0/);
  });

  it('stays failed once it has rejected', () => {
    const stranger = new PreambleReader();
    assert.throws(() => stranger.push(Buffer.from('hello')));
    assert.throws(() => stranger.push(PREAMBLE), (err: unknown) => P2PChatError.is(err, 'ERR_NOT_P2P_CHAT'));

    const old = new PreambleReader();
    assert.throws(() => old.push(Buffer.from('P2PCHAT\x09', 'latin1')));
    assert.throws(() => old.push(PREAMBLE), (err: unknown) => P2PChatError.is(err, 'ERR_VERSION_MISMATCH'));
  });

  it('refuses to be fed after it has finished, since those bytes belong to the frame decoder', () => {
    const reader = new PreambleReader();
    assert.ok(reader.push(PREAMBLE).done);
    assert.throws(() => reader.push(Buffer.from([0, 1, 2])), /after the preamble/);
  });
});

describe('describeStranger', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['GET', Buffer.from('GET /index.html HTTP/1.0\r\n'), 'an HTTP request'],
    ['HEAD', Buffer.from('HEAD / HTTP/1.1\r\n'), 'an HTTP request'],
    ['OPTIONS', Buffer.from('OPTIONS * HTTP/1.1\r\n'), 'an HTTP request'],
    ['CONNECT', Buffer.from('CONNECT example.com:443 HTTP/1.1\r\n'), 'an HTTP request'],
    ['HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'an HTTP request'],
    ['HTTP/1.1 response', Buffer.from('HTTP/1.1 400 Bad Request\r\n'), 'an HTTP response'],
    ['HTTP/2 status', Buffer.from('HTTP/2 200\r\n'), 'an HTTP response'],
    ['a word like HTTP', Buffer.from('HTTPS is down\n'), 'plain text'],
    ['TLS 1.2 record', Buffer.from('1603030100', 'hex'), 'a TLS handshake'],
    ['SSH banner', Buffer.from('SSH-2.0-PuTTY\r\n'), 'an SSH greeting'],
    ['ASCII', Buffer.from('hello there\r\n'), 'plain text'],
    ['word that is not a method', Buffer.from('GETAWAY'), 'plain text'],
    ['UTF-8', Buffer.from('héllo wörld 你好 👋'), 'plain text'],
    ['UTF-8 cut mid-character', Buffer.from('café').subarray(0, 4), 'plain text'],
    ['tab-separated', Buffer.from('a\tb\n'), 'plain text'],
    ['NUL bytes', Buffer.from([0, 0, 0, 0]), 'binary data'],
    ['invalid UTF-8', Buffer.from([0x68, 0xff, 0x68]), 'binary data'],
    ['escape sequence', Buffer.from('\x1b[31mred'), 'binary data'],
    ['lone 0x16', Buffer.from([0x16]), 'binary data'],
    ['empty', new Uint8Array(0), 'nothing at all'],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(describeStranger(bytes), expected);
    });
  }
});

describe('strangerSaid', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['a status line', Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), 'it answered HTTP: "HTTP/1.1 404 Not Found"'],
    ['a bare LF', Buffer.from('HTTP/1.0 200 OK\nbody'), 'it answered HTTP: "HTTP/1.0 200 OK"'],
    ['a status line cut short', Buffer.from('HTTP/1.1 40'), 'it answered HTTP: "HTTP/1.1 40"'],
    ['escapes and non-ASCII dropped', Buffer.from('HTTP/1.1 200 \x1b[2Jcafé\x07\r\n'), 'it answered HTTP: "HTTP/1.1 200 [2Jcaf"'],
    ['a long reason cut', Buffer.from(`HTTP/1.1 200 ${'x'.repeat(100)}\r\n`), `it answered HTTP: "HTTP/1.1 200 ${'x'.repeat(47)}"`],
    ['a request', Buffer.from('GET / HTTP/1.1\r\n'), 'it sent what looks like an HTTP request'],
    ['nothing', new Uint8Array(0), 'it sent what looks like nothing at all'],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(strangerSaid(bytes), expected);
    });
  }
});
