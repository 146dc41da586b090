// A relayed session's tokens on a manual clock, over in-memory data connections: a dial whose
// data connections do not both come within tokenTtlMs is ended at exactly that time (and not
// before), the one that came is closed and the dialler's share is given back; a paired session
// outlives the tokens. No test sleeps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DialAnswer, RelaySessions } from '../../../src/relay/relay-sessions.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';
import { ALICE, BOB, DIALLER, TOKEN_TTL_MS, relaySessions, settle, tokens } from '../../helpers/relay-sessions-fixture.js';

/** A data connection as the relay holds it: [the peer's end, the relay's end]. */
function dataConnection(): [MemoryStream, MemoryStream] {
  return memoryStreamPair();
}

describe('RelaySessions tokens on a manual clock', () => {
  it('ends a session whose dialled peer does not come at exactly tokenTtlMs, closing the one that came', async () => {
    const clock = new ManualClock();
    const { sessions, closed } = relaySessions(clock);
    const { dialerToken } = tokens(sessions.dial(ALICE, BOB, DIALLER));
    const [, relayEnd] = dataConnection();
    assert.equal(sessions.attach(dialerToken, relayEnd), undefined, 'alice waits for bob');

    clock.advance(TOKEN_TTL_MS - 1);
    await settle();
    assert.deepEqual(closed(), [], 'still waiting a millisecond before the tokens expire');
    assert.equal(relayEnd.destroyed, false);
    assert.equal(sessions.count, 1);

    clock.advance(1);
    await settle();
    assert.deepEqual(closed(), [{ type: 'session-closed', id: 1, a: ALICE, b: BOB, bytes: 0, reason: 'expired: bob did not connect in time' }]);
    assert.equal(relayEnd.destroyed, true, "alice's waiting data connection is closed");
    assert.equal(sessions.count, 0);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('names the dialler when only the dialled peer came, and neither when nobody did', async () => {
    const clock = new ManualClock();
    const { sessions, closed } = relaySessions(clock, { maxPendingSessionsPerKey: 2 });
    const { dialedToken } = tokens(sessions.dial(ALICE, BOB, DIALLER));
    tokens(sessions.dial(ALICE, BOB, DIALLER));
    const [, bobsEnd] = dataConnection();
    assert.equal(sessions.attach(dialedToken, bobsEnd), undefined);
    clock.advance(TOKEN_TTL_MS);
    await settle();
    assert.deepEqual(closed().map((e) => e.type === 'session-closed' && e.reason), [
      'expired: alice did not connect in time',
      'expired: neither peer connected in time',
    ]);
    assert.equal(bobsEnd.destroyed, true);
  });

  it("gives the dialler's share back at expiry, so it may dial again", async () => {
    const clock = new ManualClock();
    const { sessions } = relaySessions(clock); // one pending session per key
    tokens(sessions.dial(ALICE, BOB, DIALLER));
    clock.advance(TOKEN_TTL_MS - 1);
    const refused = sessions.dial(ALICE, BOB, DIALLER);
    assert.equal(refused.ok, false, 'the first dial still holds her share');
    assert.match(refused.ok ? '' : refused.message, /too many of your sessions waiting/);
    clock.advance(1);
    assert.equal(sessions.dial(ALICE, BOB, DIALLER).ok, true, 'expired: her share is free again');
  });

  it('refuses a token presented after its time', async () => {
    const clock = new ManualClock();
    const { sessions } = relaySessions(clock);
    const { dialerToken } = tokens(sessions.dial(ALICE, BOB, DIALLER));
    clock.advance(TOKEN_TTL_MS);
    const [, late] = dataConnection();
    assert.equal(sessions.attach(dialerToken, late), 'unknown, expired or already used token');
  });

  it('does not expire a session whose two connections both came', async () => {
    const clock = new ManualClock();
    const { sessions, events, closed } = relaySessions(clock);
    const { dialerToken, dialedToken } = tokens(sessions.dial(ALICE, BOB, DIALLER));
    const [alice, aliceRelayEnd] = dataConnection();
    const [bob, bobRelayEnd] = dataConnection();
    sessions.attach(dialerToken, aliceRelayEnd);
    assert.equal(clock.pending, 1, 'the tokens expire on the clock');
    clock.advance(TOKEN_TTL_MS - 1);
    sessions.attach(dialedToken, bobRelayEnd);
    assert.deepEqual(events.map((e) => e.type), ['session-open']);
    assert.equal(clock.pending, 0, 'the token timer is cleared when the pair is made (the splice has no idle timeout here)');

    clock.advance(10 * TOKEN_TTL_MS);
    const heard: Buffer[] = [];
    bob.on('data', (chunk) => heard.push(Buffer.from(chunk)));
    bob.resume();
    alice.write(Buffer.from('still here'));
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(Buffer.concat(heard).toString(), 'still here', 'the splice carries bytes long after the tokens would have expired');
    assert.deepEqual(closed(), []);
    assert.equal(sessions.count, 1);
  });
});

describe("RelaySessions and the dialled peer's invitation slots", () => {
  const CAROL = { name: 'carol', fingerprint: 'C'.repeat(56) };
  const FROM_CAROL = { key: CAROL.fingerprint, ip: '198.51.100.3' };
  /** Room for one waiting session per address at bob, and a 5 s penalty for an unanswered one. */
  const ONE_EACH = { maxPendingSessionsPerKey: 10, maxInvitesFromOneIp: 1, unansweredInvitePenaltyMs: 5_000 };
  const refusal = (answer: DialAnswer) => (answer.ok ? 'a session' : answer.message);

  const CASES: { name: string; act: (s: RelaySessions, t: { dialerToken: string; dialedToken: string }) => void; counts: boolean }[] = [
    { name: 'nobody came', act: () => undefined, counts: true },
    { name: 'only the dialled peer came', act: (s, t) => s.attach(t.dialedToken, dataConnection()[1]), counts: true },
    { name: 'only the dialler came', act: (s, t) => s.attach(t.dialerToken, dataConnection()[1]), counts: false },
  ];
  for (const { name, act, counts } of CASES) {
    it(`an expired invitation (${name}) ${counts ? 'counts' : 'does not count'} against the dialler's address`, async () => {
      const clock = new ManualClock();
      const { sessions } = relaySessions(clock, ONE_EACH);
      act(sessions, tokens(sessions.dial(ALICE, BOB, DIALLER)));
      clock.advance(TOKEN_TTL_MS);
      await settle();
      const again = refusal(sessions.dial(ALICE, BOB, DIALLER));
      if (!counts) {
        assert.equal(again, 'a session');
        return;
      }
      assert.match(again, /too many sessions from 192\.0\.2\.2 waiting to reach that peer \(1, 1 of them unanswered in the last 5 s\)/);
      assert.equal(refusal(sessions.dial(CAROL, BOB, FROM_CAROL)), 'a session', 'another address may');
      clock.advance(5_000);
      assert.equal(refusal(sessions.dial(ALICE, BOB, DIALLER)), 'a session', 'the penalty is over');
    });
  }

  it('a dialler that closes its waiting data connection first is held to it; a dialled peer that does is not', async () => {
    const clock = new ManualClock();
    const { sessions, closed } = relaySessions(clock, ONE_EACH);
    const [bobsEnd, bobRelayEnd] = dataConnection();
    sessions.attach(tokens(sessions.dial(CAROL, BOB, FROM_CAROL)).dialedToken, bobRelayEnd);
    bobsEnd.destroy();
    await settle();
    assert.equal(refusal(sessions.dial(CAROL, BOB, FROM_CAROL)), 'a session', 'bob gave up, not carol');

    const [alicesEnd, aliceRelayEnd] = dataConnection();
    sessions.attach(tokens(sessions.dial(ALICE, BOB, DIALLER)).dialerToken, aliceRelayEnd);
    alicesEnd.destroy();
    await settle();
    assert.deepEqual(closed().map((e) => e.type === 'session-closed' && e.reason), [
      'abandoned: bob closed its data connection first',
      'abandoned: alice closed its data connection first',
    ]);
    assert.match(refusal(sessions.dial(ALICE, BOB, DIALLER)), /1 of them unanswered/);
  });

  it('when every slot is taken, a dialler holding fewer takes the oldest of the biggest holder, whose waiting connection is closed', async () => {
    const clock = new ManualClock();
    const { sessions, closed } = relaySessions(clock, { maxPendingSessionsPerKey: 10, maxPendingInvitesPerKey: 2 });
    const oldest = tokens(sessions.dial(ALICE, BOB, DIALLER));
    const [, bobRelayEnd] = dataConnection();
    sessions.attach(oldest.dialedToken, bobRelayEnd);
    tokens(sessions.dial(ALICE, BOB, DIALLER));
    assert.equal(refusal(sessions.dial(CAROL, BOB, FROM_CAROL)), 'a session');
    await settle();
    assert.deepEqual(closed(), [
      {
        type: 'session-closed',
        id: 1,
        a: ALICE,
        b: BOB,
        bytes: 0,
        reason: 'evicted: bob had no invitation slot left, and another dialler held fewer of them',
      },
    ]);
    assert.equal(bobRelayEnd.destroyed, true);
    assert.equal(sessions.attach(oldest.dialerToken, dataConnection()[1]), 'unknown, expired or already used token');
    assert.equal(sessions.count, 2);
    assert.match(refusal(sessions.dial(CAROL, BOB, FROM_CAROL)), /too many sessions waiting to reach that peer \(2\)/, 'one each: no swap');
  });
});
