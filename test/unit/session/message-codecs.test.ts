// The codec tables and the wire format of every session message, pinned as hex: each sample must
// encode to exactly these bytes and decode back from them, and any prefix or suffix of them either
// decodes or is refused with ERR_BAD_MESSAGE. A second implementation can be checked against the hex.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import { CHAT_CODECS, CONNECTION_CODECS } from '../../../src/session/chat-messages.js';
import { DELIVERY_CODECS } from '../../../src/session/delivery-messages.js';
import { FILE_CODECS } from '../../../src/session/file-messages.js';
import { codecTable, json, MessageCodec, type CodecTable } from '../../../src/session/message-codec.js';
import { PATH_CODECS } from '../../../src/session/path-messages.js';
import { RELAY_CODECS } from '../../../src/session/relay-messages.js';
import { decodeMessage, encodeMessage, type SessionMessage } from '../../../src/session/session-messages.js';

type Known = Exclude<SessionMessage, { type: 'unknown' }>;

const FINGERPRINT = 'MSFKLRL-Z7MYPHT-CXXITMX-23WIIDH-D2SETXU-SM2BV44-A6PTTCT-WKBEFQI';
const PEER = { name: 'carol', fingerprint: FINGERPRINT };
const RECORD = { name: 'dave', fingerprint: FINGERPRINT, observed: '198.51.100.7:4242', port: 5050, addresses: ['10.0.0.2'] };
const ID = '0123456789abcdef';
const SHA = 'ab'.repeat(32);
const TOKEN = 'cd'.repeat(32);
const CONVERSATION = '00112233445566778899aabbccddeeff';

/** One sample of every message type (and of each optional field), with the bytes it is on the wire. */
const SAMPLES: ReadonlyArray<readonly [Known, string]> = [
  [
    { type: 'chat', id: 'm1', time: 1_700_000_000_000, text: 'hi 😀' },
    '017b226964223a226d31222c2274696d65223a313730303030303030303030302c2274657874223a22686920f09f9880227d',
  ],
  [
    { type: 'chat', id: 'm2', time: 5, text: 'waves', action: true },
    '017b226964223a226d32222c2274696d65223a352c2274657874223a227761766573222c22616374696f6e223a747275657d',
  ],
  [{ type: 'bye', reason: 'see you' }, '027b22726561736f6e223a2273656520796f75227d'],
  [{ type: 'ping', nonce: 42 }, '037b226e6f6e6365223a34327d'],
  [{ type: 'pong', nonce: 42 }, '047b226e6f6e6365223a34327d'],
  [{ type: 'nick', name: 'alice2' }, '057b226e616d65223a22616c69636532227d'],
  [
    { type: 'presence', event: 'joined', peer: PEER },
    `067b226576656e74223a226a6f696e6564222c2270656572223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c
     2d5a374d595048542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d7d`,
  ],
  [
    { type: 'presence', event: 'joined', peer: PEER, present: true },
    `067b226576656e74223a226a6f696e6564222c2270656572223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c
     2d5a374d595048542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d2c2270726573
     656e74223a747275657d`,
  ],
  [
    { type: 'presence', event: 'left', peer: PEER, reason: 'lunch' },
    `067b226576656e74223a226c656674222c2270656572223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c2d5a
     374d595048542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d2c22726561736f6e
     223a226c756e6368227d`,
  ],
  [
    { type: 'forwarded', from: PEER, id: 'f1', time: 12, text: 'relayed' },
    `077b2266726f6d223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c2d5a374d595048542d43585849544d582d
     323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d2c226964223a226631222c2274696d65223a31322c2274
     657874223a2272656c61796564227d`,
  ],
  [
    { type: 'file-offer', id: ID, files: [{ path: 'a/日本.txt', size: 12 }], more: false },
    `087b226964223a2230313233343536373839616263646566222c2266696c6573223a5b7b2270617468223a22612fe697a5e69cac2e747874222c2273697a6522
     3a31327d5d2c226d6f7265223a66616c73657d`,
  ],
  [
    { type: 'file-accept', id: ID, resume: [{ index: 0, have: 1024, sha256: SHA }] },
    `097b226964223a2230313233343536373839616263646566222c22726573756d65223a5b7b22696e646578223a302c2268617665223a313032342c2273686132
     3536223a226162616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261
     6261626162227d5d7d`,
  ],
  [{ type: 'file-decline', id: ID, reason: 'no' }, '0a7b226964223a2230313233343536373839616263646566222c22726561736f6e223a226e6f227d'],
  [
    { type: 'file-start', id: ID, index: 3, offset: 5_000_000_000 },
    '0b7b226964223a2230313233343536373839616263646566222c22696e646578223a332c226f6666736574223a353030303030303030307d',
  ],
  [{ type: 'file-data', id: ID, data: Buffer.from([0x00, 0x7b, 0xff]) }, '0c0123456789abcdef007bff'],
  [
    { type: 'file-end', id: ID, index: 2, sha256: SHA },
    `0d7b226964223a2230313233343536373839616263646566222c22696e646578223a322c22736861323536223a22616261626162616261626162616261626162
     61626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162227d`,
  ],
  [{ type: 'file-ack', id: ID, bytes: 65_536 }, '0e7b226964223a2230313233343536373839616263646566222c226279746573223a36353533367d'],
  [
    { type: 'file-verified', id: ID, index: 9, sha256: SHA },
    `0f7b226964223a2230313233343536373839616263646566222c22696e646578223a392c22736861323536223a22616261626162616261626162616261626162
     61626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162227d`,
  ],
  [
    { type: 'file-resend', id: ID, index: 1, reason: 'mismatch' },
    '107b226964223a2230313233343536373839616263646566222c22696e646578223a312c22726561736f6e223a226d69736d61746368227d',
  ],
  [
    { type: 'file-cancel', id: ID, reason: 'cancelled' },
    '117b226964223a2230313233343536373839616263646566222c22726561736f6e223a2263616e63656c6c6564227d',
  ],
  [
    { type: 'file-cancel', id: ID, reason: 'disk full', code: 'ERR_FILE_WRITE' },
    `117b226964223a2230313233343536373839616263646566222c22726561736f6e223a226469736b2066756c6c222c22636f6465223a224552525f46494c455f
     5752495445227d`,
  ],
  [{ type: 'ack', n: 0 }, '127b226e223a307d'],
  [{ type: 'ack', n: 9_007_199_254_740_991 }, '127b226e223a393030373139393235343734303939317d'],
  [
    { type: 'conversation', id: CONVERSATION, received: 0 },
    '137b226964223a223030313132323333343435353636373738383939616162626363646465656666222c227265636569766564223a307d',
  ],
  [
    { type: 'conversation', id: CONVERSATION, received: 5, resumed: true },
    `137b226964223a223030313132323333343435353636373738383939616162626363646465656666222c227265636569766564223a352c22726573756d6564
     223a747275657d`,
  ],
  [
    { type: 'conversation', id: CONVERSATION, received: 3, move: true },
    '137b226964223a223030313132323333343435353636373738383939616162626363646465656666222c227265636569766564223a332c226d6f7665223a747275657d',
  ],
  [
    {
      type: 'path-offer',
      attempt: 1,
      candidates: [
        { kind: 'udp', host: '203.0.113.9', port: 41234 },
        { kind: 'tcp-open', host: '2001:db8::7', port: 5050 },
      ],
    },
    `307b22617474656d7074223a312c2263616e64696461746573223a5b7b226b696e64223a22756470222c22686f7374223a223230332e302e3131332e39222c22
     706f7274223a34313233347d2c7b226b696e64223a227463702d6f70656e222c22686f7374223a22323030313a6462383a3a37222c22706f7274223a353035307d5d7d`,
  ],
  [{ type: 'path-sync', attempt: 1 }, '317b22617474656d7074223a317d'],
  [{ type: 'reached', to: PEER, ids: ['0123456789abcdef'] }, `147b22746f223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c2d5a374d595048542d43585849544d582d3233
     57494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d2c22696473223a5b2230313233343536373839616263646566
     225d7d`],
  [{ type: 'reached', to: PEER, ids: [], missed: ['0123456789abcdef'] }, `147b22746f223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c2d5a374d595048542d43585849544d582d3233
     57494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d2c22696473223a5b5d2c226d6973736564223a5b2230313233
     343536373839616263646566225d7d`],
  [
    { type: 'register', rid: 1, name: 'alice', port: 4000, addresses: ['10.0.0.1'] },
    '207b22726964223a312c226e616d65223a22616c696365222c22706f7274223a343030302c22616464726573736573223a5b2231302e302e302e31225d7d',
  ],
  [
    { type: 'register', rid: 1, name: 'alice', port: 4000, udp: 4000, addresses: ['10.0.0.1'] },
    '207b22726964223a312c226e616d65223a22616c696365222c22706f7274223a343030302c22756470223a343030302c22616464726573736573223a5b2231302e302e302e31225d7d',
  ],
  [{ type: 'registered', rid: 1, observed: '203.0.113.5:4000' }, '217b22726964223a312c226f62736572766564223a223230332e302e3131332e353a34303030227d'],
  [{ type: 'lookup', rid: 2, query: 'dave' }, '227b22726964223a322c227175657279223a2264617665227d'],
  [
    { type: 'lookup-result', rid: 2, peers: [RECORD] },
    `237b22726964223a322c227065657273223a5b7b226e616d65223a2264617665222c2266696e6765727072696e74223a224d53464b4c524c2d5a374d59504854
     2d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149222c226f62736572766564223a223139
     382e35312e3130302e373a34323432222c22706f7274223a353035302c22616464726573736573223a5b2231302e302e302e32225d7d5d7d`,
  ],
  [
    { type: 'dial', rid: 3, fingerprint: FINGERPRINT },
    `247b22726964223a332c2266696e6765727072696e74223a224d53464b4c524c2d5a374d595048542d43585849544d582d323357494944482d44325345545855
     2d534d32425634342d413650545443542d574b4245465149227d`,
  ],
  [
    { type: 'dial', rid: 3, fingerprint: FINGERPRINT, early: '50325043484154010020' },
    `247b22726964223a332c2266696e6765727072696e74223a224d53464b4c524c2d5a374d595048542d43585849544d582d323357494944482d44325345545855
     2d534d32425634342d413650545443542d574b4245465149222c226561726c79223a223530333235303433343834313534303130303230227d`,
  ],
  [
    { type: 'session', rid: 3, token: TOKEN, peer: RECORD },
    `257b22726964223a332c22746f6b656e223a22636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463
     64636463646364636463646364636463646364222c2270656572223a7b226e616d65223a2264617665222c2266696e6765727072696e74223a224d53464b4c52
     4c2d5a374d595048542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149222c226f627365
     72766564223a223139382e35312e3130302e373a34323432222c22706f7274223a353035302c22616464726573736573223a5b2231302e302e302e32225d7d7d`,
  ],
  [
    { type: 'session', rid: 3, token: TOKEN, peer: RECORD, observed: '203.0.113.5:4000' },
    `257b22726964223a332c22746f6b656e223a22636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463
     64636463646364636463646364636463646364222c2270656572223a7b226e616d65223a2264617665222c2266696e6765727072696e74223a224d53464b4c52
     4c2d5a374d595048542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149222c226f627365
     72766564223a223139382e35312e3130302e373a34323432222c22706f7274223a353035302c22616464726573736573223a5b2231302e302e302e32225d7d2c
     226f62736572766564223a223230332e302e3131332e353a34303030227d`,
  ],
  [
    { type: 'invite', token: TOKEN, from: PEER },
    `267b22746f6b656e223a226364636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463
     6463646364636463646364222c2266726f6d223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c2d5a374d5950
     48542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d7d`,
  ],
  [
    { type: 'invite', token: TOKEN, from: PEER, early: '50325043484154010020' },
    `267b22746f6b656e223a226364636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463
     6463646364636463646364222c2266726f6d223a7b226e616d65223a226361726f6c222c2266696e6765727072696e74223a224d53464b4c524c2d5a374d5950
     48542d43585849544d582d323357494944482d443253455458552d534d32425634342d413650545443542d574b4245465149227d2c226561726c79223a223530
     333235303433343834313534303130303230227d`,
  ],
  [
    { type: 'relay-error', rid: 4, code: 'ERR_PEER_NOT_FOUND', message: 'no such peer' },
    '277b22726964223a342c22636f6465223a224552525f504545525f4e4f545f464f554e44222c226d657373616765223a226e6f20737563682070656572227d',
  ],
  [
    { type: 'answer', token: TOKEN, early: '50325043484154010020' },
    `287b22746f6b656e223a226364636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463646364636463
     6463646364636463646364222c226561726c79223a223530333235303433343834313534303130303230227d`,
  ],
];

/** The pinned hex without the line breaks it is wrapped at. */
function hexOf(wrapped: string): string {
  return wrapped.replace(/\s+/g, '');
}

/** Decoded messages compare by content; file-data's bytes come back as a Buffer view. */
function normalised(message: SessionMessage): unknown {
  return message.type === 'file-data' ? { ...message, data: Buffer.from(message.data) } : message;
}

/** Decode, and say which way it went: a message, ERR_BAD_MESSAGE, or (a failure) anything else. */
function outcome(bytes: Uint8Array): string {
  try {
    return `decoded ${decodeMessage(bytes).type}`;
  } catch (err) {
    return P2PChatError.is(err, 'ERR_BAD_MESSAGE') ? 'ERR_BAD_MESSAGE' : `threw ${String(err)}`;
  }
}

describe('session message wire format', () => {
  it('encodes every sample to exactly the pinned bytes', () => {
    for (const [message, hex] of SAMPLES) {
      assert.equal(encodeMessage(message).toString('hex'), hexOf(hex), message.type);
    }
  });

  it('decodes the pinned bytes back to every sample', () => {
    for (const [message, hex] of SAMPLES) {
      assert.deepEqual(normalised(decodeMessage(Buffer.from(hexOf(hex), 'hex'))), normalised(message), message.type);
    }
  });

  it('decodes or refuses with ERR_BAD_MESSAGE every prefix and suffix of every sample', () => {
    for (const [message, hex] of SAMPLES) {
      const bytes = Buffer.from(hexOf(hex), 'hex');
      for (let cut = 0; cut <= bytes.length; cut++) {
        for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
          assert.match(outcome(part), /^(decoded |ERR_BAD_MESSAGE$)/, `${message.type} cut at ${cut}`);
        }
      }
    }
  });

  it('refuses malformed messages with these one-line errors', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['', 'empty message'],
      ['01', 'chat message is not a JSON object'],
      ['0e5b5d', 'file-ack message is not a JSON object'],
      ['207b', 'register message is not a JSON object'],
      ['057b7d', 'nick.name is not a string'],
      ['067b226576656e74223a2278227d', 'presence event is unknown'],
      ['0e7b7d', 'transfer id is not 16 hex digits'],
      ['0c0123', 'file-data is shorter than its header'],
      ['127b7d', 'ack.n is not a count'],
      ['127b226e223a2d317d', 'ack.n is not a count'],
      [
        '137b226964223a224142434445463031323334353637383941424344454630313233343536373839222c227265636569766564223a317d',
        'conversation.id is not 32 lower-case hex digits',
      ],
      ['137b226964223a2278222c227265636569766564223a307d', 'conversation.id is not 32 lower-case hex digits'],
      ['247b7d', 'dial.fingerprint is not a fingerprint'],
      ['267b22746f6b656e223a2278227d', 'token is malformed'],
    ];
    for (const [hex, why] of cases) {
      assert.throws(
        () => decodeMessage(Buffer.from(hex, 'hex')),
        (err: unknown) => P2PChatError.is(err, 'ERR_BAD_MESSAGE') && err.message === `peer sent a malformed message: ${why}`,
        hex,
      );
    }
    const long = Buffer.from(`01${Buffer.from(JSON.stringify({ id: 'a', time: 1, text: 'x'.repeat(16_385) })).toString('hex')}`, 'hex');
    assert.throws(
      () => decodeMessage(long),
      (err: unknown) => P2PChatError.is(err, 'ERR_MESSAGE_TOO_LONG') && err.message === 'peer sent a message over the 16384-byte limit',
    );
  });

  it('takes a first flight (dial, invite, answer) of 1 to 1,024 bytes of lower-case hex only', () => {
    const bodies = {
      dial: [0x24, { rid: 1, fingerprint: FINGERPRINT }],
      invite: [0x26, { token: TOKEN, from: PEER }],
      answer: [0x28, { token: TOKEN }],
    } as const;
    const decode = (code: number, body: object) => decodeMessage(Buffer.concat([Buffer.of(code), Buffer.from(JSON.stringify(body))]));
    const refusal = (field: string, why: string) => (err: unknown) =>
      P2PChatError.is(err, 'ERR_BAD_MESSAGE') && err.message === `peer sent a malformed message: ${field} ${why}`;
    for (const [type, [code, body]] of Object.entries(bodies)) {
      const longest = 'a0'.repeat(1024);
      assert.equal((decode(code, { ...body, early: longest }) as { early?: string }).early, longest, `${type}: 2,048 hex digits`);
      for (const early of ['abc', 'AB', 'aB', 'zz', '0x12', '', 'a0'.repeat(1025)]) {
        assert.throws(() => decode(code, { ...body, early }), refusal(`${type}.early`, 'is not 1 to 1024 bytes of lower-case hex'), `${type}: ${early}`);
      }
      for (const early of [42, null, ['ab'], { hex: 'ab' }]) {
        assert.throws(() => decode(code, { ...body, early }), refusal(`${type}.early`, 'is not a string'), `${type}: ${JSON.stringify(early)}`);
      }
    }
    assert.deepEqual(decode(0x24, bodies.dial[1]), { type: 'dial', rid: 1, fingerprint: FINGERPRINT }, 'a dial may go without');
    assert.deepEqual(decode(0x26, bodies.invite[1]), { type: 'invite', token: TOKEN, from: PEER }, 'an invite too');
    assert.throws(() => decode(0x28, bodies.answer[1]), refusal('answer.early', 'is not a string'), 'an answer may not');
  });
});

/** Each protocol's table and the type codes the protocol document gives it. */
const TABLES: ReadonlyArray<readonly [string, CodecTable, number, number]> = [
  ['connection', CONNECTION_CODECS, 0x02, 0x04],
  ['chat', CHAT_CODECS, 0x01, 0x07],
  ['delivery', DELIVERY_CODECS, 0x12, 0x1f],
  ['files', FILE_CODECS, 0x08, 0x11],
  ['relay', RELAY_CODECS, 0x20, 0x2f],
  ['path', PATH_CODECS, 0x30, 0x3f],
];

describe('path messages', () => {
  const offer = (candidates: unknown, attempt: unknown = 1) => decodeMessage(Buffer.concat([Buffer.of(0x30), Buffer.from(JSON.stringify({ attempt, candidates }))]));

  it('take only address literals, known kinds and real ports, at most 8 candidates', () => {
    const good = { kind: 'udp', host: '198.51.100.7', port: 1 };
    assert.deepEqual(offer([good, { ...good, kind: 'tcp', host: '::1', port: 65535 }]), {
      type: 'path-offer',
      attempt: 1,
      candidates: [good, { kind: 'tcp', host: '::1', port: 65535 }],
    });
    assert.deepEqual(offer([]), { type: 'path-offer', attempt: 1, candidates: [] });
    for (const [bad, why] of [
      [[{ ...good, host: 'example.org' }], /not an IP address/],
      [[{ ...good, host: '198.51.100.7:80' }], /not an IP address/],
      [[{ ...good, kind: 'quic' }], /unknown kind/],
      [[{ ...good, port: 0 }], /port is not 1-65535/],
      [[{ ...good, port: 70_000 }], /port is not 1-65535/],
      [[{ ...good, port: '5050' }], /port is not 1-65535/],
      [[null], /not an object/],
      [Array(9).fill(good), /at most 8/],
      ['198.51.100.7', /at most 8/],
    ] as const) {
      assert.throws(() => offer(bad), why, JSON.stringify(bad));
    }
    for (const attempt of [0, -1, 1.5, '1', 2 ** 32]) assert.throws(() => offer([], attempt), /attempt is not a number/, String(attempt));
  });
});

describe('codec tables', () => {
  it('give every row a sample here that round-trips through its type code', () => {
    for (const [, table] of TABLES) {
      for (const [type, row] of Object.entries(table)) {
        const samples = SAMPLES.filter(([message]) => message.type === type);
        assert.ok(samples.length > 0, `no sample of ${type}`);
        for (const [message] of samples) {
          const bytes = encodeMessage(message);
          assert.equal(bytes[0], row.code, type);
          assert.deepEqual(normalised(decodeMessage(bytes)), normalised(message), type);
        }
      }
    }
  });

  it('keep each protocol inside its documented range of codes, and no code twice', () => {
    const seen = new Map<number, string>();
    for (const [protocol, table, first, last] of TABLES) {
      for (const [type, { code }] of Object.entries(table)) {
        assert.ok(code >= first && code <= last, `${protocol} ${type} has code 0x${code.toString(16)}`);
        assert.equal(seen.get(code), undefined, `code 0x${code.toString(16)} is also ${type}`);
        seen.set(code, type);
      }
    }
  });

  it('are frozen, rows and all', () => {
    for (const [protocol, table] of TABLES) {
      assert.ok(Object.isFrozen(table), protocol);
      for (const [type, row] of Object.entries(table)) assert.ok(Object.isFrozen(row), type);
    }
  });

  it('decode the delivery and relay codes no row uses yet (0x15-0x1f, 0x29-0x2f) as unknown, whatever follows', () => {
    for (const code of [...Array.from({ length: 11 }, (_, i) => 0x15 + i), ...Array.from({ length: 7 }, (_, i) => 0x29 + i)]) {
      for (const body of ['', '{}', 'not json', '\u00ff']) {
        assert.deepEqual(decodeMessage(Buffer.concat([Buffer.of(code), Buffer.from(body)])), { type: 'unknown', code });
      }
    }
  });

  it('refuse, when the codec is built, two rows with one code or one type name', () => {
    const a = codecTable({ one: json(0x01, () => ({})) });
    assert.throws(() => new MessageCodec([a, codecTable({ two: json(0x01, () => ({})) })]), /code 0x1 is both one and two/);
    assert.throws(() => new MessageCodec([a, codecTable({ one: json(0x02, () => ({})) })]), /type one is in two tables/);
  });
});
