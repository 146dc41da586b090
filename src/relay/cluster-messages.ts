// What relays of one cluster say to each other over Redis pub/sub: a dial for a peer registered on
// the receiving relay and its answer, and "this key registered with me now". Pure JSON codec. Relays
// of a cluster trust one another, but what comes off Redis is still read like network input
// (another program may publish there): each message is held to a size, every field checked.

import { early, isRelayAddress, readRelayRecord, token, type RelayRecord } from '../session/relay-messages.js';
import { fingerprintField, limitedString, peerRef, requireString, TEXT_LIMITS, type PeerRef } from '../session/message-fields.js';

/** The version a relay writes; a message of another is ignored (a newer relay's, during an upgrade). */
export const CLUSTER_MESSAGE_VERSION = 1;
/** The most bytes of one message (a record and a first flight in hex fit well within it). */
export const MAX_CLUSTER_MESSAGE_BYTES = 8 * 1024;

export type ClusterMessage =
  | {
      readonly type: 'dial';
      /** The asking relay's request id, echoed in the answer. */
      readonly id: number;
      /** The asking relay's public address: where the answer goes. */
      readonly from: string;
      /** The dialler, as its relay knows it. */
      readonly a: PeerRef;
      /** The fingerprint of the peer to reach, registered on the receiving relay. */
      readonly b: string;
      /** The dialler's proven key and its address, which its share of sessions counts against. */
      readonly ip: string;
      /** The dialler's first flight, hex. */
      readonly early?: string;
    }
  | { readonly type: 'dial-answer'; readonly id: number; readonly from: string; readonly ok: true; readonly token: string; readonly peer: RelayRecord }
  | { readonly type: 'dial-answer'; readonly id: number; readonly from: string; readonly ok: false; readonly code: string; readonly message: string }
  /** `fingerprint` registered with relay `from`: a relay still holding an older connection of that key closes it. */
  | { readonly type: 'moved'; readonly from: string; readonly fingerprint: string };

export function encodeClusterMessage(message: ClusterMessage): string {
  return JSON.stringify({ v: CLUSTER_MESSAGE_VERSION, ...message });
}

/** The message in `text`; throws (ERR_BAD_MESSAGE) when it is not one this relay reads. */
export function decodeClusterMessage(text: string): ClusterMessage {
  if (Buffer.byteLength(text) > MAX_CLUSTER_MESSAGE_BYTES) throw new Error(`a cluster message of over ${MAX_CLUSTER_MESSAGE_BYTES} bytes`);
  const body = JSON.parse(text) as unknown;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('a cluster message that is not a JSON object');
  const v = body as Record<string, unknown>;
  if (v.v !== CLUSTER_MESSAGE_VERSION) throw new Error(`a cluster message of version ${JSON.stringify(v.v)}, not ${CLUSTER_MESSAGE_VERSION}`);
  const from = relayAddress(v.from);
  switch (v.type) {
    case 'dial':
      return { type: 'dial', id: requestId(v.id), from, a: peerRef(v.a), b: fingerprintField(v.b, 'b'), ip: limitedString(v.ip, 'ip', TEXT_LIMITS.address), ...early(v.early, 'early') };
    case 'dial-answer':
      if (v.ok === true) return { type: 'dial-answer', id: requestId(v.id), from, ok: true, token: token(v.token), peer: readRelayRecord(v.peer) };
      return {
        type: 'dial-answer',
        id: requestId(v.id),
        from,
        ok: false,
        code: limitedString(v.code, 'code', TEXT_LIMITS.code),
        message: limitedString(v.message, 'message', TEXT_LIMITS.message),
      };
    case 'moved':
      return { type: 'moved', from, fingerprint: fingerprintField(v.fingerprint, 'fingerprint') };
    default:
      throw new Error(`a cluster message of unknown type ${JSON.stringify(v.type)?.slice(0, 40)}`);
  }
}

function relayAddress(value: unknown): string {
  const text = requireString(value, 'from');
  if (!isRelayAddress(text)) throw new Error('a cluster message whose sender is not host:port');
  return text;
}

function requestId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error('a cluster message with a malformed request id');
  return value;
}
