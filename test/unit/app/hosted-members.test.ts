// Issue 12, item 2: who is in each dialled host's conversation, from its presence messages: joins
// and departures, renames, a key connected twice, a host going, and a bound on what a host can claim.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HostedMembers, MAX_HOSTED_MEMBERS } from '../../../src/app/hosted-members.js';

const carol = { name: 'carol', fingerprint: 'C' };
const dave = { name: 'dave', fingerprint: 'D' };

describe('HostedMembers', () => {
  it("lists each host's members in the order heard, until they go", () => {
    const members = new HostedMembers<string>();
    members.joined('alice', carol);
    members.joined('alice', dave);
    members.joined('eve', { name: 'frank', fingerprint: 'F' });
    assert.deepEqual(members.of('alice'), [carol, dave]);
    assert.deepEqual(members.of('eve'), [{ name: 'frank', fingerprint: 'F' }]);
    members.gone('alice', 'C');
    assert.deepEqual(members.of('alice'), [dave]);
    members.gone('alice', 'nobody');
    members.gone('nohost', 'D');
    assert.deepEqual(members.of('alice'), [dave]);
    assert.deepEqual(members.of('nohost'), []);
  });

  it('follows renames, and ignores one for a member it does not know', () => {
    const members = new HostedMembers<string>();
    members.joined('alice', carol);
    members.renamed('alice', 'C', 'caroline');
    members.renamed('alice', 'X', 'ghost');
    assert.deepEqual(members.of('alice'), [{ name: 'caroline', fingerprint: 'C' }]);
  });

  it('a key connected to the host twice stays listed until both sessions go', () => {
    const members = new HostedMembers<string>();
    members.joined('alice', carol);
    members.joined('alice', { name: 'carol2', fingerprint: 'C' });
    assert.deepEqual(members.of('alice'), [{ name: 'carol2', fingerprint: 'C' }], 'listed once, by its latest name');
    members.gone('alice', 'C');
    assert.equal(members.of('alice').length, 1);
    members.gone('alice', 'C');
    assert.deepEqual(members.of('alice'), []);
  });

  it('a host that goes takes its members with it', () => {
    const members = new HostedMembers<string>();
    members.joined('alice', carol);
    members.hostGone('alice');
    assert.deepEqual(members.of('alice'), []);
  });

  it(`remembers at most ${MAX_HOSTED_MEMBERS} members per host`, () => {
    const members = new HostedMembers<string>();
    for (let i = 0; i < MAX_HOSTED_MEMBERS + 10; i++) members.joined('liar', { name: `n${i}`, fingerprint: `F${i}` });
    assert.equal(members.of('liar').length, MAX_HOSTED_MEMBERS);
    members.joined('other', carol);
    assert.deepEqual(members.of('other'), [carol], 'each host has its own bound');
  });
});
