// Frame parser fed raw bytes: every split point, byte-at-a-time, limits, failure latching, and a
// seeded fuzz that re-chunks random streams.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder } from '../../../src/wire/frame-decoder.js';
import { encodeFrame } from '../../../src/wire/frame-encoder.js';
import { P2PChatError, type ErrorCode } from '../../../src/errors.js';

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A payload whose bytes depend on its index, so misordered or shifted frames are noticed. */
function payload(size: number, tag: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + tag * 7) & 0xff;
  return b;
}

function assertFrames(actual: Buffer[], expected: Buffer[], context: string): void {
  assert.equal(actual.length, expected.length, `${context}: frame count`);
  for (let i = 0; i < expected.length; i++) {
    // Buffer.equals rather than deepEqual: this runs tens of thousands of times on 64 KiB frames.
    assert.ok(actual[i]!.equals(expected[i]!), `${context}: frame ${i} differs`);
  }
}

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => P2PChatError.is(err, code));
}

const PAYLOADS = [payload(1, 0), payload(5, 1), payload(65535, 2), payload(300, 3), payload(2, 4)];
const STREAM = Buffer.concat(PAYLOADS.map((p) => encodeFrame(p)));

describe('FrameDecoder', () => {
  it('decodes a frame from raw hex', () => {
    const frames = new FrameDecoder().push(Buffer.from('000368690a', 'hex'));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.toString(), 'hi\n');
  });

  it('decodes a multi-frame stream split at every byte boundary, incl. a 65535-byte frame', () => {
    for (let split = 0; split <= STREAM.length; split++) {
      const decoder = new FrameDecoder();
      const frames = [
        ...decoder.push(STREAM.subarray(0, split)),
        ...decoder.push(STREAM.subarray(split)),
      ];
      assertFrames(frames, PAYLOADS, `split at ${split}`);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it('decodes the stream fed one byte at a time, counting buffered bytes', () => {
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    let pending = 0;
    for (let i = 0; i < STREAM.length; i++) {
      const out = decoder.push(STREAM.subarray(i, i + 1));
      pending = out.length > 0 ? 0 : pending + 1;
      assert.equal(decoder.bufferedBytes, pending, `after byte ${i}`);
      frames.push(...out);
    }
    assertFrames(frames, PAYLOADS, 'byte at a time');
  });

  it('returns many frames from one chunk', () => {
    const payloads = Array.from({ length: 10000 }, (_, i) => payload(1 + (i % 7), i));
    const frames = new FrameDecoder().push(Buffer.concat(payloads.map((p) => encodeFrame(p))));
    assertFrames(frames, payloads, 'one chunk');
  });

  it('returns a frame that arrives whole as a view of the chunk, without copying', () => {
    const chunk = encodeFrame(Buffer.from('zero-copy'));
    const [frame] = new FrameDecoder().push(chunk);
    assert.equal(frame!.buffer, chunk.buffer);
    assert.equal(frame!.byteOffset, chunk.byteOffset + 2);
  });

  it('keeps no reference to a chunk after push returns, so the caller may reuse it', () => {
    const frame = encodeFrame(Buffer.from('abcdef'));
    const decoder = new FrameDecoder();
    const scratch = Buffer.alloc(4);
    frame.copy(scratch, 0, 0, 4); // length prefix + "ab"
    assert.deepEqual(decoder.push(scratch), []);
    scratch.fill(0x21); // caller reuses its read buffer
    const [out] = decoder.push(frame.subarray(4));
    assert.equal(out!.toString(), 'abcdef');
  });

  it('keeps no reference to a lone length byte either', () => {
    const frame = encodeFrame(Buffer.alloc(258, 1)); // prefix 01 02
    const decoder = new FrameDecoder();
    const scratch = Buffer.from(frame.subarray(0, 1));
    decoder.push(scratch);
    scratch[0] = 0xff;
    const frames = decoder.push(frame.subarray(1));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.length, 258);
  });

  it('accepts a plain Uint8Array view and returns Buffers', () => {
    const backing = new Uint8Array([9, 9, 0, 2, 0x6f, 0x6b, 9]);
    const frames = new FrameDecoder().push(backing.subarray(2, 6));
    assert.equal(frames.length, 1);
    assert.ok(Buffer.isBuffer(frames[0]));
    assert.equal(frames[0]!.toString(), 'ok');
  });

  it('ignores empty chunks', () => {
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(new Uint8Array(0)), []);
    decoder.push(Buffer.from([0]));
    assert.deepEqual(decoder.push(new Uint8Array(0)), []);
    assert.equal(decoder.bufferedBytes, 1);
    assert.equal(decoder.push(Buffer.from([1, 0x41]))[0]!.toString(), 'A');
  });

  it('rejects an oversize length as soon as the prefix arrives, before buffering the payload', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 1000 });
    assert.equal(decoder.push(encodeFrame(Buffer.alloc(1000))).length, 1);
    assert.throws(
      () => decoder.push(Buffer.from([0x03, 0xe9])), // 1001
      (err: unknown) =>
        P2PChatError.is(err, 'ERR_FRAME_TOO_LARGE') && /1001/.test(err.message) && /1000/.test(err.message),
    );
  });

  it('rejects an oversize length whose prefix is split across chunks', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 255 });
    decoder.push(Buffer.from([0x01]));
    throwsCode(() => decoder.push(Buffer.from([0x00])), 'ERR_FRAME_TOO_LARGE');
  });

  it('rejects a zero-length frame with ERR_BAD_MESSAGE', () => {
    throwsCode(() => new FrameDecoder().push(Buffer.from([0, 0])), 'ERR_BAD_MESSAGE');
    const split = new FrameDecoder();
    split.push(Buffer.from([0]));
    throwsCode(() => split.push(Buffer.from([0])), 'ERR_BAD_MESSAGE');
  });

  it('rejects a bad frame that follows good ones in the same chunk', () => {
    const chunk = Buffer.concat([encodeFrame(Buffer.from('ok')), Buffer.from([0, 0])]);
    throwsCode(() => new FrameDecoder().push(chunk), 'ERR_BAD_MESSAGE');
  });

  it('stays failed: every later push throws the same code, even with valid data', () => {
    const tooBig = new FrameDecoder({ maxFrameSize: 10 });
    throwsCode(() => tooBig.push(Buffer.from([0, 11])), 'ERR_FRAME_TOO_LARGE');
    throwsCode(() => tooBig.push(encodeFrame(Buffer.from('fine'))), 'ERR_FRAME_TOO_LARGE');
    throwsCode(() => tooBig.push(new Uint8Array(0)), 'ERR_FRAME_TOO_LARGE');

    const empty = new FrameDecoder();
    throwsCode(() => empty.push(Buffer.from([0, 0])), 'ERR_BAD_MESSAGE');
    throwsCode(() => empty.push(encodeFrame(Buffer.from('fine'))), 'ERR_BAD_MESSAGE');
  });

  it('validates maxFrameSize', () => {
    for (const bad of [0, -1, 1.5, 65536, Number.NaN]) {
      assert.throws(() => new FrameDecoder({ maxFrameSize: bad }), RangeError, String(bad));
    }
    assert.doesNotThrow(() => new FrameDecoder({ maxFrameSize: 65535 }));
    assert.doesNotThrow(() => new FrameDecoder({ maxFrameSize: 1 }));
  });

  it('fuzz: random frames re-chunked at random boundaries decode to the same frames', () => {
    const random = prng(0x5eed);
    for (let round = 0; round < 300; round++) {
      const count = 1 + Math.floor(random() * 20);
      const payloads = Array.from({ length: count }, (_, i) => {
        // Mostly small frames, with an occasional one up to the maximum.
        const size = random() < 0.1 ? 1 + Math.floor(random() * 65535) : 1 + Math.floor(random() * 64);
        return payload(size, round * 100 + i);
      });
      const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
      const decoder = new FrameDecoder();
      const frames: Buffer[] = [];
      let offset = 0;
      while (offset < stream.length) {
        const size = random() < 0.5 ? Math.floor(random() * 4) : Math.floor(random() * 5000);
        // Copy each chunk into a fresh buffer and scribble over it afterwards, like a reused read buffer.
        const chunk = Buffer.from(stream.subarray(offset, offset + size));
        frames.push(...decoder.push(chunk).map((f) => Buffer.from(f)));
        chunk.fill(0xee);
        offset += size;
      }
      assertFrames(frames, payloads, `round ${round}`);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });
});
