// The relay's first-bytes classifier: control, data and strangers, fed whole, split at every byte
// boundary, and with what follows the hello in the same chunk.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionSniffer, type SniffResult } from '../../../src/relay/connection-sniffer.js';
import { DATA_HELLO_LENGTH, encodeDataHello } from '../../../src/wire/data-preamble.js';
import { PREAMBLE } from '../../../src/wire/preamble.js';
import { throwsCode } from '../../helpers/assert-code.js';

const TOKEN = 'ab'.repeat(32);

/** Feed `stream` in two pieces split at `at`; the decision, or the error thrown. */
function sniffSplit(stream: Buffer, at: number): SniffResult {
  const sniffer = new ConnectionSniffer();
  const first = sniffer.push(stream.subarray(0, at));
  if (first.kind !== 'pending') return first;
  return sniffer.push(stream.subarray(at));
}

describe('ConnectionSniffer', () => {
  it('knows a control connection by the p2p-chat preamble and hands back every byte', () => {
    const stream = Buffer.concat([PREAMBLE, Buffer.from([0x00, 0x20, 0xaa])]);
    const result = new ConnectionSniffer().push(stream);
    assert.equal(result.kind, 'control');
    assert.ok(result.kind === 'control' && result.head.equals(stream));
  });

  it('knows a data connection by its hello and returns the token and what followed', () => {
    const stream = Buffer.concat([encodeDataHello(TOKEN), PREAMBLE]);
    const result = new ConnectionSniffer().push(stream);
    assert.deepEqual(result, { kind: 'data', token: TOKEN, rest: PREAMBLE });
  });

  it('decides the same way wherever the first chunk ends', () => {
    const control = Buffer.concat([PREAMBLE, Buffer.from('frames')]);
    for (let at = 0; at <= control.length; at++) {
      const result = sniffSplit(control, at);
      assert.equal(result.kind, 'control', `split ${at}`);
      const head = result.kind === 'control' ? result.head : Buffer.alloc(0);
      // A split after the preamble decides on the first chunk: the rest is still the stream's to read.
      const expected = at >= PREAMBLE.length ? control.subarray(0, at) : control;
      assert.ok(head.equals(expected), `split ${at}`);
    }
    const data = Buffer.concat([encodeDataHello(TOKEN), Buffer.from('after')]);
    for (let at = 0; at <= data.length; at++) {
      const result = sniffSplit(data, at);
      assert.equal(result.kind, 'data', `split ${at}`);
      if (result.kind !== 'data') continue;
      assert.equal(result.token, TOKEN, `split ${at}`);
      const expectedRest = at >= DATA_HELLO_LENGTH ? data.subarray(DATA_HELLO_LENGTH, at) : data.subarray(DATA_HELLO_LENGTH);
      assert.ok(result.rest.equals(expectedRest), `split ${at}`);
    }
  });

  it('keeps its own copy of what it has seen: a stream lends each chunk for its event only', () => {
    const control = Buffer.concat([PREAMBLE, Buffer.from('frames')]);
    const sniffer = new ConnectionSniffer();
    const lent = Buffer.alloc(control.length);
    control.copy(lent, 0, 0, 3);
    assert.equal(sniffer.push(lent.subarray(0, 3)).kind, 'pending');
    lent.fill(0xee); // the stream reads its next bytes into the same buffer
    control.copy(lent, 0, 3);
    const result = sniffer.push(lent.subarray(0, control.length - 3));
    lent.fill(0xee);
    assert.ok(result.kind === 'control' && result.head.equals(control), 'the head is the bytes that came, not what later filled the buffer');
  });

  it('decides fed one byte at a time', () => {
    const sniffer = new ConnectionSniffer();
    const hello = encodeDataHello(TOKEN);
    for (let i = 0; i < hello.length - 1; i++) assert.equal(sniffer.push(hello.subarray(i, i + 1)).kind, 'pending');
    assert.equal(sniffer.push(hello.subarray(hello.length - 1)).kind, 'data');
  });

  it('turns away a stranger at its first wrong byte, saying what it looks like', () => {
    const http = throwsCode(() => new ConnectionSniffer().push(Buffer.from('GET / HTTP/1.1\r\n')), 'ERR_NOT_P2P_CHAT');
    assert.match(http.message, /an HTTP request/);
    throwsCode(() => new ConnectionSniffer().push(Buffer.from([0x16, 0x03, 0x01])), 'ERR_NOT_P2P_CHAT');
    // "P2PX": right for three bytes, wrong at the fourth, whichever way it was split.
    const near = Buffer.from('P2PXYZ');
    for (let at = 0; at <= near.length; at++) {
      throwsCode(() => sniffSplit(near, at), 'ERR_NOT_P2P_CHAT');
    }
  });

  it('refuses a data connection of another protocol version', () => {
    const hello = encodeDataHello(TOKEN);
    hello[7] = 2;
    const err = throwsCode(() => new ConnectionSniffer().push(hello), 'ERR_VERSION_MISMATCH');
    assert.match(err.message, /version 2/);
  });

  it('leaves a control connection of another version to the Noise layer, which answers with ours', () => {
    const other = Buffer.from(PREAMBLE);
    other[7] = 9;
    assert.equal(new ConnectionSniffer().push(other).kind, 'control');
  });

  it('holds no more than the hello while undecided, and describes what it saw', () => {
    const sniffer = new ConnectionSniffer();
    sniffer.push(encodeDataHello(TOKEN).subarray(0, 20));
    assert.equal(sniffer.bufferedBytes, 20);
    assert.equal(new ConnectionSniffer().describe(), 'nothing at all');
  });
});
