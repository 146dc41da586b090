// The endpoint probe datagrams byte for byte, cut or stretched at every byte, and everything that
// is not one of them dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeEndpointDatagram,
  encodeEndpointDatagram,
  ENDPOINT_PROBE_SIZE,
  type EndpointDatagram,
} from '../../../src/net/endpoint-probe.js';

const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');
const NONCE = hex('0011223344556677');
const ZEROS = '00'.repeat(18);

const CASES: Array<[string, EndpointDatagram]> = [
  [`5032504f 01 01 00 00 0011223344556677 ${ZEROS}`, { type: 'probe', nonce: NONCE }],
  [
    '5032504f 01 02 04 00 0011223344556677 a0f6 cb007109 000000000000000000000000',
    { type: 'seen', nonce: NONCE, host: '203.0.113.9', port: 41_206 },
  ],
  [
    '5032504f 01 02 06 00 0011223344556677 0001 20010db8000000000000000000000007',
    { type: 'seen', nonce: NONCE, host: '2001:db8::7', port: 1 },
  ],
  [
    '5032504f 01 02 06 00 0011223344556677 ffff 20010db8000100000000000100000000',
    { type: 'seen', nonce: NONCE, host: '2001:db8:1::1:0:0', port: 65_535 },
  ],
  [
    '5032504f 01 02 06 00 0011223344556677 1398 00000000000000000000000000000001',
    { type: 'seen', nonce: NONCE, host: '::1', port: 5016 },
  ],
  [
    '5032504f 01 02 06 00 0011223344556677 1398 fe800000000000000001000200030004',
    { type: 'seen', nonce: NONCE, host: 'fe80::1:2:3:4', port: 5016 },
  ],
];

describe('endpoint probe datagrams', () => {
  it('encode and decode each as the layout in docs/protocol.md says', () => {
    for (const [bytes, message] of CASES) {
      assert.equal(encodeEndpointDatagram(message).toString('hex'), hex(bytes).toString('hex'), JSON.stringify(message));
      assert.deepEqual(decodeEndpointDatagram(hex(bytes)), message, bytes);
    }
  });

  it('are all the same size, so a seen is never larger than the probe it answers', () => {
    for (const [, message] of CASES) assert.equal(encodeEndpointDatagram(message).length, ENDPOINT_PROBE_SIZE);
  });

  it('write a seen for the host as a socket reports it: IPv4-mapped as IPv4, a scope dropped, any IPv6 spelling', () => {
    const seen = (host: string) => encodeEndpointDatagram({ type: 'seen', nonce: NONCE, host, port: 41_206 });
    assert.deepEqual(seen('::ffff:203.0.113.9'), seen('203.0.113.9'));
    assert.deepEqual(seen('fe80::1:2:3:4%eth0'), seen('fe80::1:2:3:4'));
    assert.deepEqual(seen('2001:DB8:0:0:0:0:0:7'), seen('2001:db8::7'));
    assert.deepEqual(seen('::ffff:cb00:7109'), seen('203.0.113.9'));
    assert.deepEqual(decodeEndpointDatagram(seen('64:ff9b::192.0.2.1')), { type: 'seen', nonce: NONCE, host: '64:ff9b::c000:201', port: 41_206 });
  });

  it('refuse to encode what is not an address, a port or a nonce', () => {
    assert.throws(() => encodeEndpointDatagram({ type: 'seen', nonce: NONCE, host: 'relay.example.org', port: 1 }), RangeError);
    assert.throws(() => encodeEndpointDatagram({ type: 'seen', nonce: NONCE, host: '192.0.2.1', port: 0 }), RangeError);
    assert.throws(() => encodeEndpointDatagram({ type: 'probe', nonce: NONCE.subarray(1) }), RangeError);
  });

  it('decode from a view into a larger buffer, and keep the nonce when the buffer is reused', () => {
    const [bytes, message] = CASES[1]!;
    const big = Buffer.concat([hex('ffff'), hex(bytes), hex('ffff')]);
    const decoded = decodeEndpointDatagram(big.subarray(2, 2 + ENDPOINT_PROBE_SIZE));
    big.fill(0);
    assert.deepEqual(decoded, message);
  });

  it('drop every datagram cut short or stretched at any byte', () => {
    for (const [bytes] of CASES) {
      const whole = hex(bytes);
      for (let cut = 0; cut < whole.length; cut++) assert.equal(decodeEndpointDatagram(whole.subarray(0, cut)), undefined, `${bytes} cut at ${cut}`);
      for (let at = 0; at <= whole.length; at++) {
        const stretched = Buffer.concat([whole.subarray(0, at), hex('00'), whole.subarray(at)]);
        assert.equal(decodeEndpointDatagram(stretched), undefined, `${bytes} with a byte at ${at}`);
      }
    }
  });

  it('drop anything else: magic, version, type, family, padding, port 0, an IPv4 address written as IPv6', () => {
    const bad = [
      `50325055 01 01 00 00 0011223344556677 ${ZEROS}`, // the rendezvous' magic "P2PU"
      `ff010000 01 01 00 00 0011223344556677 ${ZEROS}`, // a udx packet's start
      `5032504f 02 01 00 00 0011223344556677 ${ZEROS}`, // version
      `5032504f 01 00 00 00 0011223344556677 ${ZEROS}`, // type 0
      `5032504f 01 03 00 00 0011223344556677 ${ZEROS}`, // type 3
      `5032504f 01 01 04 00 0011223344556677 ${ZEROS}`, // a probe with a family
      `5032504f 01 01 00 01 0011223344556677 ${ZEROS}`, // a probe with byte 7 set
      '5032504f 01 01 00 00 0011223344556677 0001 00000000000000000000000000000000', // a probe with a port
      '5032504f 01 01 00 00 0011223344556677 0000 00000000000000000000000000000001', // a probe with an address
      '5032504f 01 02 00 00 0011223344556677 a0f6 cb007109000000000000000000000000', // a seen without a family
      '5032504f 01 02 05 00 0011223344556677 a0f6 cb007109000000000000000000000000', // family 5
      '5032504f 01 02 04 01 0011223344556677 a0f6 cb007109000000000000000000000000', // byte 7 set
      '5032504f 01 02 04 00 0011223344556677 0000 cb007109000000000000000000000000', // port 0
      '5032504f 01 02 04 00 0011223344556677 a0f6 cb007109000000000000000000000001', // bytes past the IPv4 address
      '5032504f 01 02 06 00 0011223344556677 a0f6 00000000000000000000ffffcb007109', // IPv4 written as IPv6
    ];
    for (const bytes of bad) assert.equal(decodeEndpointDatagram(hex(bytes)), undefined, bytes);
  });
});
