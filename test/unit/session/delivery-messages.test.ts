// The wire form of `ack` (0x12) and `conversation` (0x13), pinned as hex, and the bodies a peer
// may not send: a count that is not a non-negative safe integer, an id that is not 32 lower-case
// hex digits. Each is refused with ERR_BAD_MESSAGE and one line saying which field.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import { ACKS_FEATURE, CONVERSATION_ID_BYTES, DELIVERY_MESSAGE_TYPES, RELIABLE_TYPES } from '../../../src/session/delivery-messages.js';
import { FEATURES } from '../../../src/secure/handshake-payload.js';
import { decodeMessage, encodeMessage, PEER_MESSAGES, RELAY_CONTROL_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';

type Known = Exclude<SessionMessage, { type: 'unknown' }>;

const ID = '00112233445566778899aabbccddeeff';

const SAMPLES: ReadonlyArray<readonly [Known, string]> = [
  [{ type: 'ack', n: 0 }, '127b226e223a307d'],
  [{ type: 'ack', n: 1234 }, '127b226e223a313233347d'],
  [
    { type: 'conversation', id: ID, received: 0 },
    '137b226964223a223030313132323333343435353636373738383939616162626363646465656666222c227265636569766564223a307d',
  ],
  [
    { type: 'conversation', id: ID, received: 7, resumed: true },
    '137b226964223a223030313132323333343435353636373738383939616162626363646465656666222c227265636569766564223a372c22726573756d6564223a747275657d',
  ],
];

/** A message of type byte `code` with `body` as its JSON. */
function raw(code: number, body: unknown): Buffer {
  return Buffer.concat([Buffer.of(code), Buffer.from(JSON.stringify(body), 'utf8')]);
}

function refused(bytes: Buffer, why: string): void {
  assert.throws(
    () => decodeMessage(bytes),
    (err: unknown) => P2PChatError.is(err, 'ERR_BAD_MESSAGE') && err.message === `peer sent a malformed message: ${why}`,
    bytes.toString('hex'),
  );
}

describe('ack and conversation on the wire', () => {
  it('have the type codes 0x12, 0x13 and 0x14', () => {
    assert.deepEqual({ ...DELIVERY_MESSAGE_TYPES }, { ack: 0x12, conversation: 0x13, reached: 0x14 });
    assert.equal(CONVERSATION_ID_BYTES * 2, ID.length);
  });

  it('encode to exactly the pinned bytes and decode back', () => {
    for (const [message, hex] of SAMPLES) {
      assert.equal(encodeMessage(message).toString('hex'), hex, JSON.stringify(message));
      assert.deepEqual(decodeMessage(Buffer.from(hex, 'hex')), message, hex);
    }
  });

  it('read `resumed` only when it is true; other fields are ignored', () => {
    assert.deepEqual(decodeMessage(raw(0x13, { id: ID, received: 1, resumed: false })), { type: 'conversation', id: ID, received: 1 });
    assert.deepEqual(decodeMessage(raw(0x13, { id: ID, received: 1, resumed: 'yes' })), { type: 'conversation', id: ID, received: 1 });
    assert.deepEqual(decodeMessage(raw(0x12, { n: 3, extra: [1] })), { type: 'ack', n: 3 });
    assert.deepEqual(decodeMessage(raw(0x12, { n: Number.MAX_SAFE_INTEGER })), { type: 'ack', n: Number.MAX_SAFE_INTEGER });
  });

  it('refuse a count that is negative, fractional, huge, not a number or missing', () => {
    for (const n of [-1, 1.5, 2 ** 53, 1e300, '5', null, true, [1]]) {
      refused(raw(0x12, { n }), 'ack.n is not a count');
      refused(raw(0x13, { id: ID, received: n }), 'conversation.received is not a count');
    }
    refused(raw(0x12, {}), 'ack.n is not a count');
    refused(raw(0x13, { id: ID }), 'conversation.received is not a count');
    refused(Buffer.from('12' + Buffer.from('{"n":-0.5}').toString('hex'), 'hex'), 'ack.n is not a count');
    refused(Buffer.from('127b226e223a', 'hex'), 'ack message is not a JSON object');
    refused(Buffer.from('135b5d', 'hex'), 'conversation message is not a JSON object');
  });

  it('refuse a conversation id that is not 32 lower-case hex digits', () => {
    const bad = [ID.toUpperCase(), `${ID.slice(0, 31)}A`, ID.slice(0, 31), `${ID}0`, `${ID.slice(0, 31)}g`, ` ${ID.slice(1)}`, `${ID}\n`, '', 42, null];
    for (const id of bad) refused(raw(0x13, { id, received: 0 }), 'conversation.id is not 32 lower-case hex digits');
    refused(raw(0x13, { received: 0 }), 'conversation.id is not 32 lower-case hex digits');
  });

  it('are refused before they are sent when ours would be malformed', () => {
    assert.throws(() => encodeMessage({ type: 'ack', n: -1 }), /cannot send this ack message/);
    assert.throws(() => encodeMessage({ type: 'conversation', id: 'nope', received: 0 }), /cannot send this conversation message/);
  });

  it('belong to peers only: a relay control connection reads them as unknown types', () => {
    assert.deepEqual(RELAY_CONTROL_MESSAGES.decode(Buffer.from('127b226e223a307d', 'hex')), { type: 'unknown', code: 0x12 });
    assert.equal(PEER_MESSAGES.decode(Buffer.from('127b226e223a307d', 'hex')).type, 'ack');
  });

  it('are spoken by every peer of this build, and only chat, nick, presence and forwarded are numbered', () => {
    assert.ok(FEATURES.includes(ACKS_FEATURE));
    assert.deepEqual([...RELIABLE_TYPES].sort(), ['chat', 'forwarded', 'nick', 'presence']);
  });
});
