// Each dialler's share of relayed sessions: per key and per IP address, pending apart from the
// total; a session that opens stops counting as pending, and one that ends frees its place.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionQuota } from '../../../src/relay/session-quota.js';

const ROOMY = { maxSessionsPerKey: 100, maxPendingSessionsPerKey: 100, maxSessionsPerIp: 100, maxPendingSessionsPerIp: 100 };
const ALICE = { key: 'KEY-ALICE', ip: '192.0.2.1' };
const ALICE_ELSEWHERE = { key: 'KEY-ALICE', ip: '198.51.100.7' };
const CAROL = { key: 'KEY-CAROL', ip: '192.0.2.1' };
const DAVE = { key: 'KEY-DAVE', ip: '203.0.113.5' };

describe('SessionQuota', () => {
  it('caps the sessions of one key waiting for their connections, from any address', () => {
    const q = new SessionQuota({ ...ROOMY, maxPendingSessionsPerKey: 2 });
    q.reserve(ALICE);
    q.reserve(ALICE_ELSEWHERE);
    assert.match(q.refuse(ALICE) ?? '', /too many of your sessions waiting for their connections \(2\)/);
    assert.match(q.refuse(ALICE_ELSEWHERE) ?? '', /waiting/, 'the same key from another address');
    assert.equal(q.refuse(CAROL), undefined, 'another key from the same address');
  });

  it('a session that opens no longer counts as pending, but still counts against the total', () => {
    const q = new SessionQuota({ ...ROOMY, maxPendingSessionsPerKey: 1, maxSessionsPerKey: 2 });
    const first = q.reserve(ALICE);
    assert.notEqual(q.refuse(ALICE), undefined);
    q.opened(first);
    assert.equal(q.refuse(ALICE), undefined);
    const second = q.reserve(ALICE);
    q.opened(second);
    assert.match(q.refuse(ALICE) ?? '', /too many relayed sessions for your key \(2\)/);
    assert.deepEqual(q.usage(ALICE).key, { total: 2, pending: 0 });
    q.release(first);
    assert.equal(q.refuse(ALICE), undefined);
  });

  it('caps the sessions dialled from one address, whatever the keys', () => {
    const q = new SessionQuota({ ...ROOMY, maxPendingSessionsPerIp: 2, maxSessionsPerIp: 3 });
    const a = q.reserve(ALICE);
    const c = q.reserve(CAROL);
    assert.match(q.refuse({ key: 'KEY-NEW', ip: '192.0.2.1' }) ?? '', /too many sessions from 192\.0\.2\.1 waiting for their connections \(2\)/);
    assert.equal(q.refuse(DAVE), undefined, 'another address is not affected');
    q.opened(a);
    q.opened(c);
    q.reserve(CAROL);
    assert.match(q.refuse(ALICE) ?? '', /too many relayed sessions from 192\.0\.2\.1 \(3\)/);
    assert.deepEqual(q.usage(ALICE).ip, { total: 3, pending: 1 });
  });

  it('release is idempotent and forgets a dialler with nothing left', () => {
    const q = new SessionQuota({ ...ROOMY, maxPendingSessionsPerKey: 1 });
    const t = q.reserve(ALICE);
    q.release(t);
    q.release(t);
    q.opened(t);
    assert.deepEqual(q.usage(ALICE), { key: { total: 0, pending: 0 }, ip: { total: 0, pending: 0 } });
    assert.equal(q.refuse(ALICE), undefined);
    const u = q.reserve(ALICE);
    q.opened(u);
    q.release(u);
    assert.deepEqual(q.usage(ALICE).key, { total: 0, pending: 0 }, 'an opened session frees only its total');
  });
});
