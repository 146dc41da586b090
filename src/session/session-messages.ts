// The typed messages inside the encrypted channel: one type byte, then a body. Control messages
// carry small JSON bodies; later types (file chunks, acks, path upgrade) may carry raw bytes.
// An unknown type decodes to `unknown` and is ignored, so newer peers can add types safely.

import { DEFAULTS } from '../defaults.js';
import { chatError } from '../errors.js';
import { decodeFileMessage, encodeFileMessage, isFileCode, isFileMessageType, type FileMessage } from './file-messages.js';
import { bad, jsonBody, jsonMessage, optionalString, peerRef, requireString, type PeerRef } from './message-fields.js';
import { decodeRelayMessage, isRelayCode, RELAY_MESSAGE_TYPES, type RelayMessage } from './relay-messages.js';

export type { PeerRef };

export const MESSAGE_TYPES = Object.freeze({
  chat: 0x01,
  bye: 0x02,
  ping: 0x03,
  pong: 0x04,
  nick: 0x05,
  /** A host tells its other peers that someone joined, left or was lost. */
  presence: 0x06,
  /** A host passes on a chat message from another of its peers. */
  forwarded: 0x07,
} as const);

export interface ChatBody {
  readonly id: string;
  readonly time: number;
  readonly text: string;
  readonly action?: boolean;
}

export type SessionMessage =
  | ({ readonly type: 'chat' } & ChatBody)
  | { readonly type: 'bye'; readonly reason: string }
  | { readonly type: 'ping'; readonly nonce: number }
  | { readonly type: 'pong'; readonly nonce: number }
  | { readonly type: 'nick'; readonly name: string }
  | {
      readonly type: 'presence';
      readonly event: 'joined' | 'left' | 'lost' | 'renamed';
      readonly peer: PeerRef;
      readonly reason?: string;
    }
  | ({ readonly type: 'forwarded'; readonly from: PeerRef } & ChatBody)
  | RelayMessage
  | FileMessage
  | { readonly type: 'unknown'; readonly code: number };

type Known = Exclude<SessionMessage, { type: 'unknown' }>;
type ChatKnown = Exclude<Known, RelayMessage | FileMessage>;

export function encodeMessage(message: Known): Buffer {
  if (isFileMessageType(message.type)) return encodeFileMessage(message as FileMessage);
  const { type, ...body } = message;
  return jsonMessage(type in MESSAGE_TYPES ? MESSAGE_TYPES[type as ChatKnown['type']] : RELAY_MESSAGE_TYPES[type as RelayMessage['type']], body);
}

export function decodeMessage(bytes: Uint8Array): SessionMessage {
  if (bytes.length === 0) throw bad('empty message');
  const code = bytes[0]!;
  if (isFileCode(code)) return decodeFileMessage(bytes);
  if (isRelayCode(code)) return decodeRelayMessage(code, jsonBody(bytes, 'relay'));
  const type = TYPE_BY_CODE.get(code);
  if (type === undefined) return { type: 'unknown', code };
  const body = jsonBody(bytes, type);
  switch (type) {
    case 'chat':
      return { type, ...chatBody(body) };
    case 'bye':
      return { type, reason: optionalString(body.reason) ?? '' };
    case 'ping':
    case 'pong':
      return { type, nonce: typeof body.nonce === 'number' ? body.nonce : 0 };
    case 'nick':
      return { type, name: requireString(body.name, 'nick.name') };
    case 'presence': {
      const event = body.event;
      if (event !== 'joined' && event !== 'left' && event !== 'lost' && event !== 'renamed') {
        throw bad('presence event is unknown');
      }
      const reason = optionalString(body.reason);
      return { type, event, peer: peerRef(body.peer), ...(reason !== undefined ? { reason } : {}) };
    }
    case 'forwarded':
      return { type, from: peerRef(body.from), ...chatBody(body) };
  }
}


function chatBody(body: Record<string, unknown>): ChatBody {
  const time = body.time;
  if (typeof time !== 'number' || !Number.isFinite(time)) throw bad('chat message has no time');
  const text = requireString(body.text, 'chat.text');
  if (Buffer.byteLength(text, 'utf8') > DEFAULTS.maxMessageBytes) {
    throw chatError('ERR_MESSAGE_TOO_LONG', `peer sent a message over the ${DEFAULTS.maxMessageBytes}-byte limit`);
  }
  return {
    id: requireString(body.id, 'chat.id').slice(0, 64),
    time,
    text,
    ...(body.action === true ? { action: true } : {}),
  };
}

const TYPE_BY_CODE = new Map<number, ChatKnown['type']>(
  Object.entries(MESSAGE_TYPES).map(([name, code]) => [code, name as ChatKnown['type']]),
);
