// Moving a relayed conversation to a direct path, type codes 0x30-0x3f, between peers that both
// list the feature `upgrade`. Over the relayed session, the dialler offers where it may be reached
// (the endpoints the relay saw, its own addresses), the listener answers with its own, and the
// dialler says when to start: both then open the NAT mappings the other aims at, in step (in the
// spirit of libp2p's DCUtR). What a peer offers is a claim: only IP literals are taken (never a
// name to resolve), at most MAX_PATH_CANDIDATES, and a path is believed only once it presents the
// same key in its own handshake.

import { isIpAddress } from '../net/address.js';
import { codecTable, codesOf, json, type JsonObject, type MessageOf } from './message-codec.js';
import { bad } from './message-fields.js';

/** The handshake feature of peers that take part in moving to a direct path. */
export const UPGRADE_FEATURE = 'upgrade';
/** Most candidates one offer carries; more are refused as malformed. */
export const MAX_PATH_CANDIDATES = 8;

/**
 * Where a peer may be reached directly:
 * - `udp`: a udx listener's socket (the endpoint the relay saw it at, or a local address), to dial;
 * - `tcp`: a TCP listener, to dial;
 * - `tcp-open`: the endpoint of the relay control connection's bound port, for a TCP simultaneous
 *   open (both sides dial each other at once from those ports).
 */
export type CandidateKind = 'udp' | 'tcp' | 'tcp-open';
const KINDS: ReadonlySet<string> = new Set<CandidateKind>(['udp', 'tcp', 'tcp-open']);

export interface PathCandidate {
  readonly kind: CandidateKind;
  readonly host: string;
  readonly port: number;
}

export const PATH_CODECS = codecTable({
  /** Each way once per attempt: where I may be reached; `attempt` numbers the dialler's attempts. */
  'path-offer': json(0x30, (body) => ({ attempt: attempt(body.attempt), candidates: candidates(body.candidates) })),
  /** dialler → listener: start now (the dialler starts half a measured round trip later). */
  'path-sync': json(0x31, (body) => ({ attempt: attempt(body.attempt) })),
});
// Codes 0x32-0x3f are left for later path messages.

export type PathMessage = MessageOf<typeof PATH_CODECS>;

export const PATH_MESSAGE_TYPES = codesOf(PATH_CODECS);

export function isPathMessage(message: { readonly type: string }): message is PathMessage {
  return message.type in PATH_CODECS;
}

function attempt(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 0xffff_ffff) throw bad('attempt is not a number from 1');
  return value;
}

function candidates(value: unknown): PathCandidate[] {
  if (!Array.isArray(value) || value.length > MAX_PATH_CANDIDATES) throw bad(`path-offer.candidates is not a list of at most ${MAX_PATH_CANDIDATES}`);
  return value.map(candidate);
}

function candidate(value: unknown): PathCandidate {
  if (typeof value !== 'object' || value === null) throw bad('a path candidate is not an object');
  const v = value as JsonObject;
  if (typeof v.kind !== 'string' || !KINDS.has(v.kind)) throw bad('a path candidate has an unknown kind');
  // Only an address literal: a name would make us resolve (and dial) whatever the peer likes.
  if (typeof v.host !== 'string' || v.host.length > 45 || !isIpAddress(v.host)) throw bad('a path candidate host is not an IP address');
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535) throw bad('a path candidate port is not 1-65535');
  return { kind: v.kind as CandidateKind, host: v.host, port: v.port };
}
