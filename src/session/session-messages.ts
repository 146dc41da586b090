// The typed messages inside the encrypted channel: one type byte, then a body (JSON, or raw bytes
// for file data). The chat, file and relay tables say which. A connection reads only the tables of
// its kind, so a type that is not its own (a relay type between peers, say) decodes to `unknown`
// and is ignored, whatever its body: newer peers can add types safely.

import { CHAT_CODECS, CONNECTION_CODECS, type ChatMessage } from './chat-messages.js';
import { DELIVERY_CODECS, type DeliveryMessage } from './delivery-messages.js';
import { FILE_CODECS, type FileMessage } from './file-messages.js';
import { codesOf, MessageCodec, type UnknownMessage } from './message-codec.js';
import { PATH_CODECS, type PathMessage } from './path-messages.js';
import { RELAY_CODECS, type RelayMessage } from './relay-messages.js';

export type { PeerRef } from './message-fields.js';

export type SessionMessage = ChatMessage | DeliveryMessage | FileMessage | PathMessage | RelayMessage | UnknownMessage;
type Known = Exclude<SessionMessage, UnknownMessage>;

/** The messages one kind of connection speaks; PeerConnection is given one by whoever creates it. */
export type SessionCodec = MessageCodec<Known>;

/** The chat messages' type codes (the file and relay ones are FILE_ and RELAY_MESSAGE_TYPES). */
export const MESSAGE_TYPES = Object.freeze({ ...codesOf(CONNECTION_CODECS), ...codesOf(CHAT_CODECS) });

/** Between two peers: goodbye and keepalive, chat, acknowledgements, files, moving to a direct path. */
export const PEER_MESSAGES: SessionCodec = new MessageCodec<Known>([CONNECTION_CODECS, CHAT_CODECS, DELIVERY_CODECS, FILE_CODECS, PATH_CODECS]);

/** Between a peer and a relay: goodbye and keepalive, and the relay's control messages. */
export const RELAY_CONTROL_MESSAGES: SessionCodec = new MessageCodec<Known>([CONNECTION_CODECS, RELAY_CODECS]);

/** Every message of the protocol, whatever the connection: the wire format as a whole, for tools and tests. */
const WIRE = new MessageCodec<Known>([CONNECTION_CODECS, CHAT_CODECS, DELIVERY_CODECS, FILE_CODECS, PATH_CODECS, RELAY_CODECS]);

export function encodeMessage(message: Known): Buffer {
  return WIRE.encode(message);
}

export function decodeMessage(bytes: Uint8Array): SessionMessage {
  return WIRE.decode(bytes);
}
