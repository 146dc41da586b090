// What relays say to each other over Redis is read like network input: each message round-trips,
// and anything else (too big, another version, a bad field, an unknown type) is refused with a
// reason, never half-read.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeClusterMessage, encodeClusterMessage, MAX_CLUSTER_MESSAGE_BYTES, type ClusterMessage } from '../../../src/relay/cluster-messages.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';

const FP = fingerprintOf(generateKeyPair().publicKey);
const FROM = 'relay-b.example.org:5050';
const RECORD = { name: 'laptop', fingerprint: FP, observed: '203.0.113.4:40000', port: 5050, udp: 5050, addresses: ['10.0.0.2'] };

const MESSAGES: ClusterMessage[] = [
  { type: 'dial', id: 7, from: FROM, a: { name: 'bob', fingerprint: FP }, b: FP, ip: '198.51.100.9' },
  { type: 'dial', id: 8, from: FROM, a: { name: 'bob', fingerprint: FP }, b: FP, ip: '2001:db8::/64', early: '5032' },
  { type: 'dial-answer', id: 7, from: FROM, ok: true, token: 'ab'.repeat(32), peer: RECORD },
  { type: 'dial-answer', id: 7, from: FROM, ok: false, code: 'ERR_PEER_NOT_FOUND', message: 'not here' },
  { type: 'moved', from: FROM, fingerprint: FP },
];

describe('cluster messages', () => {
  it('round-trip', () => {
    for (const message of MESSAGES) assert.deepEqual(decodeClusterMessage(encodeClusterMessage(message)), message);
  });

  it('refuse what is not one, saying why', () => {
    const dial = JSON.parse(encodeClusterMessage(MESSAGES[0]!)) as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      ['x'.repeat(MAX_CLUSTER_MESSAGE_BYTES + 1), /over 8192 bytes/],
      [[1, 2], /not a JSON object/],
      [{ ...dial, v: 2 }, /version 2/],
      [{ ...dial, from: 'not an address' }, /sender/],
      [{ ...dial, type: 'shout' }, /unknown type/],
      [{ ...dial, id: -1 }, /request id/],
      [{ ...dial, id: 1.5 }, /request id/],
      [{ ...dial, b: 'AAAA' }, /fingerprint/],
      [{ ...dial, early: 'XYZ' }, /hex/],
      [{ ...dial, a: null }, /peer reference/],
      [{ v: 1, type: 'dial-answer', id: 1, from: FROM, ok: true, token: 'zz', peer: RECORD }, /token/],
      [{ v: 1, type: 'dial-answer', id: 1, from: FROM, ok: true, token: 'ab'.repeat(32), peer: { name: 7 } }, /record|name/],
    ];
    for (const [value, why] of cases) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      assert.throws(() => decodeClusterMessage(text), why, text.slice(0, 60));
    }
    assert.throws(() => decodeClusterMessage('{not json'));
  });
});
