// The netlab's address guard: labs may only use TEST-NET and private IPv4 ranges. Pure; no root.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostOn, labNetwork } from '../helpers/lab-address.js';

describe('lab addresses', () => {
  it('accepts TEST-NET and private networks', () => {
    for (const cidr of ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.128/25', '10.1.0.0/16', '172.31.0.0/24', '192.168.7.0/24']) {
      assert.equal(labNetwork(cidr).text, cidr);
    }
  });

  it('refuses anything that could be a real address, and malformed networks', () => {
    for (const cidr of ['8.8.8.0/24', '172.32.0.0/24', '10.0.0.0/7', '0.0.0.0/0', '192.0.0.0/16']) {
      assert.throws(() => labNetwork(cidr), /outside the TEST-NET and private ranges/, cidr);
    }
    assert.throws(() => labNetwork('192.0.2.1/24'), /host bits set/);
    assert.throws(() => labNetwork('192.0.2.0'), /no prefix length/);
    assert.throws(() => labNetwork('192.0.2.0/33'), /not an IPv4 address or CIDR/);
  });

  it('a host address must be a usable address on its LAN, with the LAN prefix length', () => {
    const lan = labNetwork('192.0.2.0/24');
    assert.equal(hostOn(lan, '192.0.2.11/24').address, '192.0.2.11');
    assert.equal(hostOn(lan, '192.0.2.12').bits, 24);
    assert.throws(() => hostOn(lan, '192.0.3.1/24'), /not an address on 192\.0\.2\.0\/24/);
    assert.throws(() => hostOn(lan, '192.0.2.1/25'), /not an address on/);
    assert.throws(() => hostOn(lan, '192.0.2.0/24'), /network or broadcast/);
    assert.throws(() => hostOn(lan, '192.0.2.255/24'), /network or broadcast/);
    assert.throws(() => hostOn(lan, '192.0.2.011'), /not an IPv4 address/);
  });
});
