// The udx rendezvous datagrams byte for byte, and everything that is not one of them dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRendezvous, encodeRendezvous, RENDEZVOUS_SIZE, type RendezvousMessage } from '../../../src/net/udx-rendezvous.js';

const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');

const CASES: Array<[string, RendezvousMessage]> = [
  ['50325055 01 01 00 00 0000002a 00000000 00000000', { type: 'request', dialerId: 42, listenerId: 0, cookie: 0 }],
  ['50325055 01 02 00 00 0000002a 00000007 deadbeef', { type: 'accept', dialerId: 42, listenerId: 7, cookie: 0xdeadbeef }],
  ['50325055 01 03 01 00 0000002a 00000000 00000000', { type: 'refuse', dialerId: 42, listenerId: 0, cookie: 0, reason: 'full' }],
  ['50325055 01 03 02 00 0000002a 00000000 00000000', { type: 'refuse', dialerId: 42, listenerId: 0, cookie: 0, reason: 'busy' }],
  ['50325055 01 04 00 00 ffffffff 00000007 00000001', { type: 'confirm', dialerId: 0xffffffff, listenerId: 7, cookie: 1 }],
  ['50325055 01 05 00 00 0000002a 00000007 deadbeef', { type: 'confirmed', dialerId: 42, listenerId: 7, cookie: 0xdeadbeef }],
  ['50325055 01 06 00 00 00000000 00000000 00000000', { type: 'punch', dialerId: 0, listenerId: 0, cookie: 0 }],
];

describe('udx rendezvous datagrams', () => {
  it('encode and decode each type as the table in udx-rendezvous.ts says', () => {
    for (const [bytes, message] of CASES) {
      assert.equal(encodeRendezvous(message).toString('hex'), hex(bytes).toString('hex'), message.type);
      assert.deepEqual(decodeRendezvous(hex(bytes)), message, message.type);
    }
  });

  it('are all the same size, so no answer is larger than what it answers', () => {
    for (const [, message] of CASES) assert.equal(encodeRendezvous(message).length, RENDEZVOUS_SIZE);
  });

  it('decode from a view into a larger buffer', () => {
    const [bytes, message] = CASES[1]!;
    const big = Buffer.concat([hex('ffff'), hex(bytes), hex('ffff')]);
    assert.deepEqual(decodeRendezvous(big.subarray(2, 2 + RENDEZVOUS_SIZE)), message);
  });

  it('drop anything else: other sizes, magic, versions, types, reasons and zero ids', () => {
    const bad = [
      '',
      '50325055 01 01 00 00 0000002a 00000000 000000', // short
      '50325055 01 01 00 00 0000002a 00000000 00000000 00', // long
      'ff010000 01 01 00 00 0000002a 00000000 00000000', // a udx packet's start
      '50325056 01 01 00 00 0000002a 00000000 00000000', // magic
      '50325055 02 01 00 00 0000002a 00000000 00000000', // version
      '50325055 01 00 00 00 0000002a 00000000 00000000', // type 0
      '50325055 01 07 00 00 0000002a 00000007 00000001', // type 7
      '50325055 01 06 00 00 0000002a 00000000 00000000', // a punch naming a dialler stream
      '50325055 01 06 00 00 00000000 00000007 00000000', // a punch naming a listener stream
      '50325055 01 06 00 00 00000000 00000000 00000001', // a punch with a cookie
      '50325055 01 06 01 00 00000000 00000000 00000000', // a punch with a reason
      '50325055 01 03 00 00 0000002a 00000000 00000000', // refuse without a reason
      '50325055 01 03 03 00 0000002a 00000000 00000000', // unknown reason
      '50325055 01 02 01 00 0000002a 00000007 00000001', // a reason outside a refuse
      '50325055 01 01 00 00 00000000 00000000 00000000', // dialler id 0
      '50325055 01 01 00 00 0000002a 00000007 00000000', // a request naming a listener stream
      '50325055 01 03 01 00 0000002a 00000000 00000001', // a refuse with a cookie
      '50325055 01 02 00 00 0000002a 00000000 deadbeef', // an accept without a listener stream
      '50325055 01 04 00 00 0000002a 00000000 deadbeef', // a confirm without one
    ];
    for (const bytes of bad) assert.equal(decodeRendezvous(hex(bytes)), undefined, bytes);
  });
});
