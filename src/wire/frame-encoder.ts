// Frame serializer: every message on a p2p-chat connection (handshake and transport alike) travels
// as a 2-byte big-endian length followed by that many payload bytes. 65535 is also the Noise
// protocol's own message limit, so one frame always carries exactly one Noise message.

import { chatError } from '../errors.js';

/** Largest payload a frame can carry: what a 2-byte length can express, and the Noise limit. */
export const MAX_FRAME_PAYLOAD = 65535;

/** Bytes of length prefix in front of every payload. */
export const FRAME_HEADER_SIZE = 2;

/**
 * Prefix `payload` with its length. `maxPayload` lets a caller enforce a tighter limit than the
 * wire format's; it can never raise it above MAX_FRAME_PAYLOAD.
 */
export function encodeFrame(payload: Uint8Array, maxPayload: number = MAX_FRAME_PAYLOAD): Buffer {
  const limit = Math.min(maxPayload, MAX_FRAME_PAYLOAD);
  if (payload.length > limit) {
    throw chatError(
      'ERR_FRAME_TOO_LARGE',
      `cannot send a ${payload.length}-byte frame: the limit is ${limit} bytes`,
    );
  }
  // The decoder rejects empty frames, so producing one here would be our own bug, not the peer's.
  if (payload.length === 0) {
    throw chatError('ERR_BAD_MESSAGE', 'cannot send an empty frame');
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame.writeUInt16BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/** The length prefix alone, for a payload written after it in pieces (a vectored write). */
export function frameHeader(payloadLength: number): Buffer {
  if (payloadLength < 1 || payloadLength > MAX_FRAME_PAYLOAD) {
    throw chatError('ERR_FRAME_TOO_LARGE', `cannot send a ${payloadLength}-byte frame: the limit is ${MAX_FRAME_PAYLOAD} bytes`);
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  header.writeUInt16BE(payloadLength, 0);
  return header;
}
