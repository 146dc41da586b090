// Session messages: the type byte of each kind, a round trip of every known type, forward
// compatibility (unknown types and fields), and refusal of malformed bodies with ERR_BAD_MESSAGE.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import type { RelayMessage } from '../../../src/session/relay-messages.js';
import { throwsCode } from '../../helpers/assert-code.js';
import {
  decodeMessage,
  encodeMessage,
  MESSAGE_TYPES,
  PEER_MESSAGES,
  RELAY_CONTROL_MESSAGES,
  type SessionCodec,
  type SessionMessage,
} from '../../../src/session/session-messages.js';
import { DELIVERY_MESSAGE_TYPES } from '../../../src/session/delivery-messages.js';
import { FILE_MESSAGE_TYPES } from '../../../src/session/file-messages.js';
import { PATH_MESSAGE_TYPES } from '../../../src/session/path-messages.js';
import { RELAY_MESSAGE_TYPES } from '../../../src/session/relay-messages.js';

type Known = Exclude<SessionMessage, RelayMessage | { type: 'unknown' }>;

const PEER = { name: 'carol', fingerprint: fingerprintOf(Buffer.alloc(32, 3)) };

const EXAMPLES: readonly Known[] = [
  { type: 'chat', id: 'm1', time: 1_700_000_000_000, text: 'hello there' },
  { type: 'chat', id: 'm2', time: 1_700_000_000_001, text: 'waves', action: true },
  { type: 'chat', id: 'm3', time: 0, text: '' },
  { type: 'chat', id: 'm4', time: 5, text: 'emoji 😀 and 日本語\nsecond line' },
  { type: 'bye', reason: 'see you' },
  { type: 'bye', reason: '' },
  { type: 'ping', nonce: 42 },
  { type: 'pong', nonce: 1_700_000_000_123 },
  { type: 'nick', name: 'alice2' },
  { type: 'presence', event: 'joined', peer: PEER },
  { type: 'presence', event: 'left', peer: PEER, reason: 'gone for lunch' },
  { type: 'presence', event: 'lost', peer: PEER },
  { type: 'presence', event: 'renamed', peer: PEER },
  { type: 'forwarded', from: PEER, id: 'f1', time: 12, text: 'relayed' },
  { type: 'forwarded', from: PEER, id: 'f2', time: 13, text: 'relayed action', action: true },
];

function raw(code: number, body: string): Buffer {
  return Buffer.concat([Buffer.of(code), Buffer.from(body, 'utf8')]);
}

function isBadMessage(err: unknown): boolean {
  return P2PChatError.is(err, 'ERR_BAD_MESSAGE');
}

describe('MESSAGE_TYPES', () => {
  it('assigns the documented, distinct type codes', () => {
    assert.deepEqual({ ...MESSAGE_TYPES }, {
      chat: 1,
      bye: 2,
      ping: 3,
      pong: 4,
      nick: 5,
      presence: 6,
      forwarded: 7,
    });
    assert.ok(Object.isFrozen(MESSAGE_TYPES));
  });
});

describe('encodeMessage / decodeMessage', () => {
  it('round-trips every known type', () => {
    const seen = new Set<string>();
    for (const message of EXAMPLES) {
      const bytes = encodeMessage(message);
      assert.equal(bytes[0], MESSAGE_TYPES[message.type as keyof typeof MESSAGE_TYPES], message.type);
      assert.deepEqual(decodeMessage(bytes), message);
      seen.add(message.type);
    }
    assert.deepEqual([...seen].sort(), Object.keys(MESSAGE_TYPES).sort());
  });

  it('puts a JSON body without the type after the type byte', () => {
    const bytes = encodeMessage({ type: 'nick', name: 'bob' });
    assert.equal(bytes.toString('hex', 0, 1), '05');
    assert.deepEqual(JSON.parse(bytes.subarray(1).toString('utf8')), { name: 'bob' });
  });

  it('decodes from a view into a larger buffer', () => {
    const bytes = encodeMessage({ type: 'ping', nonce: 7 });
    const backing = Buffer.concat([Buffer.from('junk'), bytes, Buffer.from('more junk')]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, bytes.length);
    assert.deepEqual(decodeMessage(view), { type: 'ping', nonce: 7 });
  });

  it('decodes an unknown type code to { type: "unknown" } whatever follows', () => {
    assert.deepEqual(decodeMessage(Buffer.of(0x00)), { type: 'unknown', code: 0 });
    assert.deepEqual(decodeMessage(raw(0x42, '{"anything":1}')), { type: 'unknown', code: 0x42 });
    assert.deepEqual(decodeMessage(Buffer.of(0xff, 0x00, 0x01, 0x02)), { type: 'unknown', code: 0xff });
    assert.deepEqual(decodeMessage(raw(0x1f, 'not even json')), { type: 'unknown', code: 0x1f });
  });

  it('drops unknown extra fields', () => {
    assert.deepEqual(
      decodeMessage(raw(MESSAGE_TYPES.chat, JSON.stringify({ id: 'x', time: 1, text: 'hi', color: 'red', type: 'bye' }))),
      { type: 'chat', id: 'x', time: 1, text: 'hi' },
    );
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.nick, '{"name":"n","admin":true}')), { type: 'nick', name: 'n' });
    assert.deepEqual(
      decodeMessage(
        raw(MESSAGE_TYPES.presence, JSON.stringify({ event: 'joined', peer: { ...PEER, address: '10.0.0.1' }, extra: 1 })),
      ),
      { type: 'presence', event: 'joined', peer: PEER },
    );
  });

  it("reads presence's `present` only as literally true, and only on joined", () => {
    const presence = (body: object) => decodeMessage(raw(MESSAGE_TYPES.presence, JSON.stringify({ peer: PEER, ...body })));
    assert.deepEqual(presence({ event: 'joined', present: true }), { type: 'presence', event: 'joined', peer: PEER, present: true });
    assert.deepEqual(presence({ event: 'joined', present: 'yes' }), { type: 'presence', event: 'joined', peer: PEER });
    assert.deepEqual(presence({ event: 'left', present: true }), { type: 'presence', event: 'left', peer: PEER });
  });

  it('reads loose optional fields leniently', () => {
    // `action` only counts when it is literally true; bye and ping fall back to defaults.
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.chat, '{"id":"a","time":1,"text":"t","action":"yes"}')), {
      type: 'chat',
      id: 'a',
      time: 1,
      text: 't',
    });
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.bye, '{}')), { type: 'bye', reason: '' });
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.bye, '{"reason":5}')), { type: 'bye', reason: '' });
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.ping, '{}')), { type: 'ping', nonce: 0 });
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.pong, '{"nonce":"9"}')), { type: 'pong', nonce: 0 });
    assert.deepEqual(decodeMessage(raw(MESSAGE_TYPES.presence, JSON.stringify({ event: 'left', peer: PEER, reason: 3 }))), {
      type: 'presence',
      event: 'left',
      peer: PEER,
    });
  });

  it('caps a chat id at 64 characters', () => {
    const decoded = decodeMessage(raw(MESSAGE_TYPES.chat, JSON.stringify({ id: 'i'.repeat(100), time: 1, text: 't' })));
    assert.ok(decoded.type === 'chat');
    assert.equal(decoded.id, 'i'.repeat(64));
  });
});

describe('PEER_MESSAGES and RELAY_CONTROL_MESSAGES: each kind of connection reads only its own types', () => {
  /** Bodies no JSON row accepts: nothing, binary, text, a truncated object. */
  const BODIES = [Buffer.alloc(0), Buffer.of(0xff, 0x00, 0xfe), Buffer.from('not json'), Buffer.from('{"a":'), Buffer.from('{}')];
  const CONNECTION = [MESSAGE_TYPES.bye, MESSAGE_TYPES.ping, MESSAGE_TYPES.pong];
  const OWN: ReadonlyArray<readonly [string, SessionCodec, ReadonlySet<number>]> = [
    [
      'peer',
      PEER_MESSAGES,
      new Set([...Object.values(MESSAGE_TYPES), ...Object.values(DELIVERY_MESSAGE_TYPES), ...Object.values(FILE_MESSAGE_TYPES), ...Object.values(PATH_MESSAGE_TYPES)]),
    ],
    ['relay control', RELAY_CONTROL_MESSAGES, new Set([...CONNECTION, ...Object.values(RELAY_MESSAGE_TYPES)])],
  ];

  it('ignore every type code that is not their own, whatever its body', () => {
    for (const [kind, codec, own] of OWN) {
      for (let code = 0; code <= 0xff; code++) {
        if (own.has(code)) continue;
        for (const body of BODIES) {
          assert.deepEqual(codec.decode(Buffer.concat([Buffer.of(code), body])), { type: 'unknown', code }, `${kind} 0x${code.toString(16)}`);
        }
      }
    }
  });

  it('a chat connection ignores the relay types with a binary body; a relay connection refuses them', () => {
    for (const code of Object.values(RELAY_MESSAGE_TYPES)) {
      const bytes = Buffer.of(code, 0xff, 0x00);
      assert.deepEqual(PEER_MESSAGES.decode(bytes), { type: 'unknown', code });
      throwsCode(() => RELAY_CONTROL_MESSAGES.decode(bytes), 'ERR_BAD_MESSAGE');
    }
  });

  it('both read goodbye and keepalive; only peers read chat and files, only relay connections relay control', () => {
    for (const message of [{ type: 'bye', reason: 'x' }, { type: 'ping', nonce: 1 }, { type: 'pong', nonce: 2 }] as const) {
      for (const [kind, codec] of OWN) assert.deepEqual(codec.decode(codec.encode(message)), message, `${kind} ${message.type}`);
    }
    const chat = { type: 'chat', id: 'c', time: 1, text: 'hi' } as const;
    assert.deepEqual(PEER_MESSAGES.decode(PEER_MESSAGES.encode(chat)), chat);
    assert.deepEqual(RELAY_CONTROL_MESSAGES.decode(encodeMessage(chat)), { type: 'unknown', code: MESSAGE_TYPES.chat });
    assert.throws(() => RELAY_CONTROL_MESSAGES.encode(chat), /no codec for message type chat/);
    const lookup = { type: 'lookup', rid: 1, query: 'bob' } as const;
    assert.deepEqual(RELAY_CONTROL_MESSAGES.decode(RELAY_CONTROL_MESSAGES.encode(lookup)), lookup);
    assert.throws(() => PEER_MESSAGES.encode(lookup), /no codec for message type lookup/);
  });
});

describe('decodeMessage rejects malformed messages with ERR_BAD_MESSAGE', () => {
  it('an empty message', () => {
    assert.throws(() => decodeMessage(Buffer.alloc(0)), (err) => isBadMessage(err) && /empty/.test((err as Error).message));
  });

  it('a known type with no body, or a body that is not JSON', () => {
    for (const code of Object.values(MESSAGE_TYPES)) {
      assert.throws(() => decodeMessage(Buffer.of(code)), isBadMessage, `code ${code} without a body`);
      assert.throws(() => decodeMessage(raw(code, 'hello')), isBadMessage, `code ${code} with text`);
      assert.throws(() => decodeMessage(raw(code, '{"unterminated":')), isBadMessage, `code ${code} with bad JSON`);
    }
  });

  it('a JSON body that is not an object', () => {
    for (const body of ['[]', '[{"name":"x"}]', '"text"', '42', 'null', 'true']) {
      assert.throws(() => decodeMessage(raw(MESSAGE_TYPES.nick, body)), isBadMessage, body);
    }
  });

  it('a body that is not UTF-8 JSON', () => {
    assert.throws(() => decodeMessage(Buffer.of(MESSAGE_TYPES.chat, 0xff, 0xfe, 0x7b)), isBadMessage);
  });

  it('missing or mistyped required fields', () => {
    const cases: Array<[number, unknown]> = [
      [MESSAGE_TYPES.chat, { time: 1, text: 'no id' }],
      [MESSAGE_TYPES.chat, { id: 'x', text: 'no time' }],
      [MESSAGE_TYPES.chat, { id: 'x', time: '1', text: 'string time' }],
      [MESSAGE_TYPES.chat, { id: 'x', time: 1 }],
      [MESSAGE_TYPES.chat, { id: 'x', time: 1, text: 5 }],
      [MESSAGE_TYPES.chat, { id: 7, time: 1, text: 't' }],
      [MESSAGE_TYPES.nick, {}],
      [MESSAGE_TYPES.nick, { name: null }],
      [MESSAGE_TYPES.presence, { peer: PEER }],
      [MESSAGE_TYPES.presence, { event: 'exploded', peer: PEER }],
      [MESSAGE_TYPES.presence, { event: 'joined' }],
      [MESSAGE_TYPES.presence, { event: 'joined', peer: 'carol' }],
      [MESSAGE_TYPES.presence, { event: 'joined', peer: { name: 'carol' } }],
      [MESSAGE_TYPES.presence, { event: 'joined', peer: { fingerprint: 'F' } }],
      [MESSAGE_TYPES.forwarded, { id: 'x', time: 1, text: 'no from' }],
      [MESSAGE_TYPES.forwarded, { from: PEER, id: 'x', text: 'no time' }],
      [MESSAGE_TYPES.forwarded, { from: null, id: 'x', time: 1, text: 't' }],
    ];
    for (const [code, body] of cases) {
      assert.throws(() => decodeMessage(raw(code, JSON.stringify(body))), isBadMessage, JSON.stringify(body));
    }
  });

  it('a non-finite time (JSON cannot say Infinity, but 1e999 parses to it)', () => {
    assert.throws(() => decodeMessage(raw(MESSAGE_TYPES.chat, '{"id":"x","time":1e999,"text":"t"}')), isBadMessage);
  });
});

describe('hostile fields (review findings)', () => {
  it('rejects a presence or forwarded message whose fingerprint is not a fingerprint (e.g. an escape sequence)', () => {
    for (const fingerprint of ['\x1b[2J\x1b[H', 'ABCDEFG', PEER.fingerprint.slice(0, -1) + '0']) {
      const presence = Buffer.concat([Buffer.from([MESSAGE_TYPES.presence]), Buffer.from(JSON.stringify({ event: 'joined', peer: { name: 'x', fingerprint } }))]);
      throwsCode(() => decodeMessage(presence), 'ERR_BAD_MESSAGE');
    }
  });

  it('normalises a valid fingerprint in lower case', () => {
    const presence = Buffer.concat([
      Buffer.from([MESSAGE_TYPES.presence]),
      Buffer.from(JSON.stringify({ event: 'left', peer: { name: 'x', fingerprint: PEER.fingerprint.toLowerCase() } })),
    ]);
    const decoded = decodeMessage(presence);
    assert.ok(decoded.type === 'presence');
    assert.equal(decoded.peer.fingerprint, PEER.fingerprint);
  });

  it('refuses a chat text over the 16 KiB limit on receive', () => {
    const chat = (text: string) =>
      Buffer.concat([Buffer.from([MESSAGE_TYPES.chat]), Buffer.from(JSON.stringify({ id: 'a', time: 1, text }))]);
    assert.equal((decodeMessage(chat('x'.repeat(16384))) as { text: string }).text.length, 16384);
    throwsCode(() => decodeMessage(chat('x'.repeat(16385))), 'ERR_MESSAGE_TOO_LONG');
  });
});
