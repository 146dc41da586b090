// What each side tells the other inside the encrypted Noise handshake payloads: nickname, protocol
// version and feature list. Decoding never trusts the peer: unknown fields are dropped, sizes bounded.

import { chatError } from '../errors.js';
import { PROTOCOL_VERSION } from '../wire/preamble.js';
import { cutUtf8 } from '../wire/utf8-cut.js';

export const PROTOCOL_NAME = 'p2p-chat';
export { PROTOCOL_VERSION };
/**
 * Features this build speaks; a peer without "files" cannot be sent files, one without "ik" is
 * never sent an IK message 1.
 */
export const FEATURES: readonly string[] = Object.freeze(['chat', 'presence', 'files', 'acks', 'ik']);
/**
 * Listed by a peer that offers AES-256-GCM for the transport (cipher-offer.ts decides). When both
 * payloads list it, the transport messages use AESGCM instead of ChaChaPoly (secure-channel.ts).
 */
export const AESGCM_FEATURE = 'aesgcm';
/** The Noise prologue binds the protocol name and version, so a downgrade breaks the handshake. */
export const NOISE_PROLOGUE = Buffer.from(`${PROTOCOL_NAME}/${PROTOCOL_VERSION}`, 'utf8');

export const MAX_PAYLOAD_BYTES = 4096;
/** A peer's nickname, here or in any later message, is cut to this many bytes (32 characters of 4). */
export const MAX_NICKNAME_BYTES = 128;
export const MAX_FEATURES = 32;

export interface PeerInfo {
  readonly name: string;
  readonly version: number;
  readonly features: readonly string[];
}

export function encodePeerInfo(info: PeerInfo): Buffer {
  return Buffer.from(JSON.stringify({ name: info.name, v: info.version, features: info.features }), 'utf8');
}

/** The most a message 1 may carry of the first session message (a `conversation` is ~90 bytes). */
export const MAX_EARLY_BYTES = 512;

/**
 * Noise IK message 1's payload: our handshake payload and the first session message, so that the
 * responder can act on it before a round trip: a 2-byte big-endian length, the payload's JSON,
 * then the session message's plaintext.
 */
export function encodeEarlyPayload(info: PeerInfo, early: Uint8Array): Buffer {
  const json = encodePeerInfo(info);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(json.length);
  return Buffer.concat([length, json, early]);
}

export function decodeEarlyPayload(bytes: Buffer): { info: PeerInfo; early: Buffer } {
  const bad = (why: string) => chatError('ERR_HANDSHAKE_FAILED', `peer sent a bad message 1 payload: ${why}`);
  if (bytes.length < 2) throw bad('too short');
  const end = 2 + bytes.readUInt16BE(0);
  if (end > bytes.length) throw bad('its handshake payload runs past its end');
  const early = bytes.subarray(end);
  if (early.length === 0) throw bad('no session message');
  if (early.length > MAX_EARLY_BYTES) throw bad(`a session message of ${early.length} bytes (at most ${MAX_EARLY_BYTES})`);
  return { info: decodePeerInfo(bytes.subarray(2, end)), early };
}

export function decodePeerInfo(bytes: Uint8Array): PeerInfo {
  const bad = (why: string) => chatError('ERR_HANDSHAKE_FAILED', `peer sent a bad handshake payload: ${why}`);
  if (bytes.length > MAX_PAYLOAD_BYTES) throw bad('too large');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const { name, v, features } = raw as Record<string, unknown>;
  if (typeof name !== 'string') throw bad('no nickname');
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('no version');
  return { name: cutUtf8(name, MAX_NICKNAME_BYTES), version: v, features: featureList(features) };
}

/**
 * A `features` value as its receiver reads it: strings of at most 32 characters, the first
 * MAX_FEATURES of them. A sender that bases a choice on its own list reads it this way too, so
 * that both ends see the same two lists.
 */
export function featureList(features: unknown): string[] {
  return Array.isArray(features)
    ? features.filter((f): f is string => typeof f === 'string' && f.length <= 32).slice(0, MAX_FEATURES)
    : [];
}
