import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { interfaceFor } from '../../../src/net/interface-for.js';

const v4 = (address: string, netmask: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask,
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal,
  cidr: null,
});

const INTERFACES = {
  lo: [v4('127.0.0.1', '255.0.0.0', true)],
  eth0: [v4('192.0.2.2', '255.255.255.0')],
  wlan0: [v4('198.51.100.7', '255.255.255.128')],
};

describe('interfaceFor', () => {
  it('names the interface whose IPv4 subnet holds the address', () => {
    assert.equal(interfaceFor('192.0.2.11', INTERFACES), 'eth0');
    assert.equal(interfaceFor('198.51.100.100', INTERFACES), 'wlan0');
  });

  it('is undefined off every local subnet, for loopback-only matches and for non-IPv4 input', () => {
    assert.equal(interfaceFor('198.51.100.200', INTERFACES), undefined, 'outside the /25');
    assert.equal(interfaceFor('203.0.113.9', INTERFACES), undefined);
    assert.equal(interfaceFor('127.0.0.2', INTERFACES), undefined, 'internal interfaces are skipped');
    assert.equal(interfaceFor('fe80::1', INTERFACES), undefined);
  });
});
