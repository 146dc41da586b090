// Acknowledged delivery and resumable conversations between peers, type codes 0x12-0x1f. The chat
// messages that count (RELIABLE_TYPES) are numbered implicitly: the n-th of them one side sends in
// a conversation is its message n, in order, since a session's stream is ordered. `conversation`
// opens every session of peers that both list the feature `acks`: it names the conversation and
// says how many of the other side's messages this side has, so that a resumed one sends again
// exactly what is missing. `ack` says the same count later, cumulatively.

import { codecTable, codesOf, json, type MessageOf } from './message-codec.js';
import { bad, limitedString, peerRef, TEXT_LIMITS } from './message-fields.js';

export const DELIVERY_CODECS = codecTable({
  /** Cumulative: `n` of the other side's reliable messages have arrived here. */
  ack: json(0x12, (body) => ({ n: count(body.n, 'ack.n') })),
  /**
   * First message each way. The dialler names the conversation (a new random id, or the one it
   * resumes); the listener answers with the same id and whether it resumed it.
   */
  conversation: json(0x13, (body) => ({
    id: conversationId(body.id),
    received: count(body.received, 'conversation.received'),
    ...(body.resumed === true ? { resumed: true as const } : {}),
    // The dialler moves a conversation that is live on another connection to this one (a direct
    // path found while relayed): the listener reports a new path rather than a reconnection.
    ...(body.move === true ? { move: true as const } : {}),
  })),
  /**
   * A host tells the writer of chats it passed on that member `to` acknowledged them (`ids`), or,
   * as it leaves the conversation, never got them (`missed`): delivery end to end, on its word.
   */
  reached: json(0x14, (body) => ({
    to: peerRef(body.to),
    ids: idList(body.ids, 'reached.ids'),
    ...(body.missed !== undefined ? { missed: idList(body.missed, 'reached.missed') } : {}),
  })),
});

export type DeliveryMessage = MessageOf<typeof DELIVERY_CODECS>;

export const DELIVERY_MESSAGE_TYPES = codesOf(DELIVERY_CODECS);

/** The messages a sender numbers and keeps until acknowledged (the feature `acks`). */
export const RELIABLE_TYPES: ReadonlySet<string> = new Set(['chat', 'nick', 'presence', 'forwarded']);

/** The handshake feature both peers list when they acknowledge delivery and resume conversations. */
export const ACKS_FEATURE = 'acks';

/** A conversation id: 16 random bytes, as 32 lower-case hex digits. */
export const CONVERSATION_ID_BYTES = 16;

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad(`${field} is not a count`);
  return value;
}

const ID_PATTERN = new RegExp(`^[0-9a-f]{${CONVERSATION_ID_BYTES * 2}}$`);

/** Most ids in one `reached`: a host reports at most what one acknowledgement covers. */
export const MAX_REACHED_IDS = 256;

function idList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_REACHED_IDS) throw bad(`${field} is not a list of at most ${MAX_REACHED_IDS} ids`);
  return value.map((id) => limitedString(id, field, TEXT_LIMITS.id));
}

function conversationId(value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw bad('conversation.id is not 32 lower-case hex digits');
  return value;
}
