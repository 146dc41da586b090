// First flights through RelaySessions, over in-memory data connections on a manual clock: an
// invited peer's answer reaches the dialler's data connection before anything else from the
// dialled side, whenever it comes, and the pair is spliced only once it is in (or both closed when
// it never comes); a late, forged or repeated answer changes nothing; a flight the dialled peer
// did not take is read in front of the dialler's data connection. Each peer reads exactly the
// bytes the other wrote, in order. A session waiting for its answer is held to the relay's limits
// like one waiting for its data connections. No test sleeps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DialAnswer, EarlyFlight, RelaySessions } from '../../../src/relay/relay-sessions.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';
import { ALICE, BOB, DIALLER, TOKEN_TTL_MS, relaySessions, settle, tokens } from '../../helpers/relay-sessions-fixture.js';

/** Alice's preamble and handshake message 1, as her dial carries them. */
const FLIGHT = Buffer.from('[alice: preamble, message 1]');
/** Bob's preamble and message 2, as his control session answers with them. */
const ANSWER = Buffer.from('[bob: preamble, message 2]');
const INVITED: EarlyFlight = { bytes: FLIGHT, invited: true };
const NOT_INVITED: EarlyFlight = { bytes: FLIGHT, invited: false };
/** Other diallers of bob, from addresses of their own. */
const CAROL = { name: 'carol', fingerprint: 'C'.repeat(56) };
const FROM_CAROL = { key: CAROL.fingerprint, ip: '198.51.100.3' };
const DAVE = { name: 'dave', fingerprint: 'D'.repeat(56) };
const FROM_DAVE = { key: DAVE.fingerprint, ip: '203.0.113.4' };

/** Let the memory streams and the splice (which writes at the end of a turn) pass everything on. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await settle();
}

interface DataConnection {
  /** The peer's end: it writes here, and everything it reads is kept. */
  readonly peer: MemoryStream;
  /** The relay's end, paused, as the connection sniffer hands it to attach(). */
  readonly relay: MemoryStream;
  /** All the peer has read so far. */
  heard(): string;
}

function dataConnection(): DataConnection {
  const [peer, relay] = memoryStreamPair();
  const chunks: Buffer[] = [];
  peer.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
  peer.resume();
  return { peer, relay, heard: () => Buffer.concat(chunks).toString() };
}

type Tokens = { readonly dialerToken: string; readonly dialedToken: string };

const send = (connection: DataConnection, text: string) => connection.peer.write(Buffer.from(text));
const opened = (events: readonly { type: string }[]) => events.filter((e) => e.type === 'session-open').length;

/** A session alice dials with her first flight `early`, and her and bob's data connections. */
function dialled(early?: EarlyFlight, options: Parameters<typeof relaySessions>[1] = {}) {
  const clock = new ManualClock();
  const { sessions, events, closed } = relaySessions(clock, options);
  const t = tokens(sessions.dial(ALICE, BOB, DIALLER, early));
  const alice = dataConnection();
  const bob = dataConnection();
  const attach = (who: 'alice' | 'bob') =>
    assert.equal(who === 'alice' ? sessions.attach(t.dialerToken, alice.relay) : sessions.attach(t.dialedToken, bob.relay), undefined);
  const answer = (bytes = ANSWER) => sessions.answer(t.dialedToken, BOB.fingerprint, bytes);
  return { clock, sessions, events, closed, t, alice, bob, attach, answer };
}

describe('RelaySessions: an invited peer answers the first flight', () => {
  for (const first of ['alice', 'bob'] as const) {
    it(`writes an answer that came before the data connections to the dialler's at once (${first} attaches first), then splices`, async () => {
      const { sessions, events, alice, bob, attach, answer } = dialled(INVITED);
      assert.equal(answer(), true);
      send(alice, 'alice-1 '); // what each sent behind its token, before the relay took the connection
      send(bob, 'bob-1 ');
      attach(first);
      await flush();
      assert.equal(alice.heard(), first === 'alice' ? ANSWER.toString() : '', 'the answer reaches alice as soon as her connection is there');
      assert.equal(bob.heard(), '');
      assert.equal(opened(events), 0);

      attach(first === 'alice' ? 'bob' : 'alice');
      assert.equal(opened(events), 1, 'the answer is in: spliced as soon as both are here');
      await flush();
      send(alice, 'alice-2');
      send(bob, 'bob-2');
      await flush();
      assert.equal(alice.heard(), `${ANSWER}bob-1 bob-2`, 'the answer, then what bob sent on his data connection, in order');
      assert.equal(bob.heard(), 'alice-1 alice-2');
      assert.equal(sessions.count, 1);
    });
  }

  it("writes an answer at once to the dialler's data connection that is already waiting", async () => {
    const { events, alice, bob, attach, answer } = dialled(INVITED);
    attach('alice');
    await flush();
    assert.equal(alice.heard(), '');
    assert.equal(answer(), true);
    await flush();
    assert.equal(alice.heard(), ANSWER.toString(), 'bob has not even connected');
    assert.equal(opened(events), 0);

    send(bob, 'bob-1');
    attach('bob');
    assert.equal(opened(events), 1);
    send(alice, 'alice-1');
    await flush();
    assert.equal(alice.heard(), `${ANSWER}bob-1`);
    assert.equal(bob.heard(), 'alice-1');
  });

  it('holds two data connections that came before the answer apart until it comes, then writes it first and splices', async () => {
    const { clock, sessions, events, alice, bob, attach, answer } = dialled(INVITED);
    attach('bob');
    attach('alice');
    send(alice, 'alice-1 ');
    send(bob, 'bob-1 ');
    clock.advance(TOKEN_TTL_MS - 1);
    await flush();
    assert.equal(alice.heard(), '', "nothing of bob's before his answer");
    assert.equal(bob.heard(), '', 'nor of alice until the pair is spliced');
    assert.equal(events.length, 0, 'not open yet');
    assert.equal(sessions.count, 1, 'a session holding two data connections counts against maxSessions');

    assert.equal(answer(), true, 'still in time');
    assert.deepEqual(events.map((e) => e.type), ['session-open'], 'open once the answer is in');
    send(alice, 'alice-2');
    send(bob, 'bob-2');
    await flush();
    assert.equal(alice.heard(), `${ANSWER}bob-1 bob-2`);
    assert.equal(bob.heard(), 'alice-1 alice-2');
    clock.advance(10 * TOKEN_TTL_MS);
    await flush();
    assert.equal(alice.peer.destroyed || bob.peer.destroyed, false, 'spliced: the token lifetime no longer applies');
    assert.equal(sessions.count, 1);
  });

  it('closes both data connections when the answer does not come within the token lifetime, and frees the dialler', async () => {
    const { clock, sessions, events, closed, alice, bob, attach, answer } = dialled(INVITED, { maxInvitesFromOneIp: 1 });
    attach('alice');
    attach('bob');
    assert.equal(sessions.dial(ALICE, BOB, DIALLER).ok, false, 'one waiting session is all alice may have');
    clock.advance(TOKEN_TTL_MS - 1);
    await flush();
    assert.equal(events.length, 0);
    assert.equal(alice.peer.destroyed || bob.peer.destroyed, false);

    clock.advance(1);
    await flush();
    assert.deepEqual(closed(), [{ type: 'session-closed', id: 1, a: ALICE, b: BOB, bytes: 0, reason: 'expired: bob sent no answer in time' }]);
    assert.equal(alice.peer.destroyed, true);
    assert.equal(bob.peer.destroyed, true);
    assert.equal(sessions.count, 0);
    assert.equal(clock.pending, 0, 'no timer left behind');
    assert.equal(answer(), false, 'a late answer finds nothing');
    assert.equal(opened(events), 0);
    assert.equal(sessions.dial(ALICE, BOB, DIALLER).ok, true, 'her share and her slot at bob are free again');
  });

  for (const leaver of ['alice', 'bob'] as const) {
    it(`closes the other data connection when ${leaver}'s closes before the answer`, async () => {
      const { sessions, events, closed, alice, bob, attach, answer } = dialled(INVITED);
      attach('alice');
      attach('bob');
      const [gone, other] = leaver === 'alice' ? [alice, bob] : [bob, alice];
      gone.peer.destroy();
      await flush();
      assert.equal(other.peer.destroyed, true);
      assert.deepEqual(closed(), [
        { type: 'session-closed', id: 1, a: ALICE, b: BOB, bytes: 0, reason: 'abandoned: a data connection closed before the answer came' },
      ]);
      assert.equal(sessions.count, 0);
      assert.equal(answer(), false);
      assert.equal(opened(events), 0);
      assert.equal(sessions.dial(ALICE, BOB, DIALLER).ok, true, "alice's share is free again");
    });
  }
});

describe('RelaySessions: a session waiting for its answer and the dialler\'s penalty', () => {
  // One invitation from alice's address at a time, and one she left unanswered counts for a minute.
  const limits = { maxInvitesFromOneIp: 1, unansweredInvitePenaltyMs: 60_000 };

  it('is not held against a dialler that came and waited: bob never answered', async () => {
    const { sessions, clock, attach, closed } = dialled(INVITED, limits);
    attach('alice');
    attach('bob');
    clock.advance(TOKEN_TTL_MS);
    await flush();
    assert.equal(closed().length, 1);
    assert.equal(sessions.dial(ALICE, BOB, DIALLER, INVITED).ok, true, 'alice may dial again at once');
  });

  it('is not held against her when bob closes his data connection first', async () => {
    const { sessions, bob, attach } = dialled(INVITED, limits);
    attach('alice');
    attach('bob');
    bob.peer.destroy();
    await flush();
    assert.equal(sessions.dial(ALICE, BOB, DIALLER, INVITED).ok, true);
  });

  it('is held against her address when she closes hers first, as a dialler that walks away', async () => {
    const { sessions, alice, attach } = dialled(INVITED, limits);
    attach('alice');
    attach('bob');
    alice.peer.destroy();
    await flush();
    const again = sessions.dial(ALICE, BOB, DIALLER, INVITED);
    assert.equal(again.ok, false, 'refused within the penalty');
  });
});

describe('RelaySessions: a session waiting for its answer and the limits', () => {
  it('counts against maxSessions', () => {
    const { sessions, attach } = dialled(INVITED, { maxSessions: 1 });
    attach('alice');
    attach('bob');
    const refused = sessions.dial(CAROL, BOB, FROM_CAROL);
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.message, /the relay is full \(1 sessions open\)/);
  });

  it("ends, evicted, when a dialler holding fewer of the dialled peer's slots takes its slot", async () => {
    const limits = { maxPendingSessionsPerKey: 10, maxPendingInvitesPerKey: 2, maxInvitesFromOneIp: 2, unansweredInvitePenaltyMs: 5_000 };
    const { sessions, closed, alice, bob, attach, answer } = dialled(INVITED, limits);
    attach('alice');
    attach('bob');
    tokens(sessions.dial(ALICE, BOB, DIALLER, INVITED));
    tokens(sessions.dial(CAROL, BOB, FROM_CAROL)); // bob's two slots are alice's: carol takes the oldest
    await flush();
    assert.deepEqual(closed(), [
      { type: 'session-closed', id: 1, a: ALICE, b: BOB, bytes: 0, reason: 'evicted: bob had no invitation slot left, and another dialler held fewer of them' },
    ]);
    assert.equal(alice.peer.destroyed, true);
    assert.equal(bob.peer.destroyed, true);
    assert.equal(answer(), false);
    assert.equal(sessions.count, 2);
    const refusal = (answer: DialAnswer) => (answer.ok ? 'a session' : answer.message);
    assert.match(refusal(sessions.dial(DAVE, BOB, FROM_DAVE)), /^too many sessions waiting to reach that peer \(2\)/, 'one each: no swap');
    assert.match(refusal(sessions.dial(ALICE, BOB, DIALLER)), /^too many sessions waiting to reach that peer \(2\)/, 'not held against alice');
  });
});

describe('RelaySessions: an answer that is not due changes nothing', () => {
  /** `wrong` answers (false); alice, waiting, reads nothing; then bob's own answer (if due) works. */
  async function refused(early: EarlyFlight | undefined, wrong: (s: RelaySessions, t: Tokens) => boolean) {
    const { sessions, events, alice, attach, answer, t } = dialled(early);
    attach('alice');
    assert.equal(wrong(sessions, t), false);
    await flush();
    assert.equal(alice.heard(), '');
    assert.equal(events.length, 0);
    assert.equal(sessions.count, 1);
    return { answer, alice };
  }

  const CASES: { name: string; wrong: (s: RelaySessions, t: Tokens) => boolean }[] = [
    { name: 'an unknown token', wrong: (s) => s.answer('ef'.repeat(32), BOB.fingerprint, ANSWER) },
    { name: "the dialler's token", wrong: (s, t) => s.answer(t.dialerToken, BOB.fingerprint, ANSWER) },
    { name: 'a key other than the dialled one', wrong: (s, t) => s.answer(t.dialedToken, ALICE.fingerprint, ANSWER) },
  ];
  for (const { name, wrong } of CASES) {
    it(`refuses ${name}, and still takes bob's answer`, async () => {
      const { answer, alice } = await refused(INVITED, wrong);
      assert.equal(answer(), true);
      await flush();
      assert.equal(alice.heard(), ANSWER.toString());
    });
  }

  for (const [name, early] of [
    ['whose first flight bob did not take', NOT_INVITED],
    ['with no first flight', undefined],
  ] as const) {
    it(`refuses an answer for a session ${name}`, async () => {
      await refused(early, (s, t) => s.answer(t.dialedToken, BOB.fingerprint, ANSWER));
    });
  }

  it('refuses a second answer: the dialler reads the first only', async () => {
    const { alice, attach, answer } = dialled(INVITED);
    assert.equal(answer(), true);
    assert.equal(answer(Buffer.from('[again]')), false);
    attach('alice');
    assert.equal(answer(Buffer.from('[once more]')), false);
    attach('bob');
    assert.equal(answer(Buffer.from('[after the splice]')), false);
    await flush();
    assert.equal(alice.heard(), ANSWER.toString());
  });

  it('refuses an answer after the session expired unpaired', async () => {
    const { clock, closed, attach, answer } = dialled(INVITED);
    attach('alice');
    clock.advance(TOKEN_TTL_MS);
    await flush();
    assert.equal(closed().length, 1);
    assert.equal(answer(), false);
  });

  it('refuses an answer after stop(), which closes the data connections waiting for one', async () => {
    const { sessions, closed, alice, bob, attach, answer } = dialled(INVITED);
    attach('alice');
    attach('bob');
    sessions.stop('relay shutting down');
    await flush();
    assert.equal(answer(), false);
    assert.equal(alice.peer.destroyed, true);
    assert.equal(bob.peer.destroyed, true);
    assert.deepEqual(closed().map((e) => e.type === 'session-closed' && e.reason), ['relay shutting down']);
    assert.equal(sessions.count, 0);
    assert.equal(alice.heard(), '');
  });

  it('refuses an answer after stop() cancelled a session nobody had come for', async () => {
    const { sessions, answer } = dialled(INVITED);
    sessions.stop('relay shutting down');
    assert.equal(answer(), false);
    assert.equal(sessions.count, 0);
  });
});

describe('RelaySessions: a first flight the dialled peer did not take, or none', () => {
  for (const first of ['alice', 'bob'] as const) {
    it(`puts the flight in front of what the dialler's data connection sends (${first} attaches first)`, async () => {
      const { events, alice, bob, attach } = dialled(NOT_INVITED);
      send(alice, 'alice-1 ');
      send(bob, 'bob-1 ');
      attach(first);
      attach(first === 'alice' ? 'bob' : 'alice');
      assert.equal(opened(events), 1, 'no answer to wait for');
      send(alice, 'alice-2');
      send(bob, 'bob-2');
      await flush();
      assert.equal(bob.heard(), `${FLIGHT}alice-1 alice-2`, 'as if alice had sent it all on her data connection');
      assert.equal(alice.heard(), 'bob-1 bob-2', 'nothing but what bob sent');
    });
  }

  it('splices a dial without a first flight as soon as both data connections are here', async () => {
    const { events, alice, bob, attach } = dialled();
    send(alice, 'alice-1 ');
    attach('alice');
    await flush();
    assert.equal(opened(events), 0);
    attach('bob');
    assert.equal(opened(events), 1);
    send(alice, 'alice-2');
    send(bob, 'bob-1');
    await flush();
    assert.equal(bob.heard(), 'alice-1 alice-2');
    assert.equal(alice.heard(), 'bob-1');
  });
});
