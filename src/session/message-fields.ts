// Field readers shared by the message decoders: every value from a peer is checked for type and
// shape before use, and a fingerprint must be a real one (it is shown and compared).

import { chatError } from '../errors.js';
import { normalizeFingerprint } from '../secure/fingerprint.js';

export interface PeerRef {
  readonly name: string;
  readonly fingerprint: string;
}

export function peerRef(value: unknown): PeerRef {
  if (typeof value !== 'object' || value === null) throw bad('peer reference missing');
  const v = value as Record<string, unknown>;
  return { name: requireString(v.name, 'peer.name').slice(0, 256), fingerprint: fingerprintField(v.fingerprint, 'peer.fingerprint') };
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw bad(`${field} is not a string`);
  return value;
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
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

/** A bounded list of strings (addresses and the like); other entries are dropped. */
export function stringList(value: unknown, max: number, maxLength = 64): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === 'string' && v.length <= maxLength).slice(0, max);
}
