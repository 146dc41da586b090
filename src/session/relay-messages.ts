// The control protocol between a peer and a relay (rendezvous) server, inside the same Noise
// channel as a chat: register, look up, ask for a relayed session, be invited to one. Type codes
// 0x20-0x2f; requests carry a request id `rid` that the answer echoes.

import { bad, fingerprintField, optionalString, peerRef, portField, requireString, stringList, type PeerRef } from './message-fields.js';

export const RELAY_MESSAGE_TYPES = Object.freeze({
  /** peer → relay: here I am (my key is proven by the handshake). */
  register: 0x20,
  /** relay → peer: registered; the address the relay sees us at. */
  registered: 0x21,
  /** peer → relay: who matches this fingerprint, prefix or nickname? */
  lookup: 0x22,
  /** relay → peer: the registered peers that match. */
  'lookup-result': 0x23,
  /** peer → relay: open a relayed session to this fingerprint. */
  dial: 0x24,
  /** relay → dialling peer: present this token on a data connection. */
  session: 0x25,
  /** relay → dialled peer: someone wants a session; present this token. */
  invite: 0x26,
  /** relay → peer: a request failed. */
  'relay-error': 0x27,
} as const);

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
  /** The peer's own (LAN) addresses. */
  readonly addresses: readonly string[];
}

export type RelayMessage =
  | { readonly type: 'register'; readonly rid: number; readonly name: string; readonly port: number; readonly addresses: readonly string[] }
  | { readonly type: 'registered'; readonly rid: number; readonly observed: string }
  | { readonly type: 'lookup'; readonly rid: number; readonly query: string }
  | { readonly type: 'lookup-result'; readonly rid: number; readonly peers: readonly RelayRecord[] }
  | { readonly type: 'dial'; readonly rid: number; readonly fingerprint: string }
  | { readonly type: 'session'; readonly rid: number; readonly token: string; readonly peer: RelayRecord }
  | { readonly type: 'invite'; readonly token: string; readonly from: PeerRef }
  | { readonly type: 'relay-error'; readonly rid: number; readonly code: string; readonly message: string };

const TYPE_BY_CODE = new Map<number, RelayMessage['type']>(
  Object.entries(RELAY_MESSAGE_TYPES).map(([name, code]) => [code, name as RelayMessage['type']]),
);

export function isRelayCode(code: number): boolean {
  return code >= 0x20 && code <= 0x2f;
}

/** A one-time session token: 32 random bytes, hex. */
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export function decodeRelayMessage(code: number, body: Record<string, unknown>): RelayMessage | { type: 'unknown'; code: number } {
  const type = TYPE_BY_CODE.get(code);
  if (type === undefined) return { type: 'unknown', code };
  const rid = typeof body.rid === 'number' && Number.isInteger(body.rid) ? body.rid : 0;
  switch (type) {
    case 'register':
      return {
        type,
        rid,
        name: requireString(body.name, 'register.name').slice(0, 256),
        port: portField(body.port, 'register.port'),
        addresses: stringList(body.addresses, MAX_REGISTERED_ADDRESSES),
      };
    case 'registered':
      return { type, rid, observed: requireString(body.observed, 'registered.observed').slice(0, 64) };
    case 'lookup':
      return { type, rid, query: requireString(body.query, 'lookup.query').slice(0, 128) };
    case 'lookup-result': {
      const peers = Array.isArray(body.peers) ? body.peers.slice(0, MAX_LOOKUP_RESULTS).map(record) : [];
      return { type, rid, peers };
    }
    case 'dial':
      return { type, rid, fingerprint: fingerprintField(body.fingerprint, 'dial.fingerprint') };
    case 'session':
      return { type, rid, token: token(body.token), peer: record(body.peer) };
    case 'invite':
      return { type, token: token(body.token), from: peerRef(body.from) };
    case 'relay-error':
      return {
        type,
        rid,
        code: requireString(body.code, 'relay-error.code').slice(0, 64),
        message: (optionalString(body.message) ?? '').slice(0, 512),
      };
  }
}

function token(value: unknown): string {
  const text = requireString(value, 'token');
  if (!TOKEN_PATTERN.test(text)) throw bad('token is malformed');
  return text;
}

function record(value: unknown): RelayRecord {
  if (typeof value !== 'object' || value === null) throw bad('peer record missing');
  const v = value as Record<string, unknown>;
  return {
    name: requireString(v.name, 'record.name').slice(0, 256),
    fingerprint: fingerprintField(v.fingerprint, 'record.fingerprint'),
    observed: requireString(v.observed, 'record.observed').slice(0, 64),
    port: portField(v.port, 'record.port'),
    addresses: stringList(v.addresses, MAX_REGISTERED_ADDRESSES),
  };
}
