// How addresses are written for people, and whom a per-address cap counts a connection against.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressGroup, formatHostPort, plainHost } from '../../../src/net/address.js';

describe('addresses', () => {
  it('writes IPv4-mapped IPv6 as plain IPv4, and IPv6 in brackets', () => {
    assert.equal(plainHost('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(formatHostPort('::ffff:192.0.2.7', 5050), '192.0.2.7:5050');
    assert.equal(formatHostPort('2001:db8::7', 5050), '[2001:db8::7]:5050');
  });

  it('counts IPv4 by address and IPv6 by its /64', () => {
    const cases: Array<[string, string]> = [
      ['192.0.2.7', '192.0.2.7'],
      ['::ffff:198.51.100.9', '198.51.100.9'],
      ['2001:db8:1:2::7', '2001:db8:1:2::/64'],
      ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0002:0:0:0:1', '2001:db8:1:2::/64'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ];
    for (const [host, group] of cases) assert.equal(addressGroup(host), group, host);
    assert.equal(addressGroup('2001:db8:1:2::1'), addressGroup('2001:db8:1:2:ffff::9'), 'one /64, one share');
    assert.notEqual(addressGroup('2001:db8:1:2::1'), addressGroup('2001:db8:1:3::1'));
  });
});
