// PeerSession, one peer's side of a conversation, over real PeerConnections on in-memory streams
// and a manual clock: what arrives is acknowledged once per ackDelayMs (one ack for many), at once
// when the peer says goodbye or we do; detached, it keeps what it sends without writing it, and
// attached to the next connection it sends again exactly what the peer lacks. Messages that are
// not numbered (file transfer, acks themselves) are never kept, and a `conversation` message out
// of turn is refused.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerSession, type PeerSessionOptions } from '../../../src/app/peer-session.js';
import { P2PChatError } from '../../../src/errors.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import type { CloseOutcome } from '../../../src/session/close-outcome.js';
import { PeerConnection } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';

const TIMING = { handshakeTimeoutMs: 5_000, keepaliveIntervalMs: 60_000, keepaliveTimeoutMs: 180_000, byeGraceMs: 2_000, maxQueuedBytes: 1 << 22 };
const ACK_DELAY_MS = 100;
const ID = 'aa'.repeat(16);
const TRANSFER = '0123456789abcdef';

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** One end: its connection, its session, what reached the session and what the room was given. */
interface End {
  readonly conn: PeerConnection;
  readonly stream: MemoryStream;
  session: PeerSession;
  /** Every message the connection delivered (acks and conversation messages included). */
  readonly wire: SessionMessage[];
  /** What the session passed on to the room. */
  readonly room: SessionMessage[];
  readonly delivered: string[];
  readonly errors: P2PChatError[];
}

function end(stream: MemoryStream, clock: ManualClock, initiator: boolean, features: readonly string[] = FEATURES, ackTimeoutMs?: number): End {
  const conn = new PeerConnection(stream, {
    ...TIMING,
    initiator,
    keyPair: generateKeyPair(),
    localInfo: { name: initiator ? 'alice' : 'bob', version: PROTOCOL_VERSION, features },
    codec: PEER_MESSAGES,
    clock,
  });
  const result: End = { conn, stream, session: undefined as unknown as PeerSession, wire: [], room: [], delivered: [], errors: [] };
  result.session = new PeerSession(conn, { ...options(clock, result), ...(ackTimeoutMs !== undefined ? { ackTimeoutMs } : {}) }, ID);
  listen(conn, result);
  return result;
}

function options(clock: ManualClock, into: End, limits = { maxUnackedMessages: 1_000, maxUnackedBytes: 1 << 22 }): PeerSessionOptions {
  return { clock, ackDelayMs: ACK_DELAY_MS, limits, onAcknowledged: (ids) => into.delivered.push(...ids), onOverflow: () => {} };
}

function session(conn: PeerConnection, clock: ManualClock, into: End, id: string | undefined, awaitingHello = false): PeerSession {
  return new PeerSession(conn, options(clock, into), id, awaitingHello);
}

/** What a connection delivers goes to `into`'s session (whichever it is at the time). */
function listen(conn: PeerConnection, into: End): void {
  conn.on('message', (message) => {
    into.wire.push(message);
    try {
      if (into.session.receive(message)) into.room.push(message);
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      into.errors.push(err);
    }
  });
}

async function pair(clock: ManualClock, features?: readonly string[], ackTimeoutMs?: number): Promise<{ alice: End; bob: End }> {
  const [a, b] = memoryStreamPair();
  const alice = end(a, clock, true, features, ackTimeoutMs);
  const bob = end(b, clock, false, features, ackTimeoutMs);
  alice.conn.start();
  bob.conn.start();
  await settle();
  assert.ok(alice.conn.established && bob.conn.established);
  return { alice, bob };
}

const chat = (text: string) => ({ type: 'chat' as const, id: text, time: 1, text });
const texts = (messages: readonly SessionMessage[]) => messages.flatMap((m) => (m.type === 'chat' ? [m.text] : []));
const acks = (messages: readonly SessionMessage[]) => messages.flatMap((m) => (m.type === 'ack' ? [m.n] : []));

describe('PeerSession: acknowledgements', () => {
  it('acknowledges ackDelayMs after the first message, one ack covering all that came meanwhile', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    for (const text of ['m1', 'm2', 'm3']) alice.session.send(chat(text), text);
    await settle();
    assert.deepEqual(texts(bob.room), ['m1', 'm2', 'm3']);
    assert.equal(alice.session.unacked, 3);

    clock.advance(ACK_DELAY_MS - 1);
    await settle();
    assert.deepEqual(acks(alice.wire), [], 'no ack before its time');
    alice.session.send(chat('m4'), 'm4'); // within the same window: covered by the same ack
    await settle();
    clock.advance(1);
    await settle();
    assert.deepEqual(acks(alice.wire), [4], 'one ack for the four');
    assert.deepEqual(alice.delivered, ['m1', 'm2', 'm3', 'm4']);
    assert.equal(alice.session.unacked, 0);
    assert.deepEqual(alice.room, [], 'acks are taken by the session, not given to the room');

    clock.advance(10 * ACK_DELAY_MS);
    await settle();
    assert.deepEqual(acks(alice.wire), [4], 'nothing new, no more acks');
    alice.session.send(chat('m5'), 'm5');
    await settle();
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(acks(alice.wire), [4, 5], 'the next message starts a new window; the count is cumulative');
    assert.deepEqual(alice.delivered, ['m1', 'm2', 'm3', 'm4', 'm5'], 'each id delivered once');
  });

  it('numbers nick, presence and forwarded as well, and reports delivered only for ids', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    const peer = { name: 'carol', fingerprint: 'MSFKLRL-Z7MYPHT-CXXITMX-23WIIDH-D2SETXU-SM2BV44-A6PTTCT-WKBEFQI' };
    alice.session.send({ type: 'nick', name: 'al' });
    alice.session.send({ type: 'presence', event: 'joined', peer });
    alice.session.send({ type: 'forwarded', from: peer, id: 'f1', time: 1, text: 'hi' });
    alice.session.send(chat('m1'), 'm1');
    assert.equal(alice.session.unacked, 4);
    assert.equal(alice.session.unackedChats, 1);
    await settle();
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(bob.room.map((m) => m.type), ['nick', 'presence', 'forwarded', 'chat']);
    assert.deepEqual(acks(alice.wire), [4]);
    assert.deepEqual(alice.delivered, ['m1']);
  });

  it('acknowledges at once when the peer says goodbye', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session.send(chat('m1'), 'm1');
    alice.session.send(chat('m2'), 'm2');
    await settle();
    assert.deepEqual(texts(bob.room), ['m1', 'm2']);
    void alice.conn.close('bye'); // not through the session: alice has no ack of her own to send
    await settle();
    assert.deepEqual(acks(alice.wire), [2], 'the ack came with no time passing');
    assert.deepEqual(alice.delivered, ['m1', 'm2']);
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(acks(alice.wire), [2], 'and not again when its timer would have fired');
  });

  it('goodbye() sends the ack it owes before the bye', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    bob.session.send(chat('b1'), 'b1');
    await settle();
    assert.deepEqual(texts(alice.room), ['b1']);
    const closed = alice.session.goodbye('done');
    await settle();
    assert.deepEqual(acks(bob.wire), [1]);
    assert.deepEqual(bob.delivered, ['b1']);
    clock.advance(TIMING.byeGraceMs);
    await settle();
    assert.equal(await closed, true);
  });

  it('goodbye() with nothing owed sends no ack', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    void alice.session.goodbye('done');
    await settle();
    clock.advance(TIMING.byeGraceMs);
    await settle();
    assert.deepEqual(acks(bob.wire), []);
  });
});

describe('PeerSession: messages that are not numbered', () => {
  it('file messages and acks are sent but never kept, and arriving, never counted', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session.send({ type: 'file-ack', id: TRANSFER, bytes: 10 });
    alice.session.send({ type: 'file-decline', id: TRANSFER, reason: 'no' });
    alice.session.send({ type: 'ack', n: 0 });
    alice.session.sendEncoded(PEER_MESSAGES.encode({ type: 'file-ack', id: TRANSFER, bytes: 20 }), 'file-ack');
    alice.conn.ping();
    assert.equal(alice.session.unacked, 0);
    await settle();
    assert.deepEqual(bob.room.map((m) => m.type), ['file-ack', 'file-decline', 'file-ack'], 'the room sees the file messages');
    clock.advance(10 * ACK_DELAY_MS);
    await settle();
    assert.deepEqual(acks(alice.wire), [], 'nothing to acknowledge');
    assert.equal(bob.session.hello(false).received, 0);
  });

  it('while detached, drops them rather than keeping them', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session.detach();
    const before = alice.stream.written;
    alice.session.send({ type: 'file-ack', id: TRANSFER, bytes: 10 });
    alice.session.sendEncoded(PEER_MESSAGES.encode({ type: 'file-ack', id: TRANSFER, bytes: 20 }), 'file-ack');
    assert.equal(alice.stream.written, before, 'nothing written');
    assert.equal(alice.session.unacked, 0, 'nothing kept');
    await settle();
    assert.deepEqual(bob.wire, []);
  });

  it('with a peer that does not acknowledge (no `acks` feature), keeps and counts nothing', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock, ['chat', 'presence']);
    alice.session = session(alice.conn, clock, alice, undefined);
    bob.session = session(bob.conn, clock, bob, undefined);
    assert.equal(alice.session.acknowledges, false);
    alice.session.send(chat('m1'), 'm1');
    assert.equal(alice.session.unacked, 0);
    await settle();
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(texts(bob.room), ['m1']);
    assert.deepEqual(acks(alice.wire), []);
    assert.throws(() => alice.session.attach(alice.conn, 0), (err: unknown) => P2PChatError.is(err, 'ERR_BAD_MESSAGE'));
  });
});

describe('PeerSession: detached and attached again', () => {
  /** A second connection between the same two ends, its messages going to the same sessions. */
  async function reconnect(clock: ManualClock, alice: End, bob: End) {
    const [a, b] = memoryStreamPair();
    const conns = [a, b].map(
      (stream, i) =>
        new PeerConnection(stream, {
          ...TIMING,
          initiator: i === 0,
          keyPair: generateKeyPair(),
          localInfo: { name: i === 0 ? 'alice' : 'bob', version: PROTOCOL_VERSION, features: FEATURES },
          codec: PEER_MESSAGES,
          clock,
        }),
    );
    listen(conns[0]!, alice);
    listen(conns[1]!, bob);
    for (const conn of conns) conn.start();
    await settle();
    return { a: conns[0]!, b: conns[1]!, aStream: a, bStream: b };
  }

  it('keeps what is sent while detached without writing it, and attach sends exactly what the peer lacks', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session.send(chat('m1'), 'm1');
    await settle();
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(alice.delivered, ['m1']);
    alice.session.send(chat('m2'), 'm2');
    alice.session.send(chat('m3'), 'm3');
    await settle();
    assert.deepEqual(texts(bob.room), ['m1', 'm2', 'm3'], 'm2 and m3 arrived; their ack had not');
    alice.stream.sever();
    clock.advance(ACK_DELAY_MS);
    await settle();

    alice.session.detach();
    bob.session.detach();
    assert.equal(alice.session.detached, true);
    const written = alice.stream.written;
    alice.session.send(chat('m4'), 'm4');
    alice.session.send({ type: 'nick', name: 'al' });
    assert.equal(alice.stream.written, written, 'nothing is written while detached');
    assert.equal(alice.session.unacked, 4);
    assert.equal(alice.session.unackedChats, 3);
    assert.equal(alice.session.hello(false).received, 0, 'alice has none of bob');
    assert.deepEqual(bob.session.hello(true), { type: 'conversation', id: ID, received: 3, resumed: true });

    const { a, b } = await reconnect(clock, alice, bob);
    const resent = alice.session.attach(a, 3);
    assert.equal(resent, 2, 'm4 and the nick change');
    assert.equal(bob.session.attach(b, 0), 0, 'bob sent nothing');
    assert.deepEqual(alice.delivered, ['m1', 'm2', 'm3'], 'the count in bob’s conversation message acknowledges m2 and m3');
    assert.equal(alice.session.connection, a);
    await settle();
    assert.deepEqual(texts(bob.room), ['m1', 'm2', 'm3', 'm4'], 'each once, in order');
    assert.deepEqual(bob.room.at(-1), { type: 'nick', name: 'al' });
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(acks(alice.wire), [1, 5], 'bob counts on from 3: the fifth message of alice');
    assert.deepEqual(alice.delivered, ['m1', 'm2', 'm3', 'm4']);
    assert.equal(alice.session.unacked, 0);
  });

  it('a detached session owes no ack: its timer stops, and the old connection never carries one', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    const keepalives = clock.pending;
    alice.session.send(chat('m1'), 'm1');
    await settle();
    assert.equal(clock.pending, keepalives + 1, "bob's ack timer");
    bob.session.detach();
    assert.equal(clock.pending, keepalives, 'the ack timer is gone');
    clock.advance(10 * ACK_DELAY_MS);
    await settle();
    assert.deepEqual(acks(alice.wire), []);
  });

  it('attach sends everything again to a peer that has none of it, and refuses a count it cannot have', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    for (const text of ['m1', 'm2', 'm3']) alice.session.send(chat(text), text);
    await settle();
    alice.session.detach();
    bob.session.detach();
    const { a } = await reconnect(clock, alice, bob);
    assert.throws(() => alice.session.attach(a, 4), (err: unknown) => P2PChatError.is(err, 'ERR_BAD_MESSAGE') && /4 of our messages; 3 were sent/.test(err.message));
    assert.equal(alice.session.detached, true, 'a refused count leaves it detached');
    bob.session = session(bob.conn, clock, bob, ID); // a peer that forgot everything (a fresh session)
    assert.equal(alice.session.attach(a, 0), 3);
    await settle();
    assert.deepEqual(texts(bob.room), ['m1', 'm2', 'm3', 'm1', 'm2', 'm3'], 'the peer said it had none: all three again');
    clock.advance(ACK_DELAY_MS);
    await settle();
    assert.deepEqual(alice.delivered, ['m1', 'm2', 'm3']);
    alice.session.detach();
    assert.throws(() => alice.session.attach(a, 2), (err: unknown) => P2PChatError.is(err, 'ERR_BAD_MESSAGE') && /resumed with 2 .* acknowledged 3/.test(err.message));
  });
});

describe('PeerSession: the conversation message', () => {
  it('the dialler takes the answer to its conversation first, once', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session = session(alice.conn, clock, alice, ID, true);
    bob.conn.send({ type: 'conversation', id: ID, received: 0 });
    bob.session.send(chat('b1'), 'b1');
    await settle();
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(texts(alice.room), ['b1'], 'the answer is taken by the session, the chat after it passed on');
    bob.conn.send({ type: 'conversation', id: ID, received: 0 });
    await settle();
    assert.equal(alice.errors.length, 1, 'a second one is out of turn');
    assert.match(firstError(alice), /unexpected conversation message/);
  });

  it('refuses a conversation message with another id, resumed, or with a count, and anything before it', async () => {
    const wrong = [
      { type: 'conversation' as const, id: 'bb'.repeat(16), received: 0 },
      { type: 'conversation' as const, id: ID, received: 0, resumed: true as const },
      { type: 'conversation' as const, id: ID, received: 1 },
    ];
    for (const message of wrong) {
      const clock = new ManualClock();
      const { alice, bob } = await pair(clock);
      alice.session = session(alice.conn, clock, alice, ID, true);
      bob.conn.send(message);
      await settle();
      assert.equal(alice.errors.length, 1, JSON.stringify(message));
      assert.ok(P2PChatError.is(alice.errors[0], 'ERR_BAD_MESSAGE'));
    }
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session = session(alice.conn, clock, alice, ID, true);
    bob.conn.send(chat('too soon'));
    await settle();
    assert.match(firstError(alice), /expected a conversation message first, got chat/);
    assert.deepEqual(alice.room, []);
  });

  it('a conversation message to a session that opened nothing is out of turn', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    bob.conn.send({ type: 'conversation', id: ID, received: 0 });
    await settle();
    assert.ok(P2PChatError.is(alice.errors[0], 'ERR_BAD_MESSAGE'));
  });

  it('an ack for more than was sent is refused', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock);
    alice.session.send(chat('m1'), 'm1');
    bob.conn.send({ type: 'ack', n: 2 });
    await settle();
    assert.match(firstError(alice), /peer acknowledged 2 messages; 1 were sent/);
    assert.deepEqual(alice.delivered, []);
  });
});

describe('PeerSession: the acknowledgement deadline', () => {
  const ACK_TIMEOUT_MS = 6_000;

  /** How `side`'s connection ended, once it has. */
  function endings(side: End): CloseOutcome[] {
    const outcomes: CloseOutcome[] = [];
    side.conn.on('closed', (outcome) => outcomes.push(outcome));
    return outcomes;
  }

  it('drops a peer that acknowledges nothing in ackTimeoutMs, for good', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock, undefined, ACK_TIMEOUT_MS);
    const closed = endings(alice);
    bob.conn.holdReading({}); // bob never reads m1, so never acknowledges it
    alice.session.send(chat('m1'), 'm1');
    await settle();
    clock.advance(ACK_TIMEOUT_MS - 1);
    await settle();
    assert.equal(closed.length, 0, 'not before the deadline');
    clock.advance(1);
    await settle();
    assert.deepEqual(closed.map((o) => o.kind === 'lost' && o.error.code), ['ERR_NOT_ACKNOWLEDGED']);
  });

  it('does not count a hold of ours that excuses the peer: the ack waits there unread', async () => {
    const clock = new ManualClock();
    const { alice } = await pair(clock, undefined, ACK_TIMEOUT_MS);
    const closed = endings(alice);
    const held = {};
    // As a move to another path does: the old connection is not read until the move is answered.
    alice.conn.holdReading(held, { excusesPeer: true });
    alice.session.send(chat('m1'), 'm1');
    await settle();
    clock.advance(ACK_DELAY_MS); // bob acknowledges; the ack waits in alice's unread stream
    await settle();
    clock.advance(3 * ACK_TIMEOUT_MS);
    await settle();
    assert.equal(closed.length, 0, 'not dropped while its ack waits unread');
    assert.equal(alice.session.unacked, 1);
    alice.conn.releaseReading(held);
    await settle();
    assert.equal(alice.session.unacked, 0, 'read at last');
    assert.deepEqual(alice.delivered, ['m1']);
    clock.advance(2 * ACK_TIMEOUT_MS);
    await settle();
    assert.equal(closed.length, 0);
  });

  it('gives the peer its whole time again from when we read again, then drops it', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock, undefined, ACK_TIMEOUT_MS);
    const closed = endings(alice);
    bob.conn.holdReading({}); // bob never acknowledges
    const held = {};
    alice.conn.holdReading(held, { excusesPeer: true });
    alice.session.send(chat('m1'), 'm1');
    await settle();
    clock.advance(ACK_TIMEOUT_MS - 1_000);
    await settle();
    // Read again 1 s before the first deadline: a path that died meanwhile gets the keepalive's
    // time to be found (and resumed) before this deadline ends the conversation for good.
    alice.conn.releaseReading(held);
    clock.advance(ACK_TIMEOUT_MS - 1);
    await settle();
    assert.equal(closed.length, 0, 'not within ackTimeoutMs of reading again');
    clock.advance(1);
    await settle();
    assert.deepEqual(closed.map((o) => o.kind === 'lost' && o.error.code), ['ERR_NOT_ACKNOWLEDGED']);
  });

  it('holds the peer brings about (its forwarding debt) excuse nothing: dropped on time', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await pair(clock, undefined, ACK_TIMEOUT_MS);
    const closed = endings(alice);
    bob.conn.holdReading({}); // bob never acknowledges
    alice.session.send(chat('m1'), 'm1');
    await settle();
    // A peer that sends over its forwarding rate is held briefly, again and again.
    for (let t = 0; t < ACK_TIMEOUT_MS; t += 1_000) {
      const debt = {};
      alice.conn.holdReading(debt);
      clock.advance(500);
      alice.conn.releaseReading(debt);
      clock.advance(500);
      await settle();
    }
    assert.deepEqual(closed.map((o) => o.kind === 'lost' && o.error.code), ['ERR_NOT_ACKNOWLEDGED']);
  });
});

/** The first error a session threw at what arrived (read through a call: no stale narrowing). */
function firstError(side: End): string {
  return side.errors[0]?.message ?? '(none)';
}
