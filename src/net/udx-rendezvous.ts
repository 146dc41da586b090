// The rendezvous that opens a udx stream between a dialler and a listener. udx pairs two streams
// by ids both ends must already know and has no accept of its own, so the ids are traded in plain
// UDP datagrams on the same socket that then carries the streams. This module is the datagrams'
// codec; udx-dialer.ts and udx-responder.ts run the two ends. A `punch` only opens the sender's NAT
// toward a peer and is answered by no one. The datagrams' layout, the exchange and why it is safe
// against loss, repeats and forged sources: docs/protocol.md, section 15.

/** Size of every rendezvous datagram. */
export const RENDEZVOUS_SIZE = 20;
const MAGIC = 0x50325055; // "P2PU"
const VERSION = 1;

const TYPE_CODES = Object.freeze({ request: 1, accept: 2, refuse: 3, confirm: 4, confirmed: 5, punch: 6 } as const);
const REASON_CODES = Object.freeze({ full: 1, busy: 2 } as const);

export type RendezvousType = keyof typeof TYPE_CODES;
/**
 * Why a listener refused: `full` at its connection limit; `busy`, too many unfinished dials, is
 * still read but ours never sends it (it holds nothing for an unfinished dial).
 */
export type RefuseReason = keyof typeof REASON_CODES;

export interface RendezvousMessage {
  readonly type: RendezvousType;
  /** 0 in a punch only. */
  readonly dialerId: number;
  /** 0 in a request, refuse or punch. */
  readonly listenerId: number;
  /** 0 in a request, refuse or punch. */
  readonly cookie: number;
  /** Set in a refuse only. */
  readonly reason?: RefuseReason;
}

const TYPES = new Map(Object.entries(TYPE_CODES).map(([name, code]) => [code as number, name as RendezvousType]));
const REASONS = new Map(Object.entries(REASON_CODES).map(([name, code]) => [code as number, name as RefuseReason]));

export function encodeRendezvous(message: RendezvousMessage): Buffer {
  const bytes = Buffer.alloc(RENDEZVOUS_SIZE);
  bytes.writeUInt32BE(MAGIC, 0);
  bytes[4] = VERSION;
  bytes[5] = TYPE_CODES[message.type];
  bytes[6] = message.type === 'refuse' && message.reason ? REASON_CODES[message.reason] : 0;
  bytes.writeUInt32BE(message.dialerId, 8);
  bytes.writeUInt32BE(message.listenerId, 12);
  bytes.writeUInt32BE(message.cookie, 16);
  return bytes;
}

/** A punch: it names no stream, so every id is 0. */
export const PUNCH: RendezvousMessage = Object.freeze({ type: 'punch', dialerId: 0, listenerId: 0, cookie: 0 });

/**
 * The rendezvous datagram in `bytes`, or undefined for anything else: another size, magic or
 * version, an unknown type or reason, a zero id where one is needed, an id in a punch. Callers drop
 * those unanswered.
 */
export function decodeRendezvous(bytes: Uint8Array): RendezvousMessage | undefined {
  if (bytes.length !== RENDEZVOUS_SIZE) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.readUInt32BE(0) !== MAGIC || view[4] !== VERSION) return undefined;
  const type = TYPES.get(view[5]!);
  if (type === undefined) return undefined;
  const dialerId = view.readUInt32BE(8);
  const listenerId = view.readUInt32BE(12);
  const cookie = view.readUInt32BE(16);
  if (type === 'punch') return dialerId === 0 && listenerId === 0 && cookie === 0 && view[6] === 0 ? PUNCH : undefined;
  if (dialerId === 0) return undefined;
  const opening = type === 'request' || type === 'refuse';
  if (opening ? listenerId !== 0 || cookie !== 0 : listenerId === 0) return undefined;
  if (type !== 'refuse') return view[6] === 0 ? { type, dialerId, listenerId, cookie } : undefined;
  const reason = REASONS.get(view[6]!);
  return reason === undefined ? undefined : { type, dialerId, listenerId, cookie, reason };
}
