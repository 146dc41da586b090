// P2PChatError.from, the one conversion of anything thrown into a coded error: every errno in the
// words table reads as its words behind the caller's code and context, in one line without a
// stack; anything else keeps its message; a coded error passes through as it is.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERRNO_WORDS, errnoCode } from '../../src/errno-words.js';
import { chatError, ERROR_CODES, P2PChatError, type ErrorCode } from '../../src/errors.js';

/** An error as Node's fs and net make them: the errno in `code`, and a message with the call. */
function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: what libuv says, read`), { code, errno: -5, syscall: 'read' });
}

function assertOneLine(err: P2PChatError): void {
  assert.doesNotMatch(err.message, /\n/);
  assert.doesNotMatch(err.message, /\bat .*:\d+:\d+/, 'no stack frame');
}

describe('P2PChatError.from', () => {
  it('gives every errno in the table its words, behind the fallback code and the context', () => {
    const codes = Object.keys(ERRNO_WORDS);
    assert.ok(codes.length >= 30);
    for (const code of codes) {
      const cause = errno(code);
      const err = P2PChatError.from(cause, 'ERR_FILE_UNREADABLE', 'cannot send a.bin');
      assert.ok(err instanceof P2PChatError, code);
      assert.equal(err.code, 'ERR_FILE_UNREADABLE', code);
      assert.equal(err.message, `cannot send a.bin: ${ERRNO_WORDS[code]}`, code);
      assert.equal(err.cause, cause, code);
      assertOneLine(err);
      assert.equal(P2PChatError.from(cause, 'ERR_CONNECT_FAILED').message, ERRNO_WORDS[code], `${code} without context`);
    }
  });

  it('words each errno plainly, without the errno itself; the socket words read as they always did', () => {
    // The file words are pinned where they are used (download-dir, file-list, file-transfer tests).
    const socketWords = [
      ['ECONNREFUSED', 'connection refused'], ['ECONNRESET', 'connection reset by peer'], ['EPIPE', 'connection closed by peer'],
      ['ETIMEDOUT', 'timed out'], ['EHOSTUNREACH', 'host unreachable'], ['ENETUNREACH', 'network unreachable'], ['ENOTFOUND', 'unknown host'],
    ] as const;
    for (const [code, words] of socketWords) assert.equal(ERRNO_WORDS[code], words, code);
    for (const [code, words] of Object.entries(ERRNO_WORDS)) assert.ok(!words.includes(code) && !words.includes('\n'), code);
    assert.ok(Object.isFrozen(ERRNO_WORDS));
  });

  it("keeps an unknown errno's message (first line only, never the stack)", () => {
    const cause = Object.assign(new Error('EWEIRD: something odd, read\n    at read (node:fs:1:1)'), { code: 'EWEIRD' });
    const err = P2PChatError.from(cause, 'ERR_FILE_WRITE', 'cannot write /x');
    assert.equal(err.code, 'ERR_FILE_WRITE');
    assert.equal(err.message, 'cannot write /x: EWEIRD: something odd, read');
    assert.equal(err.cause, cause);
    assertOneLine(err);
  });

  it('turns values that are not Errors into text, and finds the errno of a plain object', () => {
    assert.equal(P2PChatError.from('weird', 'ERR_RELAY_UNREACHABLE', 'cannot reach relay r').message, 'cannot reach relay r: weird');
    assert.equal(P2PChatError.from(42, 'ERR_BAD_MESSAGE').message, '42');
    assert.equal(P2PChatError.from(undefined, 'ERR_BAD_MESSAGE', 'x').message, 'x: undefined');
    assert.equal(P2PChatError.from({ code: 'EIO' }, 'ERR_FILE_UNREADABLE').message, ERRNO_WORDS.EIO);
    assert.equal(P2PChatError.from(new Error(''), 'ERR_BAD_MESSAGE').message, 'Error', 'an empty message names the error');
  });

  it('passes a P2PChatError through untouched, code and message', () => {
    const original = chatError('ERR_FILE_CHANGED', 'a.bin changed while it was being sent');
    assert.equal(P2PChatError.from(original, 'ERR_FILE_UNREADABLE', 'cannot send a.bin'), original);
    assert.equal(original.code, 'ERR_FILE_CHANGED');
    assert.equal(original.message, 'a.bin changed while it was being sent');
  });

  it('only ever gives documented codes', () => {
    for (const fallback of Object.keys(ERROR_CODES) as ErrorCode[]) {
      for (const thrown of [errno('EIO'), errno('EWEIRD'), 'text', chatError('ERR_FILE_WRITE', 'x')]) {
        assert.ok(P2PChatError.from(thrown, fallback).code in ERROR_CODES);
      }
    }
  });
});

describe('errnoCode', () => {
  it('reads a string code, and nothing from anything else', () => {
    assert.equal(errnoCode(errno('EEXIST')), 'EEXIST');
    assert.equal(errnoCode({ code: 7 }), undefined);
    assert.equal(errnoCode(null), undefined);
    assert.equal(errnoCode('ENOENT'), undefined);
  });
});
