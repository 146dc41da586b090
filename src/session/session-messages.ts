// The typed messages inside the encrypted channel: one type byte, then a body (JSON, or raw bytes
// for file data). The chat, file and relay tables say which; this is the one codec that reads them.
// An unknown type decodes to `unknown` and is ignored, so newer peers can add types safely.

import { CHAT_CODECS, type ChatMessage } from './chat-messages.js';
import { FILE_CODECS, type FileMessage } from './file-messages.js';
import { codesOf, MessageCodec, type UnknownMessage } from './message-codec.js';
import { RELAY_CODECS, type RelayMessage } from './relay-messages.js';

export type { PeerRef } from './message-fields.js';

export type SessionMessage = ChatMessage | FileMessage | RelayMessage | UnknownMessage;
type Known = Exclude<SessionMessage, UnknownMessage>;

/** The chat messages' type codes (the file and relay ones are FILE_ and RELAY_MESSAGE_TYPES). */
export const MESSAGE_TYPES = codesOf(CHAT_CODECS);

const CODEC = new MessageCodec<Known>([CHAT_CODECS, FILE_CODECS, RELAY_CODECS]);

export function encodeMessage(message: Known): Buffer {
  return CODEC.encode(message);
}

export function decodeMessage(bytes: Uint8Array): SessionMessage {
  return CODEC.decode(bytes);
}
