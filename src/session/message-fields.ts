// Field readers shared by the message decoders: every value from a peer is checked for type and
// shape before use, every string is held to a byte limit, and a fingerprint must be a real one
// (it is shown and compared).

import { chatError } from '../errors.js';
import { normalizeFingerprint } from '../secure/fingerprint.js';
import { MAX_NICKNAME_BYTES } from '../secure/handshake-payload.js';
import { cutUtf8 } from '../wire/utf8-cut.js';

/**
 * The most UTF-8 bytes of each kind of string a peer sends (README, Protocol, lists where each
 * applies). A longer chat text or file path is refused; anything else is cut at a character
 * boundary, which a long nickname or reason survives unharmed. With every string held to these,
 * any message a host passes on fits in a frame (test/unit/session/message-limits.test.ts).
 */
export const TEXT_LIMITS = Object.freeze({
  /** A chat message (or action): what we send and what we accept. */
  text: 16 * 1024,
  id: 64,
  nickname: MAX_NICKNAME_BYTES,
  reason: 256,
  path: 4096,
  query: 128,
  address: 64,
  code: 64,
  message: 512,
});

export interface PeerRef {
  readonly name: string;
  readonly fingerprint: string;
}

export function peerRef(value: unknown): PeerRef {
  if (typeof value !== 'object' || value === null) throw bad('peer reference missing');
  const v = value as Record<string, unknown>;
  return { name: limitedString(v.name, 'peer.name', TEXT_LIMITS.nickname), fingerprint: fingerprintField(v.fingerprint, 'peer.fingerprint') };
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw bad(`${field} is not a string`);
  return value;
}

/** A string cut to `maxBytes` of UTF-8; anything but a string is malformed. */
export function limitedString(value: unknown, field: string, maxBytes: number): string {
  return cutUtf8(requireString(value, field), maxBytes);
}

/** An optional string cut to `maxBytes` of UTF-8; anything but a string reads as none. */
export function optionalLimitedString(value: unknown, maxBytes: number): string | undefined {
  return typeof value === 'string' ? cutUtf8(value, maxBytes) : undefined;
}

export function bad(why: string) {
  return chatError('ERR_BAD_MESSAGE', `peer sent a malformed message: ${why}`);
}

export function fingerprintField(value: unknown, field: string): string {
  try {
    return normalizeFingerprint(requireString(value, field));
  } catch {
    throw bad(`${field} is not a fingerprint`);
  }
}

export function portField(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw bad(`${field} is not a port`);
  return value;
}

/** What a host address (and port) is made of: IPv4, IPv6 with a zone, a host name. */
const ADDRESS = /^[\w.:%[\]-]+$/;

/**
 * A bounded list of addresses: at most `max`, each of address characters only (nothing that JSON
 * escapes) and at most TEXT_LIMITS.address bytes; other entries are dropped.
 */
export function addressList(value: unknown, max: number): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === 'string' && v.length <= TEXT_LIMITS.address && ADDRESS.test(v)).slice(0, max);
}
