// How one peer's invitation slots are shared among diallers: caps per dialling key and address,
// the biggest holder's oldest slot going to a dialler that holds fewer when all are taken, and an
// unanswered invitation counting against its address for exactly the penalty, on a manual clock.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InviteShares, type InviteShareLimits, type ShareVerdict } from '../../../src/relay/invite-shares.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const LIMITS: InviteShareLimits = { maxPendingInvitesPerKey: 16, maxInvitesFromOneKey: 2, maxInvitesFromOneIp: 4, unansweredInvitePenaltyMs: 60_000 };
const VICTIM = 'KEY-VICTIM';
/** Two throwaway keys from one address, and diallers from addresses of their own. */
const X1 = { key: 'KEY-X1', ip: '192.0.2.1' };
const X2 = { key: 'KEY-X2', ip: '192.0.2.1' };
const X3 = { key: 'KEY-X3', ip: '192.0.2.1' };
const X1_ELSEWHERE = { key: 'KEY-X1', ip: '198.51.100.9' };
const A = { key: 'KEY-A', ip: '203.0.113.1' };
const B = { key: 'KEY-B', ip: '203.0.113.2' };
const C = { key: 'KEY-C', ip: '203.0.113.3' };
const D = { key: 'KEY-D', ip: '203.0.113.4' };
const E = { key: 'KEY-E', ip: '203.0.113.5' };

/** What admit() said, in a word: 'admit', 'evict #i' (the i-th held slot) or the refusal. */
function verdict(answer: ShareVerdict): string {
  if (!answer.ok) return answer.why;
  return answer.evict ? `evict #${answer.evict.id}` : 'admit';
}

describe('InviteShares: who may take one of a peer\'s slots', () => {
  const CASES: { name: string; limits?: Partial<InviteShareLimits>; held: { key: string; ip: string }[]; dial: { key: string; ip: string }; expect: string | RegExp }[] = [
    { name: 'a first dial', held: [], dial: X1, expect: 'admit' },
    { name: 'a key holding its share', held: [X1, X1], dial: X1, expect: /^too many of your sessions waiting to reach that peer \(2\); try later$/ },
    { name: 'that key from another address', held: [X1, X1], dial: X1_ELSEWHERE, expect: /your sessions waiting to reach that peer \(2\)/ },
    { name: 'another key from that address', held: [X1, X1], dial: X2, expect: 'admit' },
    {
      name: 'an address holding its share over two keys',
      held: [X1, X1, X2, X2],
      dial: X3,
      expect: /^too many sessions from 192\.0\.2\.1 waiting to reach that peer \(4\); try later$/,
    },
    { name: 'another address beside it', held: [X1, X1, X2, X2], dial: A, expect: 'admit' },
    {
      name: 'every slot taken, each address holding one',
      limits: { maxPendingInvitesPerKey: 4 },
      held: [A, B, C, D],
      dial: E,
      expect: /^too many sessions waiting to reach that peer \(4\); try later$/,
    },
    { name: 'every slot taken, one address holding two more than the newcomer', limits: { maxPendingInvitesPerKey: 4 }, held: [A, X1, X2, B], dial: E, expect: 'evict #1' },
    { name: "the biggest holder gives up its oldest slot", limits: { maxPendingInvitesPerKey: 4 }, held: [A, X1, B, X2, X1], dial: E, expect: 'evict #1' },
    { name: 'among equal biggest holders, the oldest slot goes', limits: { maxPendingInvitesPerKey: 4 }, held: [X1, A, A, X2], dial: E, expect: 'evict #0' },
    { name: 'no swap: the newcomer holds one less than the biggest', limits: { maxPendingInvitesPerKey: 4 }, held: [A, X1, X2, B], dial: A, expect: /that peer \(4\)/ },
    { name: 'no eviction for a newcomer over its own share', limits: { maxPendingInvitesPerKey: 3 }, held: [X1, X1, X2], dial: X1, expect: /your sessions/ },
  ];
  for (const { name, limits, held, dial, expect } of CASES) {
    it(name, () => {
      const shares = new InviteShares({ ...LIMITS, ...limits });
      held.forEach((dialler, i) => shares.hold(dialler, VICTIM, i));
      const said = verdict(shares.admit(dial, VICTIM, 0));
      if (typeof expect === 'string') assert.equal(said, expect);
      else assert.match(said, expect);
    });
  }

  it('a slot given back is free again; another peer has slots of its own', () => {
    const shares = new InviteShares({ ...LIMITS, maxPendingInvitesPerKey: 2 });
    const first = shares.hold(A, VICTIM, 1);
    shares.hold(B, VICTIM, 2);
    assert.match(verdict(shares.admit(C, VICTIM, 0)), /that peer \(2\)/);
    assert.equal(verdict(shares.admit(C, 'KEY-OTHER', 0)), 'admit');
    shares.settle(first, 'opened', 0);
    assert.equal(verdict(shares.admit(C, VICTIM, 0)), 'admit', 'an opened session no longer waits');
  });
});

describe('InviteShares: an unanswered invitation counts against its address for a while', () => {
  /** Four invitations from 192.0.2.1 to the victim, settled as `outcome` at the clock's time. */
  function settledFour(outcome: 'opened' | 'unanswered' | 'cancelled', limits: Partial<InviteShareLimits> = {}) {
    const clock = new ManualClock(0);
    const shares = new InviteShares({ ...LIMITS, ...limits });
    for (const [i, dialler] of [X1, X1, X2, X2].entries()) shares.settle(shares.hold(dialler, VICTIM, i), outcome, clock.now());
    return { clock, shares };
  }

  const CASES: { name: string; outcome: 'opened' | 'unanswered' | 'cancelled'; limits?: Partial<InviteShareLimits>; after: number; dial: { key: string; ip: string }; target?: string; expect: string | RegExp }[] = [
    {
      name: 'at once, for a fresh key from that address',
      outcome: 'unanswered',
      after: 0,
      dial: X3,
      expect: /^too many sessions from 192\.0\.2\.1 waiting to reach that peer \(4, 4 of them unanswered in the last 60 s\); try later$/,
    },
    { name: 'a millisecond before the penalty is over', outcome: 'unanswered', after: 59_999, dial: X1, expect: /192\.0\.2\.1.*4 of them unanswered/ },
    { name: 'not once the penalty is over', outcome: 'unanswered', after: 60_000, dial: X1, expect: 'admit' },
    { name: 'not against another address', outcome: 'unanswered', after: 0, dial: A, expect: 'admit' },
    { name: 'not at another peer', outcome: 'unanswered', after: 0, dial: X1, target: 'KEY-OTHER', expect: 'admit' },
    { name: 'not with the penalty off', outcome: 'unanswered', limits: { unansweredInvitePenaltyMs: 0 }, after: 0, dial: X1, expect: 'admit' },
    { name: 'not for sessions that opened', outcome: 'opened', after: 0, dial: X1, expect: 'admit' },
    { name: 'not for sessions cancelled by others', outcome: 'cancelled', after: 0, dial: X1, expect: 'admit' },
  ];
  for (const { name, outcome, limits, after, dial, target, expect } of CASES) {
    it(name, () => {
      const { clock, shares } = settledFour(outcome, limits);
      clock.advance(after);
      const said = verdict(shares.admit(dial, target ?? VICTIM, clock.now()));
      if (typeof expect === 'string') assert.equal(said, expect);
      else assert.match(said, expect);
    });
  }

  it('pending and unanswered invitations add up, each strike lapsing on its own; settle is idempotent', () => {
    const clock = new ManualClock(0);
    const shares = new InviteShares(LIMITS);
    const first = shares.hold(X1, VICTIM, 1);
    shares.settle(first, 'unanswered', clock.now());
    shares.settle(first, 'unanswered', clock.now());
    clock.advance(10_000);
    shares.settle(shares.hold(X2, VICTIM, 2), 'unanswered', clock.now());
    shares.hold(X1, VICTIM, 3);
    shares.hold(X2, VICTIM, 4);
    assert.deepEqual(shares.usage('192.0.2.1', VICTIM, clock.now()), { pending: 2, unanswered: 2 });
    assert.match(verdict(shares.admit(X3, VICTIM, clock.now())), /\(4, 2 of them unanswered/);
    clock.advance(50_000);
    assert.deepEqual(shares.usage('192.0.2.1', VICTIM, clock.now()), { pending: 2, unanswered: 1 });
    assert.equal(verdict(shares.admit(X3, VICTIM, clock.now())), 'admit');
  });

  it("the issue's flood: two keys, eight dials each every 10.5 s, tokens lapsing after 10 s", () => {
    const clock = new ManualClock(0);
    const shares = new InviteShares(LIMITS);
    let id = 0;
    const admittedPerRound: number[] = [];
    const legitimate: string[] = [];
    for (let round = 0; round < 15; round++) {
      let admitted = 0;
      for (const dialler of [X1, X2]) {
        for (let dial = 0; dial < 8; dial++) {
          if (!shares.admit(dialler, VICTIM, clock.now()).ok) continue;
          admitted++;
          const invitation = shares.hold(dialler, VICTIM, id++);
          clock.setTimeout(() => shares.settle(invitation, 'unanswered', clock.now()), 10_000);
        }
      }
      admittedPerRound.push(admitted);
      legitimate.push(verdict(shares.admit(A, VICTIM, clock.now())));
      clock.advance(10_500);
    }
    // Four at first; then four strikes shut the address out until 70 s, and so on every 73.5 s.
    assert.deepEqual(admittedPerRound, [4, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 4]);
    assert.ok(legitimate.every((v) => v === 'admit'), legitimate.join('; '));
  });
});
