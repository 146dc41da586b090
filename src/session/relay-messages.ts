// The control protocol between a peer and a relay (rendezvous) server, inside the same Noise
// channel as a chat: register, look up, ask for a relayed session, be invited to one. Type codes
// 0x20-0x2f; requests carry a request id `rid` that the answer echoes.

import { codecTable, codesOf, json, type JsonObject, type MessageOf } from './message-codec.js';
import {
  addressList,
  bad,
  fingerprintField,
  limitedString,
  optionalLimitedString,
  peerRef,
  portField,
  requireString,
  TEXT_LIMITS,
} from './message-fields.js';

/** The relay's goodbye to every registered peer when it stops. */
export const RELAY_SHUTDOWN_REASON = 'relay shutting down';
/** The relay's goodbye to an older control connection when the same key registers again. */
export const REPLACED_REASON = 'replaced by a newer registration of the same key';

/** How many addresses a peer may register; more are dropped. */
export const MAX_REGISTERED_ADDRESSES = 8;
/** Most lookup results returned at once. */
export const MAX_LOOKUP_RESULTS = 16;

/** What the relay knows of a registered peer. */
export interface RelayRecord {
  readonly name: string;
  readonly fingerprint: string;
  /** host:port the relay sees the peer's control connection come from (its public address). */
  readonly observed: string;
  /** The port the peer listens on for direct connections (0 = not listening). */
  readonly port: number;
  /** The UDP port it listens on too, when it does (register's optional `udp`). */
  readonly udp?: number;
  /** The peer's own (LAN) addresses. */
  readonly addresses: readonly string[];
}

/** The longest relay address (`host:port`): a DNS name of 253 characters and a port. */
export const MAX_RELAY_ADDRESS = 260;
/** `host:port`, the host a DNS name, an IPv4 literal or an IPv6 literal in brackets; the port 1-65535. */
const RELAY_ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([1-9][0-9]{0,4})$/;

/** Whether `text` is a relay address a `session` may name (and a cluster relay may publish). */
export function isRelayAddress(text: string): boolean {
  const port = RELAY_ADDRESS.exec(text)?.[1];
  return text.length <= MAX_RELAY_ADDRESS && port !== undefined && Number(port) <= 65535;
}

/** A one-time session token: 32 random bytes, hex. */
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The feature a relay lists when it carries a session's first flight over control sessions (the
 * dialler's first bytes in `invite`, the invited peer's in `answer`), and an invited peer lists
 * when it takes them: a relayed connect then costs no wait for the data connections.
 */
export const EARLY_FLIGHT_FEATURE = 'early';
/**
 * The feature a client lists when it opens a session's data connection where `session.relay` says:
 * a relay of a cluster passes on its dials for peers registered on the other relays.
 */
export const CLUSTER_FEATURE = 'cluster';
/** The most bytes of a first flight either way (a preamble and one handshake message: ~300). */
export const MAX_EARLY_FLIGHT_BYTES = 1024;

export const RELAY_CODECS = codecTable({
  /** peer → relay: here I am (my key is proven by the handshake). */
  register: json(0x20, register),
  /** relay → peer: registered; the address the relay sees us at. */
  registered: json(0x21, (body) => ({ rid: rid(body), observed: limitedString(body.observed, 'registered.observed', TEXT_LIMITS.address) })),
  /** peer → relay: who matches this fingerprint, prefix or nickname? */
  lookup: json(0x22, (body) => ({ rid: rid(body), query: limitedString(body.query, 'lookup.query', TEXT_LIMITS.query) })),
  /** relay → peer: the registered peers that match. */
  'lookup-result': json(0x23, (body) => ({ rid: rid(body), peers: records(body.peers) })),
  /** peer → relay: open a relayed session to this fingerprint. */
  dial: json(0x24, (body) => ({ rid: rid(body), fingerprint: fingerprintField(body.fingerprint, 'dial.fingerprint'), ...early(body.early, 'dial.early') })),
  /** relay → dialling peer: present this token on a data connection; and where the relay sees us. */
  session: json(0x25, (body) => ({
    rid: rid(body),
    token: token(body.token),
    peer: readRelayRecord(body.peer),
    ...observedField(body.observed),
    ...relayField(body.relay),
  })),
  /** relay → dialled peer: someone wants a session; present this token. */
  invite: json(0x26, (body) => ({ token: token(body.token), from: peerRef(body.from), ...early(body.early, 'invite.early') })),
  /** relay → peer: a request failed. */
  'relay-error': json(0x27, relayError),
  /** invited peer → relay: what I send first on that session (the answer to the invite's `early`). */
  answer: json(0x28, (body) => ({ token: token(body.token), early: early(body.early, 'answer.early', true).early! })),
});
// Codes 0x29-0x2f are left for later relay messages; a peer that does not know one ignores it.

export type RelayMessage = MessageOf<typeof RELAY_CODECS>;

export const RELAY_MESSAGE_TYPES = codesOf(RELAY_CODECS);

/** A request id, echoed by the answer; a missing or odd one reads as 0. */
function rid(body: JsonObject): number {
  return typeof body.rid === 'number' && Number.isInteger(body.rid) ? body.rid : 0;
}

function register(body: JsonObject): { rid: number; name: string; port: number; udp?: number; addresses: readonly string[] } {
  return {
    rid: rid(body),
    name: limitedString(body.name, 'register.name', TEXT_LIMITS.nickname),
    port: portField(body.port, 'register.port'),
    ...udpField(body.udp),
    addresses: addressList(body.addresses, MAX_REGISTERED_ADDRESSES),
  };
}

/** The optional UDP port: 1-65535, else (absent, 0, of another type) no UDP. */
function udpField(value: unknown): { udp?: number } {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? { udp: value } : {};
}

/** `session`'s optional `observed` (an older relay leaves it out): cut as `registered.observed` is; not a string reads as absent. */
function observedField(value: unknown): { observed?: string } {
  const observed = optionalLimitedString(value, TEXT_LIMITS.address);
  return observed === undefined ? {} : { observed };
}

/**
 * `session`'s optional `relay`: the relay of a cluster that holds the session, when it is not the
 * one asked (the dialled peer is registered there). Present and malformed ends the connection.
 */
function relayField(value: unknown): { relay?: string } {
  if (value === undefined) return {};
  const text = requireString(value, 'session.relay');
  if (!isRelayAddress(text)) throw bad(`session.relay is not host:port of at most ${MAX_RELAY_ADDRESS} characters`);
  return { relay: text };
}

function relayError(body: JsonObject): { rid: number; code: string; message: string } {
  return {
    rid: rid(body),
    code: limitedString(body.code, 'relay-error.code', TEXT_LIMITS.code),
    message: optionalLimitedString(body.message, TEXT_LIMITS.message) ?? '',
  };
}

function records(value: unknown): readonly RelayRecord[] {
  return Array.isArray(value) ? value.slice(0, MAX_LOOKUP_RESULTS).map(readRelayRecord) : [];
}

/**
 * A first flight: lower-case hex of 1 to MAX_EARLY_FLIGHT_BYTES bytes. Absent is fine unless
 * `required`; anything else present is malformed.
 */
export function early(value: unknown, field: string, required = false): { early?: string } {
  if (value === undefined && !required) return {};
  const text = requireString(value, field);
  if (text.length === 0 || text.length % 2 !== 0 || text.length > 2 * MAX_EARLY_FLIGHT_BYTES || !/^[0-9a-f]+$/.test(text)) {
    throw bad(`${field} is not 1 to ${MAX_EARLY_FLIGHT_BYTES} bytes of lower-case hex`);
  }
  return { early: text };
}

export function token(value: unknown): string {
  const text = requireString(value, 'token');
  if (!TOKEN_PATTERN.test(text)) throw bad('token is malformed');
  return text;
}

/** A peer record as a relay sends it, checked field by field (ERR_BAD_MESSAGE when it is not one). */
export function readRelayRecord(value: unknown): RelayRecord {
  if (typeof value !== 'object' || value === null) throw bad('peer record missing');
  const v = value as Record<string, unknown>;
  return {
    name: limitedString(v.name, 'record.name', TEXT_LIMITS.nickname),
    fingerprint: fingerprintField(v.fingerprint, 'record.fingerprint'),
    observed: limitedString(v.observed, 'record.observed', TEXT_LIMITS.address),
    port: portField(v.port, 'record.port'),
    ...udpField(v.udp),
    addresses: addressList(v.addresses, MAX_REGISTERED_ADDRESSES),
  };
}
