// MemberReceipts: our chats waiting, per member of a host we dialled, for the host's word that the
// member acknowledged them; what a member never confirmed counts as not delivered once it is gone.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WAITING_PER_MEMBER, MAX_WAITING_TOTAL, MemberReceipts } from '../../../src/app/member-receipts.js';

const BOB = { name: 'bob', fingerprint: 'B'.repeat(8) };
const CAROL = { name: 'carol', fingerprint: 'C'.repeat(8) };

describe('MemberReceipts', () => {
  it('waits for each member that was there, and is done once the host confirmed each', () => {
    const r = new MemberReceipts();
    r.said('a', [BOB, CAROL]);
    r.said('b', [BOB]);
    assert.equal(r.waiting, 3);
    assert.deepEqual(r.reached(BOB, ['a', 'b', 'zz']), ['a', 'b'], 'only what waited, each once');
    assert.deepEqual(r.reached(BOB, ['a']), []);
    assert.equal(r.waiting, 1);
    assert.deepEqual(r.undelivered(), [{ name: 'carol', fingerprint: CAROL.fingerprint, count: 1 }], 'still waiting counts as not delivered yet');
    r.reached(CAROL, ['a']);
    assert.equal(r.waiting, 0);
    assert.deepEqual(r.undelivered(), []);
  });

  it('a member gone counts what it missed and what was never confirmed, once', () => {
    const r = new MemberReceipts();
    for (const id of ['a', 'b', 'c', 'd']) r.said(id, [BOB]);
    r.reached(BOB, ['a']);
    r.missed(BOB, ['b', 'b', 'unknown']);
    assert.equal(r.waiting, 2, 'c and d still wait; b is settled as missed');
    assert.equal(r.gone(BOB), 3, 'b missed, c and d never confirmed');
    assert.equal(r.gone(BOB), 0, 'told once');
    assert.equal(r.waiting, 0);
    assert.deepEqual(r.undelivered(), [{ name: 'bob', fingerprint: BOB.fingerprint, count: 3 }]);
  });

  it('adds up a member that came back and went again, under its latest name', () => {
    const r = new MemberReceipts();
    r.said('a', [BOB]);
    r.gone(BOB);
    r.said('b', [BOB]);
    r.renamed(BOB.fingerprint, 'robert');
    assert.deepEqual(r.undelivered(), [{ name: 'robert', fingerprint: BOB.fingerprint, count: 2 }]);
  });

  it('holds at most MAX_WAITING_PER_MEMBER ids per member; older ones count as not confirmed', () => {
    const r = new MemberReceipts();
    for (let i = 0; i < MAX_WAITING_PER_MEMBER + 5; i++) r.said(`id${i}`, [BOB]);
    assert.equal(r.waiting, MAX_WAITING_PER_MEMBER);
    assert.deepEqual(r.reached(BOB, ['id0', `id${MAX_WAITING_PER_MEMBER + 4}`]), [`id${MAX_WAITING_PER_MEMBER + 4}`], 'the oldest were let go');
    assert.equal(r.gone(BOB), MAX_WAITING_PER_MEMBER - 1 + 5);
  });

  it('ignores reports about members nothing waits for', () => {
    const r = new MemberReceipts();
    assert.deepEqual(r.reached(CAROL, ['a']), []);
    r.missed(CAROL, ['a']);
    assert.equal(r.gone(CAROL), 0);
    assert.deepEqual(r.undelivered(), []);
  });
});

describe('MemberReceipts across members', () => {
  it('holds at most MAX_WAITING_TOTAL ids in all, however many members a host claims', () => {
    const r = new MemberReceipts();
    const members = Array.from({ length: 1_000 }, (_, i) => ({ name: `m${i}`, fingerprint: `F${i}` }));
    const chats = Math.ceil(MAX_WAITING_TOTAL / members.length) + 20;
    for (let i = 0; i < chats; i++) r.said(`id${i}`, members);
    assert.equal(r.waiting, MAX_WAITING_TOTAL);
    const said = chats * members.length;
    const counted = r.undelivered().reduce((sum, u) => sum + u.count, 0);
    assert.equal(counted, said, 'every chat still counts: waiting, or let go as not delivered');
    assert.deepEqual(r.reached(members[0]!, [`id${chats - 1}`]), [`id${chats - 1}`], 'the newest still waits');
  });
});
