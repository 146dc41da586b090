// Frame parser: fed raw bytes from the socket in whatever pieces TCP delivers, hands back whole
// frame payloads. It never holds on to a caller's chunk (a stream lends it only for its 'data'
// event): a frame that arrives whole is returned as a view of that chunk, valid as long as the
// chunk is, and a frame split across chunks is copied into one buffer of its own size.

import { chatError, P2PChatError } from '../errors.js';
import { FRAME_HEADER_SIZE, MAX_FRAME_PAYLOAD } from './frame-encoder.js';

export interface FrameDecoderOptions {
  /**
   * Largest payload accepted; a larger length prefix fails the stream with ERR_FRAME_TOO_LARGE
   * before anything is allocated. Default and ceiling: MAX_FRAME_PAYLOAD (65535).
   */
  maxFrameSize?: number;
}

export class FrameDecoder {
  readonly #maxFrameSize: number;
  /** First byte of a length prefix that was split across chunks, or -1. */
  #headerByte = -1;
  /** The frame being assembled while its payload spans chunks; sized exactly from its prefix. */
  #partial: Buffer | null = null;
  #filled = 0;
  /** A stream that went wrong once cannot be resynchronised: frame boundaries are lost. */
  #failure: P2PChatError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameSize ?? MAX_FRAME_PAYLOAD;
    if (!Number.isInteger(max) || max < 1 || max > MAX_FRAME_PAYLOAD) {
      throw new RangeError(`maxFrameSize must be an integer from 1 to ${MAX_FRAME_PAYLOAD}, got ${max}`);
    }
    this.#maxFrameSize = max;
  }

  /** Bytes received that belong to a frame not yet complete, its length prefix included. */
  get bufferedBytes(): number {
    if (this.#partial !== null) return FRAME_HEADER_SIZE + this.#filled;
    return this.#headerByte >= 0 ? 1 : 0;
  }

  /**
   * Consume `chunk` and return every payload it completes, in order. Returned views of `chunk`
   * stay valid only as long as the caller leaves that memory alone: a stream's lent chunk, only
   * during its 'data' event (the caller decrypts them there, into buffers of their own).
   * Throws ERR_FRAME_TOO_LARGE or ERR_BAD_MESSAGE, and keeps throwing the same error afterwards;
   * frames completed earlier in the failing chunk are dropped along with the connection.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.#failure !== null) throw this.#failure;
    const input = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      return this.#consume(input);
    } catch (err) {
      if (err instanceof P2PChatError) this.#failure = err;
      throw err;
    }
  }

  #consume(input: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    while (offset < input.length) {
      if (this.#partial !== null) {
        const partial = this.#partial;
        const n = Math.min(partial.length - this.#filled, input.length - offset);
        input.copy(partial, this.#filled, offset, offset + n);
        this.#filled += n;
        offset += n;
        if (this.#filled === partial.length) {
          frames.push(partial);
          this.#partial = null;
          this.#filled = 0;
        }
        continue;
      }

      let length: number;
      if (this.#headerByte >= 0) {
        length = (this.#headerByte << 8) | input.readUInt8(offset);
        this.#headerByte = -1;
        offset += 1;
      } else if (input.length - offset >= FRAME_HEADER_SIZE) {
        length = input.readUInt16BE(offset);
        offset += FRAME_HEADER_SIZE;
      } else {
        this.#headerByte = input.readUInt8(offset);
        offset += 1;
        break;
      }
      this.#checkLength(length);

      const available = input.length - offset;
      if (available >= length) {
        frames.push(input.subarray(offset, offset + length));
        offset += length;
      } else {
        this.#partial = Buffer.allocUnsafe(length);
        input.copy(this.#partial, 0, offset);
        this.#filled = available;
        offset = input.length;
      }
    }
    return frames;
  }

  #checkLength(length: number): void {
    if (length > this.#maxFrameSize) {
      throw chatError(
        'ERR_FRAME_TOO_LARGE',
        `the peer sent a ${length}-byte frame; the limit is ${this.#maxFrameSize} bytes`,
      );
    }
    if (length === 0) {
      throw chatError('ERR_BAD_MESSAGE', 'the peer sent an empty frame');
    }
  }
}
