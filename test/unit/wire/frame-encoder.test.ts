// Frame serializer: exact bytes on the wire, the size limits, and agreement with the decoder.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FRAME_HEADER_SIZE, MAX_FRAME_PAYLOAD } from '../../../src/wire/frame-encoder.js';
import { FrameDecoder } from '../../../src/wire/frame-decoder.js';
import { P2PChatError } from '../../../src/errors.js';

describe('encodeFrame', () => {
  it('prefixes the payload with its length, big-endian', () => {
    assert.equal(encodeFrame(Buffer.from('hi')).toString('hex'), '00026869');
    assert.equal(encodeFrame(Buffer.alloc(0x0102, 0xaa)).subarray(0, 3).toString('hex'), '0102aa');
  });

  it('accepts a plain Uint8Array and returns a Buffer', () => {
    const frame = encodeFrame(new Uint8Array([1, 2, 3]));
    assert.ok(Buffer.isBuffer(frame));
    assert.equal(frame.toString('hex'), '0003010203');
  });

  it('does not alias the payload', () => {
    const payload = Buffer.from('abc');
    const frame = encodeFrame(payload);
    payload[0] = 0x7a;
    assert.equal(frame.subarray(FRAME_HEADER_SIZE).toString(), 'abc');
  });

  it('encodes a payload of exactly MAX_FRAME_PAYLOAD bytes', () => {
    assert.equal(MAX_FRAME_PAYLOAD, 65535);
    const frame = encodeFrame(Buffer.alloc(MAX_FRAME_PAYLOAD, 7));
    assert.equal(frame.length, MAX_FRAME_PAYLOAD + 2);
    assert.equal(frame.readUInt16BE(0), 0xffff);
    assert.equal(frame.at(-1), 7);
  });

  it('rejects a payload over 65535 bytes with ERR_FRAME_TOO_LARGE', () => {
    assert.throws(
      () => encodeFrame(Buffer.alloc(MAX_FRAME_PAYLOAD + 1)),
      (err: unknown) => P2PChatError.is(err, 'ERR_FRAME_TOO_LARGE') && /65536-byte/.test(err.message),
    );
  });

  it('enforces a tighter optional limit', () => {
    assert.equal(encodeFrame(Buffer.alloc(100), 100).length, 102);
    assert.throws(() => encodeFrame(Buffer.alloc(101), 100), (err: unknown) =>
      P2PChatError.is(err, 'ERR_FRAME_TOO_LARGE'),
    );
  });

  it('cannot be talked into a limit above what the length prefix can express', () => {
    assert.throws(() => encodeFrame(Buffer.alloc(70000), 100000), (err: unknown) =>
      P2PChatError.is(err, 'ERR_FRAME_TOO_LARGE'),
    );
  });

  it('refuses an empty payload, which the decoder would reject', () => {
    assert.throws(() => encodeFrame(new Uint8Array(0)), (err: unknown) =>
      P2PChatError.is(err, 'ERR_BAD_MESSAGE'),
    );
  });

  it('round-trips through FrameDecoder', () => {
    const payloads = [Buffer.from('a'), Buffer.alloc(1000, 3), Buffer.alloc(MAX_FRAME_PAYLOAD, 9)];
    const frames = new FrameDecoder().push(Buffer.concat(payloads.map((p) => encodeFrame(p))));
    assert.equal(frames.length, payloads.length);
    frames.forEach((f, i) => assert.ok(f.equals(payloads[i]!), `frame ${i}`));
  });
});
