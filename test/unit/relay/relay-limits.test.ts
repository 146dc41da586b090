// Admission control: the peer cap, the per-address cap and the open-file headroom, each with the
// line a refused peer is told; and reading the process's open-file limit.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLimit, softFdLimit } from '../../../src/relay/fd-limit.js';
import { Admission } from '../../../src/relay/relay-limits.js';

const ROOMY = { maxPeers: 100, maxConnectionsPerIp: 100, fdLimit: 10_000, fdHeadroom: 100 };

describe('Admission', () => {
  it('refuses control connections past maxPeers, and admits again once one leaves', () => {
    const a = new Admission({ ...ROOMY, maxPeers: 1 });
    a.opened('192.0.2.1');
    assert.equal(a.refuseControl('192.0.2.1'), undefined);
    a.peerAdded();
    a.opened('192.0.2.2');
    assert.match(a.refuseControl('192.0.2.2') ?? '', /relay is full \(1 peers connected\)/);
    a.peerRemoved();
    assert.equal(a.refuseControl('192.0.2.2'), undefined);
  });

  it('refuses connections past the per-address cap, for control and data alike', () => {
    const a = new Admission({ ...ROOMY, maxConnectionsPerIp: 2 });
    for (let i = 0; i < 3; i++) a.opened('192.0.2.1');
    a.opened('192.0.2.9');
    assert.match(a.refuseControl('192.0.2.1') ?? '', /more than 2 connections from 192\.0\.2\.1/);
    assert.match(a.refuseData('192.0.2.1') ?? '', /more than 2 connections/);
    assert.equal(a.refuseData('192.0.2.9'), undefined);
    a.closed('192.0.2.1');
    assert.equal(a.refuseData('192.0.2.1'), undefined);
    assert.equal(a.open, 3);
  });

  it('answers "full" near the open-file limit, and drops on accept closer still', () => {
    const a = new Admission({ ...ROOMY, fdLimit: 300, fdHeadroom: 100 });
    for (let i = 0; i < 200; i++) a.opened(`10.0.0.${i % 250}`);
    assert.equal(a.refuseControl('10.0.0.1'), undefined);
    a.opened('10.0.0.1');
    assert.match(a.refuseControl('10.0.0.1') ?? '', /near its limit of 300 open files/);
    assert.equal(a.hardCeiling, 250);
    assert.equal(new Admission({ ...ROOMY, fdLimit: Infinity }).hardCeiling, 0, 'no ceiling when unlimited');
  });
});

describe('open-file limit', () => {
  it('parses numbers and "unlimited", and refuses anything else', () => {
    assert.equal(parseLimit('1024'), 1024);
    assert.equal(parseLimit('unlimited'), Infinity);
    assert.equal(parseLimit('0'), undefined);
    assert.equal(parseLimit('lots'), undefined);
    assert.equal(parseLimit(undefined), undefined);
  });

  it('reads a positive limit from this process', () => {
    assert.ok(softFdLimit() > 0);
  });
});
