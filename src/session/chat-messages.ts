// The chat protocol between peers, type codes 0x01-0x07: chat text, nicknames, and what a host
// passes on to its other peers (who joined or left, their messages); and goodbye and keepalive,
// which every connection speaks, a relay's control connections too. JSON bodies.

import { chatError } from '../errors.js';
import { codecTable, json, type JsonObject, type MessageOf } from './message-codec.js';
import { bad, limitedString, optionalLimitedString, peerRef, requireString, TEXT_LIMITS, type PeerRef } from './message-fields.js';

/** Goodbye and keepalive: on every connection, between peers or with a relay. */
export const CONNECTION_CODECS = codecTable({
  bye: json(0x02, (body) => ({ reason: optionalLimitedString(body.reason, TEXT_LIMITS.reason) ?? '' })),
  ping: json(0x03, nonce),
  pong: json(0x04, nonce),
});

/** What only peers say to each other. */
export const CHAT_CODECS = codecTable({
  chat: json(0x01, chatBody),
  nick: json(0x05, (body) => ({ name: limitedString(body.name, 'nick.name', TEXT_LIMITS.nickname) })),
  /**
   * A host tells its other peers that someone joined, left, was lost or renamed; a newcomer hears
   * who is already here as `joined` with `present: true` (an older peer ignores the field).
   */
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

/**
 * Controls that JSON writes as six bytes (\u0001); no text needs them, and the terminal never shows
 * them. Without them a text is at most twice its length in JSON, so a forwarded one fits a frame.
 */
const ESCAPED_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function chatBody(body: JsonObject): ChatBody {
  const time = body.time;
  if (typeof time !== 'number' || !Number.isFinite(time)) throw bad('chat message has no time');
  const text = requireString(body.text, 'chat.text');
  // Counted only when it could be over: no UTF-16 unit takes more than 3 bytes.
  if (text.length * 3 > TEXT_LIMITS.text && Buffer.byteLength(text, 'utf8') > TEXT_LIMITS.text) {
    throw chatError('ERR_MESSAGE_TOO_LONG', `peer sent a message over the ${TEXT_LIMITS.text}-byte limit`);
  }
  return {
    id: limitedString(body.id, 'chat.id', TEXT_LIMITS.id),
    time,
    text: text.replace(ESCAPED_CONTROLS, ''),
    ...(body.action === true ? { action: true } : {}),
  };
}

function nonce(body: JsonObject): { nonce: number } {
  return { nonce: typeof body.nonce === 'number' ? body.nonce : 0 };
}

interface Presence {
  readonly event: 'joined' | 'left' | 'lost' | 'renamed';
  readonly peer: PeerRef;
  readonly reason?: string;
  /** On `joined`: the peer was here before the recipient came, rather than joining now. */
  readonly present?: true;
}

function presence(body: JsonObject): Presence {
  const event = body.event;
  if (event !== 'joined' && event !== 'left' && event !== 'lost' && event !== 'renamed') throw bad('presence event is unknown');
  const reason = optionalLimitedString(body.reason, TEXT_LIMITS.reason);
  return {
    event,
    peer: peerRef(body.peer),
    ...(reason !== undefined ? { reason } : {}),
    ...(event === 'joined' && body.present === true ? { present: true as const } : {}),
  };
}
