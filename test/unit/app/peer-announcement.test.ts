import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { instanceName, parseHeardService, txtRecord } from '../../../src/app/peer-announcement.js';
import { orderAddresses } from '../../../src/net/address-order.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';

const FP = fingerprintOf(Buffer.alloc(32, 1));
const NOW = 1_795_000_000_000;
const good = () => ({
  name: `laptop ${FP.slice(0, 7)}`,
  port: 5050,
  txt: { fp: FP, name: 'laptop', v: '1' },
  addresses: ['192.0.2.11'],
});

describe('announcement records', () => {
  it('names the instance "<nickname> <short fingerprint>" within one 63-byte DNS label', () => {
    assert.equal(instanceName('laptop', FP), `laptop ${FP.slice(0, 7)}`);
    const long = instanceName('ü'.repeat(40), FP);
    assert.ok(Buffer.byteLength(long) <= 63);
    assert.ok(long.endsWith(` ${FP.slice(0, 7)}`));
    assert.doesNotMatch(long, /\uFFFD/);
  });

  it('TXT carries fp, name and v', () => {
    assert.deepEqual(txtRecord({ name: 'laptop', fingerprint: FP, port: 5050, version: 1 }), { fp: FP, name: 'laptop', v: '1' });
  });

  it('TXT carries udp when the peer listens on UDP too', () => {
    assert.deepEqual(txtRecord({ name: 'laptop', fingerprint: FP, port: 5050, udpPort: 5050, version: 1 }), { fp: FP, name: 'laptop', v: '1', udp: '5050' });
  });
});

describe('parseHeardService', () => {
  const order = (a: string[]) => orderAddresses(a);

  it('reads a well-formed announcement', () => {
    const peer = parseHeardService(good(), NOW, order);
    assert.deepEqual(peer, {
      instance: `laptop ${FP.slice(0, 7)}`,
      name: 'laptop',
      fingerprint: FP,
      version: 1,
      port: 5050,
      addresses: ['192.0.2.11'],
      lastSeen: NOW,
    });
  });

  it('reads the UDP port a peer announces, and takes a malformed one as no UDP', () => {
    const withUdp = (udp: unknown) => parseHeardService({ ...good(), txt: { fp: FP, name: 'laptop', v: '1', udp } }, NOW, order);
    assert.equal(withUdp('5050')?.udpPort, 5050);
    assert.equal(withUdp(Buffer.from('5051'))?.udpPort, 5051);
    for (const bad of ['0', '70000', 'x', '', '-1', 5050]) {
      const peer = withUdp(bad);
      assert.equal(peer?.port, 5050, `still read with udp=${String(bad)}`);
      assert.equal(peer && 'udpPort' in peer, false, `no udpPort with udp=${String(bad)}`);
    }
  });

  it('accepts TXT values delivered as Buffers and a lower-case fingerprint', () => {
    const heard = { ...good(), txt: { fp: Buffer.from(FP.toLowerCase()), name: Buffer.from('laptop'), v: Buffer.from('1') } };
    assert.equal(parseHeardService(heard, NOW, order)?.fingerprint, FP);
  });

  it('ignores, rather than trusts, a record with a missing or malformed field', () => {
    const broken: Array<[string, object]> = [
      ['no txt', { ...good(), txt: undefined }],
      ['no fp', { ...good(), txt: { name: 'laptop', v: '1' } }],
      ['fp with a bad check character', { ...good(), txt: { fp: FP.slice(0, -1) + (FP.endsWith('A') ? 'B' : 'A'), name: 'laptop', v: '1' } }],
      ['short fp', { ...good(), txt: { fp: FP.slice(0, 20), name: 'laptop', v: '1' } }],
      ['no name', { ...good(), txt: { fp: FP, v: '1' } }],
      ['version not a number', { ...good(), txt: { fp: FP, name: 'laptop', v: 'one' } }],
      ['port 0', { ...good(), port: 0 }],
      ['port too large', { ...good(), port: 70000 }],
      ['port not a number', { ...good(), port: '5050' }],
      ['no instance name', { ...good(), name: '' }],
      ['no addresses', { ...good(), addresses: [] }],
      ['only garbage addresses', { ...good(), addresses: ['not-an-ip', 42] }],
      ['only loopback', { ...good(), addresses: ['127.0.0.1'] }],
    ];
    for (const [why, heard] of broken) assert.equal(parseHeardService(heard, NOW, order), undefined, why);
  });

  it('sanitises the nickname a peer announces', () => {
    const heard = { ...good(), txt: { fp: FP, name: 'evil\x1b[2Jname\nnext', v: '1' } };
    assert.equal(parseHeardService(heard, NOW, order)?.name, 'evilname next');
  });
});

describe('orderAddresses', () => {
  it('puts IPv4 first, then global IPv6, then scoped link-local; drops unusable ones', () => {
    const ordered = orderAddresses(['fe80::1', '2001:db8::7', '192.0.2.11', '127.0.0.1', '::1', 'fe80::2%eth0', '192.0.2.11']);
    assert.deepEqual(ordered, ['192.0.2.11', '2001:db8::7', 'fe80::2%eth0']);
  });

  it('adds a scope to bare link-local addresses when one is known', () => {
    assert.deepEqual(orderAddresses(['fe80::1', '198.51.100.4'], 'veth0'), ['198.51.100.4', 'fe80::1%veth0']);
  });

  it('keeps the announced order within a family', () => {
    assert.deepEqual(orderAddresses(['203.0.113.9', '192.0.2.11']), ['203.0.113.9', '192.0.2.11']);
  });
});
