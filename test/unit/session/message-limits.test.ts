// Every string a peer sends is held to a byte limit on receipt (cut at a character boundary, or
// refused where a cut would change its meaning), our own sends keep the same limits, and so the
// largest message a host passes on or a relay answers with still fits in a frame.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { MAX_PLAINTEXT } from '../../../src/secure/secure-channel.js';
import { codecTable, json, MessageCodec } from '../../../src/session/message-codec.js';
import { TEXT_LIMITS } from '../../../src/session/message-fields.js';
import { MAX_LOOKUP_RESULTS, MAX_REGISTERED_ADDRESSES } from '../../../src/session/relay-messages.js';
import {
  encodeMessage,
  MESSAGE_TYPES,
  PEER_MESSAGES,
  RELAY_CONTROL_MESSAGES,
  type SessionCodec,
  type SessionMessage,
} from '../../../src/session/session-messages.js';
import { cutUtf8 } from '../../../src/wire/utf8-cut.js';
import { throwsCode } from '../../helpers/assert-code.js';

type Known = Exclude<SessionMessage, { type: 'unknown' }>;

const FINGERPRINT = fingerprintOf(Buffer.alloc(32, 9));
const ID = '0123456789abcdef';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** A message as a hostile peer writes it: any body, no limits applied. */
function raw(code: number, body: object): Buffer {
  return Buffer.concat([Buffer.of(code), Buffer.from(JSON.stringify(body), 'utf8')]);
}

/** Decode with `codec` and return the field `key` of the result. */
function field(codec: SessionCodec, bytes: Buffer, key: string): unknown {
  return (codec.decode(bytes) as unknown as Record<string, unknown>)[key];
}

/**
 * Strings that are longest in JSON for their UTF-8 size: a control is one byte and six in JSON
 * (\u0001), a lone surrogate three and six, a quote one and two.
 */
const WORST = ['\u0001', '\ud800', '"'];
const huge = (unit: string) => unit.repeat(70_000);

describe('byte limits on what a peer sends', () => {
  it('cuts a goodbye reason of 60,000 and of 65,490 characters to the reason limit', () => {
    assert.equal(TEXT_LIMITS.reason, 256);
    for (const length of [60_000, 65_490]) {
      const message = raw(MESSAGE_TYPES.bye, { reason: 'x'.repeat(length) });
      assert.ok(message.length <= MAX_PLAINTEXT, 'it fits in one frame as sent');
      assert.equal(field(PEER_MESSAGES, message, 'reason'), 'x'.repeat(TEXT_LIMITS.reason), `${length}`);
    }
  });

  it('cuts at a character boundary, never inside a multi-byte character', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['é'.repeat(300), 'é'.repeat(128)],
      ['😀'.repeat(100), '😀'.repeat(64)],
      [`x${'日'.repeat(100)}`, `x${'日'.repeat(85)}`],
    ];
    for (const [reason, expected] of cases) {
      assert.equal(field(PEER_MESSAGES, raw(MESSAGE_TYPES.bye, { reason }), 'reason'), expected);
      assert.ok(bytes(expected) <= TEXT_LIMITS.reason);
    }
  });

  it('cuts nicknames, presence reasons and names, forwarded senders and chat ids', () => {
    const long = 'n'.repeat(1_000);
    const peer = { name: long, fingerprint: FINGERPRINT };
    assert.equal(field(PEER_MESSAGES, raw(MESSAGE_TYPES.nick, { name: long }), 'name'), 'n'.repeat(TEXT_LIMITS.nickname));
    const presence = PEER_MESSAGES.decode(raw(MESSAGE_TYPES.presence, { event: 'left', peer, reason: long }));
    assert.deepEqual(presence, {
      type: 'presence',
      event: 'left',
      peer: { name: 'n'.repeat(TEXT_LIMITS.nickname), fingerprint: FINGERPRINT },
      reason: 'n'.repeat(TEXT_LIMITS.reason),
    });
    const forwarded = PEER_MESSAGES.decode(raw(MESSAGE_TYPES.forwarded, { from: peer, id: long, time: 1, text: 'hi' }));
    assert.ok(forwarded.type === 'forwarded');
    assert.equal(forwarded.from.name, 'n'.repeat(TEXT_LIMITS.nickname));
    assert.equal(forwarded.id, 'n'.repeat(TEXT_LIMITS.id));
  });

  it('refuses a chat text over the limit, and drops the controls JSON would write six bytes for', () => {
    const chat = (text: string) => raw(MESSAGE_TYPES.chat, { id: 'c', time: 1, text });
    const error = throwsCode(() => PEER_MESSAGES.decode(chat('x'.repeat(TEXT_LIMITS.text + 1))), 'ERR_MESSAGE_TOO_LONG');
    assert.match(error.message, /over the 16384-byte limit/);
    assert.equal(field(PEER_MESSAGES, chat('a\u0000b\u0007c\u001bd\u001fe'), 'text'), 'abcde');
    assert.equal(field(PEER_MESSAGES, chat('tab\tline\nreturn\r'), 'text'), 'tab\tline\nreturn\r', 'text layout is kept');
  });

  it('refuses an offered path over the path limit, saying which limit', () => {
    const offer = (path: string) => raw(0x08, { id: ID, files: [{ path, size: 1 }], more: false });
    const atLimit = PEER_MESSAGES.decode(offer('é'.repeat(2_048)));
    assert.ok(atLimit.type === 'file-offer' && atLimit.files[0]!.path.length === 2_048);
    const error = throwsCode(() => PEER_MESSAGES.decode(offer('é'.repeat(2_049))), 'ERR_BAD_MESSAGE');
    assert.match(error.message, /file\.path is over the 4096-byte limit/);
  });

  it('cuts file reasons, and relay names, queries, observed addresses and errors; drops odd addresses', () => {
    const long = 'r'.repeat(5_000);
    for (const code of [0x0a, 0x11]) assert.equal(field(PEER_MESSAGES, raw(code, { id: ID, reason: long }), 'reason'), 'r'.repeat(256));
    const relay = RELAY_CONTROL_MESSAGES;
    assert.equal(field(relay, raw(0x20, { rid: 1, name: long, port: 1, addresses: [] }), 'name'), 'r'.repeat(TEXT_LIMITS.nickname));
    assert.equal(field(relay, raw(0x21, { rid: 1, observed: long }), 'observed'), 'r'.repeat(TEXT_LIMITS.address));
    const session = { rid: 1, token: 'cd'.repeat(32), peer: { name: 'a', fingerprint: FINGERPRINT, observed: '', port: 1, addresses: [] } };
    assert.equal(field(relay, raw(0x25, { ...session, observed: long }), 'observed'), 'r'.repeat(TEXT_LIMITS.address));
    assert.equal(field(relay, raw(0x25, { ...session, observed: 7 }), 'observed'), undefined, 'not a string: absent');
    for (const good of ['relay-b.example.org:5050', '192.0.2.5:1', '[2001:db8::5]:65535', `${'a'.repeat(253)}:5050`]) {
      assert.equal(field(relay, raw(0x25, { ...session, relay: good }), 'relay'), good);
    }
    for (const odd of [7, '', 'relay-b', 'relay-b:0', 'relay-b:65536', 'a b:5050', 'relay#X:5050', 'u@relay:5050', `${'a'.repeat(256)}:5050`]) {
      const refused = throwsCode(() => relay.decode(raw(0x25, { ...session, relay: odd })), 'ERR_BAD_MESSAGE');
      assert.match(refused.message, /session\.relay/);
    }
    assert.equal(field(relay, raw(0x22, { rid: 1, query: long }), 'query'), 'r'.repeat(TEXT_LIMITS.query));
    const error = relay.decode(raw(0x27, { rid: 1, code: long, message: long })) as { code: string; message: string };
    assert.equal(error.code, 'r'.repeat(TEXT_LIMITS.code));
    assert.equal(error.message, 'r'.repeat(TEXT_LIMITS.message));
    const addresses = ['10.0.0.1', 'fe80::1%eth0', '1'.repeat(65), 'a b', '\u0001', 'ä.example', 'host-1.lan'];
    assert.deepEqual(field(relay, raw(0x20, { rid: 1, name: 'a', port: 1, addresses }), 'addresses'), ['10.0.0.1', 'fe80::1%eth0', 'host-1.lan']);
  });
});

describe('our own messages keep the same limits', () => {
  it('encoding cuts what a peer would cut, so what we send is what it reads', () => {
    const sent = PEER_MESSAGES.encode({ type: 'bye', reason: '😀'.repeat(70_000) });
    assert.ok(sent.length < 300);
    assert.deepEqual(PEER_MESSAGES.decode(sent), { type: 'bye', reason: '😀'.repeat(64) });
    const presence = PEER_MESSAGES.decode(
      PEER_MESSAGES.encode({ type: 'presence', event: 'lost', peer: { name: 'p'.repeat(500), fingerprint: FINGERPRINT }, reason: 'q'.repeat(500) }),
    );
    assert.deepEqual(presence, {
      type: 'presence',
      event: 'lost',
      peer: { name: 'p'.repeat(TEXT_LIMITS.nickname), fingerprint: FINGERPRINT },
      reason: 'q'.repeat(TEXT_LIMITS.reason),
    });
  });

  it('a message our reader would refuse is not sent', () => {
    assert.throws(
      () => PEER_MESSAGES.encode({ type: 'chat', id: 'c', time: 1, text: 'x'.repeat(TEXT_LIMITS.text + 1) }),
      (err: unknown) => err instanceof TypeError && /cannot send this chat message: .*16384-byte limit/.test(err.message),
    );
  });

  it('a message that would not fit in a frame is refused loudly at encoding, naming the limit', () => {
    const unbounded = new MessageCodec<{ type: 'note'; text: string }>([codecTable({ note: json(0x01, (body) => ({ text: String(body.text) })) })]);
    const error = throwsCode(() => unbounded.encode({ type: 'note', text: 'x'.repeat(MAX_PLAINTEXT) }), 'ERR_FRAME_TOO_LARGE');
    assert.equal(error.message, `a note message of ${MAX_PLAINTEXT + 12} bytes is over the ${MAX_PLAINTEXT}-byte frame limit`);
    assert.equal(unbounded.encode({ type: 'note', text: 'x'.repeat(MAX_PLAINTEXT - 12) }).length, MAX_PLAINTEXT);
  });
});

describe('the largest message a host passes on, or a relay answers with, fits in a frame', () => {
  /** Every string at its limit and of the kind JSON writes longest; chat text as the reader leaves it. */
  function largest(unit: string) {
    const name = huge(unit);
    const peer = { name, fingerprint: FINGERPRINT };
    const text = unit === '\u0001' ? '"'.repeat(TEXT_LIMITS.text) : unit.repeat(Math.floor(TEXT_LIMITS.text / bytes(unit)));
    const record = { name, fingerprint: FINGERPRINT, observed: huge('1'), port: 65_535, addresses: Array(MAX_REGISTERED_ADDRESSES).fill('f'.repeat(64)) };
    const messages: Known[] = [
      { type: 'forwarded', from: peer, id: huge(unit), time: -Number.MAX_VALUE, text, action: true },
      { type: 'presence', event: 'renamed', peer, reason: huge(unit) },
      { type: 'bye', reason: huge(unit) },
      { type: 'nick', name },
      { type: 'lookup-result', rid: Number.MIN_SAFE_INTEGER, peers: Array(MAX_LOOKUP_RESULTS).fill(record) },
      { type: 'session', rid: Number.MIN_SAFE_INTEGER, token: 'ab'.repeat(32), peer: record },
      { type: 'invite', token: 'ab'.repeat(32), from: peer },
      { type: 'relay-error', rid: Number.MIN_SAFE_INTEGER, code: huge(unit), message: huge(unit) },
    ];
    return messages;
  }

  it('with every string at its limit, of the characters JSON escapes most', () => {
    for (const unit of WORST) {
      for (const message of largest(unit)) {
        const size = encodeMessage(message).length;
        assert.ok(size <= MAX_PLAINTEXT, `${message.type} of ${JSON.stringify(unit)}: ${size} bytes`);
      }
    }
    const forwarded = PEER_MESSAGES.encode(largest('"')[0]!).length;
    assert.ok(forwarded > 32_768 && forwarded < MAX_PLAINTEXT - 16_384, `a forwarded message is at most ${forwarded} bytes`);
  });

  it('fuzz: a chat a hostile peer sends, forwarded with the sender at its limits, fits', () => {
    let state = 0x2545f491;
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const pool = [...WORST, '\\', '\n', '\u007f', 'é', '😀', '\u2028', 'a'];
    for (let round = 0; round < 200; round++) {
      const unit = pool[random(pool.length)]!;
      const mixed = Array.from({ length: 64 }, () => pool[random(pool.length)]!.repeat(1 + random(400))).join('');
      const text = cutUtf8(unit.repeat(random(TEXT_LIMITS.text)) + mixed, TEXT_LIMITS.text);
      const received = PEER_MESSAGES.decode(raw(MESSAGE_TYPES.chat, { id: huge(unit), time: 1e300, text, action: true }));
      assert.ok(received.type === 'chat');
      const { type: _, ...chat } = received;
      const size = PEER_MESSAGES.encode({ type: 'forwarded', from: { name: huge(unit), fingerprint: FINGERPRINT }, ...chat }).length;
      assert.ok(size <= MAX_PLAINTEXT, `${size} bytes`);
    }
  });
});

