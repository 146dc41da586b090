// The chat protocol between peers, type codes 0x01-0x07: chat text, nicknames, and what a host
// passes on to its other peers (who joined or left, their messages); and goodbye and keepalive,
// which every connection speaks, a relay's control connections too. JSON bodies.

import { DEFAULTS } from '../defaults.js';
import { chatError } from '../errors.js';
import { codecTable, json, type JsonObject, type MessageOf } from './message-codec.js';
import { bad, optionalString, peerRef, requireString, type PeerRef } from './message-fields.js';

/** Goodbye and keepalive: on every connection, between peers or with a relay. */
export const CONNECTION_CODECS = codecTable({
  bye: json(0x02, (body) => ({ reason: optionalString(body.reason) ?? '' })),
  ping: json(0x03, nonce),
  pong: json(0x04, nonce),
});

/** What only peers say to each other. */
export const CHAT_CODECS = codecTable({
  chat: json(0x01, chatBody),
  nick: json(0x05, (body) => ({ name: requireString(body.name, 'nick.name') })),
  /** A host tells its other peers that someone joined, left or was lost. */
  presence: json(0x06, presence),
  /** A host passes on a chat message from another of its peers. */
  forwarded: json(0x07, (body) => ({ from: peerRef(body.from), ...chatBody(body) })),
});

export type ChatMessage = MessageOf<typeof CONNECTION_CODECS> | MessageOf<typeof CHAT_CODECS>;

export interface ChatBody {
  readonly id: string;
  readonly time: number;
  readonly text: string;
  readonly action?: boolean;
}

function chatBody(body: JsonObject): ChatBody {
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

function nonce(body: JsonObject): { nonce: number } {
  return { nonce: typeof body.nonce === 'number' ? body.nonce : 0 };
}

function presence(body: JsonObject): { event: 'joined' | 'left' | 'lost' | 'renamed'; peer: PeerRef; reason?: string } {
  const event = body.event;
  if (event !== 'joined' && event !== 'left' && event !== 'lost' && event !== 'renamed') throw bad('presence event is unknown');
  const reason = optionalString(body.reason);
  return { event, peer: peerRef(body.peer), ...(reason !== undefined ? { reason } : {}) };
}
