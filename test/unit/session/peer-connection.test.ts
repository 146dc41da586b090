// PeerConnection over real TCP sockets on 127.0.0.1: setup, chat, goodbye, abrupt loss, the
// keepalive and handshake timeouts (on a manual clock) and strangers. Every socket and server a
// test opens is closed in afterEach, whatever happened. peer-connection-timers.test.ts has the
// timers in detail, over an in-memory stream.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../../src/clock.js';
import { type ErrorCode, P2PChatError } from '../../../src/errors.js';
import { GarbagePacer } from '../../../src/garbage-pacer.js';
import { LentReads, TcpStream } from '../../../src/net/tcp-stream.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair, type KeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import type { RemotePeer } from '../../../src/secure/secure-channel.js';
import {
  type CloseOutcome,
  PeerConnection,
  type PeerConnectionOptions,
} from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { PREAMBLE } from '../../../src/wire/preamble.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { closeTcpPairs, tcpPair } from '../../helpers/tcp-pair.js';

afterEach(closeTcpPairs);

/** A connected pair of real TCP sockets on loopback: [dialing side, accepting side]. */
const socketPair = () => tcpPair();

const SLOW: Omit<PeerConnectionOptions, 'initiator' | 'keyPair' | 'localInfo'> = {
  handshakeTimeoutMs: 5_000,
  keepaliveIntervalMs: 10_000,
  keepaliveTimeoutMs: 30_000,
  byeGraceMs: 1_000,
  maxQueuedBytes: 4 * 1024 * 1024,
  clock: SYSTEM_CLOCK,
  codec: PEER_MESSAGES,
};

/** Counts the bytes it is told were left for the collector, and collects nothing. */
class CountingPacer extends GarbagePacer {
  bytes = 0;

  constructor() {
    super(Number.MAX_SAFE_INTEGER, () => undefined);
  }

  override add(bytes: number): void {
    this.bytes += bytes;
  }
}

/** A PeerConnection with everything it reports collected, started on `socket`. */
class Peer {
  readonly keys: KeyPair = generateKeyPair();
  readonly conn: PeerConnection;
  readonly messages: SessionMessage[] = [];
  readonly established: Promise<RemotePeer>;
  readonly closed: Promise<CloseOutcome>;

  /** `reads`: the LentReads `socket` was dialled with, for a stream that lends its chunks. */
  constructor(socket: Socket, name: string, initiator: boolean, options: Partial<PeerConnectionOptions> = {}, reads?: LentReads) {
    this.conn = new PeerConnection(new TcpStream(socket, reads), {
      ...SLOW,
      initiator,
      keyPair: this.keys,
      localInfo: { name, version: PROTOCOL_VERSION, features: FEATURES },
      ...options,
    });
    this.conn.on('message', (message) => this.messages.push(message));
    this.established = new Promise((resolve) => this.conn.once('established', resolve));
    this.closed = new Promise((resolve) => this.conn.once('closed', resolve));
  }

  get fingerprint(): string {
    return fingerprintOf(this.keys.publicKey);
  }
}

interface Pair {
  alice: Peer;
  bob: Peer;
  aliceSocket: Socket;
  bobSocket: Socket;
}

/** Alice dials, Bob accepts; both started and established. */
async function establishedPair(
  aliceOptions: Partial<PeerConnectionOptions> = {},
  bobOptions: Partial<PeerConnectionOptions> = {},
): Promise<Pair> {
  const [aliceSocket, bobSocket] = await socketPair();
  const alice = new Peer(aliceSocket, 'alice', true, aliceOptions);
  const bob = new Peer(bobSocket, 'bob', false, bobOptions);
  alice.conn.start();
  bob.conn.start();
  await Promise.all([alice.established, bob.established]);
  return { alice, bob, aliceSocket, bobSocket };
}

function assertError(outcome: CloseOutcome, kind: 'lost' | 'failed', code: ErrorCode): P2PChatError {
  assert.equal(outcome.kind, kind, JSON.stringify(outcome));
  assert.ok(outcome.kind === 'lost' || outcome.kind === 'failed');
  assert.ok(P2PChatError.is(outcome.error), String(outcome.error));
  assert.equal(outcome.error.code, code, outcome.error.message);
  return outcome.error;
}

/**
 * `peer`'s timer of `ms` on `clock` runs out: a millisecond before, its socket is still open (with
 * I/O let run); at `ms` it is closed at once, and `peer` reports how.
 */
async function closesAt(clock: ManualClock, ms: number, peer: Peer, socket: Socket): Promise<CloseOutcome> {
  clock.advance(ms - 1);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(socket.destroyed, false, `still open a millisecond before ${ms} ms`);
  clock.advance(1);
  assert.equal(socket.destroyed, true, `closed at ${ms} ms`);
  return peer.closed;
}

describe('PeerConnection over TCP', { timeout: 10_000 }, () => {
  it('establishes both sides with each other\'s fingerprint and info', async () => {
    const { alice, bob, aliceSocket } = await establishedPair();
    const aliceSees = await alice.established;
    const bobSees = await bob.established;
    assert.equal(aliceSees.fingerprint, bob.fingerprint);
    assert.equal(bobSees.fingerprint, alice.fingerprint);
    assert.equal(aliceSees.info.name, 'bob');
    assert.equal(bobSees.info.name, 'alice');
    assert.deepEqual(bobSees.info.features, [...FEATURES]);
    assert.equal(alice.conn.established, true);
    assert.equal(bob.conn.established, true);
    assert.equal(alice.conn.remote?.fingerprint, bob.fingerprint);
    assert.equal(alice.conn.address, `127.0.0.1:${aliceSocket.remotePort}`);
  });

  it('delivers chat messages both ways as message events', async () => {
    const { alice, bob } = await establishedPair();
    const atBob = once(bob.conn, 'message');
    alice.conn.send({ type: 'chat', id: 'm1', time: 1_700_000_000_000, text: 'hello bob' });
    assert.deepEqual(await atBob, [{ type: 'chat', id: 'm1', time: 1_700_000_000_000, text: 'hello bob' }]);

    const atAlice = once(alice.conn, 'message');
    bob.conn.send({ type: 'chat', id: 'm2', time: 2, text: 'waves back', action: true });
    assert.deepEqual(await atAlice, [{ type: 'chat', id: 'm2', time: 2, text: 'waves back', action: true }]);

    const nick = once(bob.conn, 'message');
    alice.conn.send({ type: 'nick', name: 'alice2' });
    assert.deepEqual(await nick, [{ type: 'nick', name: 'alice2' }]);
    assert.equal(bob.messages.length, 2);
    assert.equal(alice.messages.length, 1);
  });

  it('close(reason) tells the other side it left with that reason; the closer sees closed', async () => {
    const { alice, bob } = await establishedPair();
    await alice.conn.close('bye all');
    assert.deepEqual(await bob.closed, { kind: 'left', reason: 'bye all' });
    assert.deepEqual(await alice.closed, { kind: 'closed' });
    assert.deepEqual(bob.messages, [], 'the goodbye is not a chat message');
    // A second close is harmless and resolves at once.
    await alice.conn.close('again');
  });

  it('cuts a goodbye reason to the reason limit, so a /quit reason of any length still says goodbye', async () => {
    const { alice, bob } = await establishedPair();
    await alice.conn.close('q'.repeat(100_000));
    const outcome = await bob.closed;
    assert.equal(outcome.kind, 'left');
    assert.equal(outcome.kind === 'left' && outcome.reason.length, 256);
    assert.ok(outcome.kind === 'left' && outcome.reason === 'q'.repeat(256));
  });

  it('reports an abruptly destroyed socket as lost', async () => {
    const { alice, bobSocket } = await establishedPair();
    bobSocket.destroy();
    assertError(await alice.closed, 'lost', 'ERR_CONNECTION_LOST');
  });

  it('reports a reset connection as lost', async () => {
    const { alice, bobSocket } = await establishedPair();
    bobSocket.resetAndDestroy();
    assertError(await alice.closed, 'lost', 'ERR_CONNECTION_LOST');
  });

  it('declares a peer that stops answering lost with ERR_KEEPALIVE_TIMEOUT', async () => {
    // Bob's clock never moves, so nothing from him reaches Alice once his socket stops reading.
    const clock = new ManualClock();
    const { alice, bob, aliceSocket, bobSocket } = await establishedPair({ clock }, { clock: new ManualClock() });
    bobSocket.pause();
    const error = assertError(await closesAt(clock, SLOW.keepaliveTimeoutMs, alice, aliceSocket), 'lost', 'ERR_KEEPALIVE_TIMEOUT');
    assert.match(error.message, /bob stopped answering/);
    assert.equal(bob.messages.length, 0);
  });

  it('measures the round trip with ping(), and the initiator first by its handshake', async () => {
    const { alice, bob } = await establishedPair();
    assert.equal(typeof alice.conn.rttMs, 'number', 'message 1 out, message 2 back: a round trip');
    assert.equal(bob.conn.rttMs, undefined, 'the responder has no such measure');
    bob.conn.ping();
    for (let i = 0; i < 100 && bob.conn.rttMs === undefined; i++) await sleep(10);
    assert.equal(typeof bob.conn.rttMs, 'number');
    assert.ok(bob.conn.rttMs! >= 0);
    alice.conn.ping();
    for (let i = 0; i < 100 && alice.conn.rttMs === undefined; i++) await sleep(10);
    assert.equal(typeof alice.conn.rttMs, 'number');
    assert.ok(alice.conn.rttMs! >= 0);
  });

  it('fails the handshake with ERR_HANDSHAKE_TIMEOUT when the other side never speaks', async () => {
    const [aliceSocket] = await socketPair(); // the accepted socket stays silent
    const clock = new ManualClock();
    const alice = new Peer(aliceSocket, 'alice', true, { clock });
    alice.conn.start();
    const error = assertError(await closesAt(clock, SLOW.handshakeTimeoutMs, alice, aliceSocket), 'failed', 'ERR_HANDSHAKE_TIMEOUT');
    assert.equal(alice.conn.established, false);
    // Nothing at all, where a p2p-chat peer would have sent its preamble at once, is worth saying.
    assert.match(error.message, /did not finish in time: it sent nothing in \d+(\.\d+)? s \(a p2p-chat peer answers at once: is another program listening on that port\?\)$/);
  });

  it('times out a dialled side that sent part of a preamble without calling it silent', async () => {
    const [aliceSocket, server] = await socketPair();
    const clock = new ManualClock();
    const alice = new Peer(aliceSocket, 'alice', true, { clock });
    alice.conn.start();
    server.write(PREAMBLE.subarray(0, 3));
    await new Promise((resolve) => server.once('data', resolve)); // alice's preamble: her side is reading too
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const error = assertError(await closesAt(clock, SLOW.handshakeTimeoutMs, alice, aliceSocket), 'failed', 'ERR_HANDSHAKE_TIMEOUT');
    assert.match(error.message, /^handshake with .* did not finish in time$/);
  });

  it('times out a silent dialer on the accepting side too', async () => {
    const [, bobSocket] = await socketPair(); // the dialing socket stays silent
    const clock = new ManualClock();
    const bob = new Peer(bobSocket, 'bob', false, { clock });
    bob.conn.start();
    const error = assertError(await closesAt(clock, SLOW.handshakeTimeoutMs, bob, bobSocket), 'failed', 'ERR_HANDSHAKE_TIMEOUT');
    assert.match(error.message, /did not finish in time: it sent nothing in \d+(\.\d+)? s$/);
  });

  it('turns away a stranger with ERR_NOT_P2P_CHAT', async () => {
    const [stranger, bobSocket] = await socketPair();
    const bob = new Peer(bobSocket, 'bob', false);
    bob.conn.start();
    stranger.write('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    assertError(await bob.closed, 'failed', 'ERR_NOT_P2P_CHAT');
  });

  it('refuses a responder whose fingerprint is not the expected one', async () => {
    const [aliceSocket, bobSocket] = await socketPair();
    const someoneElse = fingerprintOf(generateKeyPair().publicKey);
    const alice = new Peer(aliceSocket, 'alice', true, { expectedFingerprint: someoneElse });
    const bob = new Peer(bobSocket, 'bob', false);
    let bobEstablished = false;
    bob.conn.on('established', () => (bobEstablished = true));
    alice.conn.start();
    bob.conn.start();
    assertError(await alice.closed, 'failed', 'ERR_PEER_KEY_MISMATCH');
    // To Bob, Alice walked away after his reply, exactly as a dialler that kept another path.
    assertError(await bob.closed, 'failed', 'ERR_HANDSHAKE_ABANDONED');
    assert.equal(bobEstablished, false);
    assert.equal(bob.conn.remote, undefined);
  });

  it('an initiator whose mayFinish says no closes after message 2; neither side is established', async () => {
    const [aliceSocket, bobSocket] = await socketPair();
    const bob = new Peer(bobSocket, 'bob', false);
    let asked = 0;
    const mayFinish = () => {
      asked++;
      return false;
    };
    const alice = new Peer(aliceSocket, 'alice', true, { expectedFingerprint: bob.fingerprint, mayFinish });
    const established: string[] = [];
    alice.conn.on('established', () => established.push('alice'));
    bob.conn.on('established', () => established.push('bob'));
    alice.conn.start();
    bob.conn.start();
    assertError(await alice.closed, 'failed', 'ERR_HANDSHAKE_ABANDONED');
    const error = assertError(await bob.closed, 'failed', 'ERR_HANDSHAKE_ABANDONED');
    assert.match(error.message, /^127\.0\.0\.1:\d+ left the handshake after our reply/);
    assert.equal(asked, 1);
    assert.deepEqual(established, []);
    assert.equal(bob.conn.remote, undefined);
  });

  it('a dialler that closes before our reply is a failed handshake, not an abandoned one', async () => {
    const [aliceSocket, bobSocket] = await socketPair();
    const bob = new Peer(bobSocket, 'bob', false);
    bob.conn.start();
    aliceSocket.end(); // no preamble, no message 1: Bob never sent his key
    assertError(await bob.closed, 'failed', 'ERR_HANDSHAKE_FAILED');
  });

  it('connects when the expected fingerprint matches', async () => {
    const [aliceSocket, bobSocket] = await socketPair();
    const bob = new Peer(bobSocket, 'bob', false);
    const alice = new Peer(aliceSocket, 'alice', true, { expectedFingerprint: bob.fingerprint });
    alice.conn.start();
    bob.conn.start();
    const [aliceSees] = await Promise.all([alice.established, bob.established]);
    assert.equal(aliceSees.fingerprint, bob.fingerprint);
  });

  it('destroy() ends our side as closed and the other side as lost', async () => {
    const { alice, bob } = await establishedPair();
    alice.conn.destroy();
    assert.deepEqual(await alice.closed, { kind: 'closed' });
    assertError(await bob.closed, 'lost', 'ERR_CONNECTION_LOST');
  });
});

describe('PeerConnection backpressure (review regressions)', () => {
  it('drops a peer that stops reading once too much is queued for it, instead of buffering without bound', async () => {
    const { alice, bob, bobSocket } = await establishedPair({ maxQueuedBytes: 256 * 1024 });
    bobSocket.pause(); // bob's process stops reading: alice's sends pile up
    const text = 'y'.repeat(16 * 1024);
    let sent = 0;
    let closed: CloseOutcome | undefined;
    void alice.closed.then((outcome) => (closed = outcome));
    // Bounded: the kernel buffers a few MiB at most before alice's own queue grows past the cap.
    for (let i = 0; i < 2_000 && closed === undefined; i++) {
      alice.conn.send({ type: 'chat', id: String(i), time: 1, text });
      sent++;
      if (i % 50 === 0) await sleep(1);
    }
    const error = assertError(await alice.closed, 'lost', 'ERR_CONNECTION_LOST');
    assert.match(error.message, /is not reading/);
    assert.ok(sent < 2_000, `dropped after ${sent} messages`);
    bobSocket.resume();
    await bob.closed;
  });

  it('reads records split across lent reads intact (a dialled socket reads into the shared buffer)', async () => {
    const reads = new LentReads();
    const [aliceSocket, bobSocket] = await tcpPair({ lentReads: reads });
    const garbage = new CountingPacer();
    const alice = new Peer(aliceSocket, 'alice', true, { garbage }, reads);
    const bob = new Peer(bobSocket, 'bob', false);
    alice.conn.start();
    bob.conn.start();
    await Promise.all([alice.established, bob.established]);
    // 3 MiB of records, each other than the last: kept views of a read would show later bytes.
    const texts = Array.from({ length: 200 }, (_, i) => `${i}:`.padEnd(15_000, String.fromCharCode(97 + (i % 26))));
    const all = new Promise<void>((resolve) => alice.conn.on('message', () => alice.messages.length === texts.length && resolve()));
    for (const [i, text] of texts.entries()) bob.conn.send({ type: 'chat', id: `m${i}`, time: i, text });
    await Promise.race([all, sleep(10_000, undefined, { ref: false }).then(() => assert.fail(`${alice.messages.length} of ${texts.length} messages in 10 s`))]);
    assert.deepEqual(alice.messages.map((m) => m.type === 'chat' && m.text), texts);
    // The reads left no buffers behind: only the plaintexts count (Node's own reads would double it).
    assert.ok(garbage.bytes > 0.9 * aliceSocket.bytesRead && garbage.bytes < 1.1 * aliceSocket.bytesRead, `${garbage.bytes} of ${aliceSocket.bytesRead}`);
  });

  it('holdReading stops delivering the peer\'s messages until every holder has released it', async () => {
    const { alice, bob } = await establishedPair();
    const [disk, other] = [{}, {}];
    bob.conn.holdReading(disk);
    bob.conn.holdReading(other);
    alice.conn.send({ type: 'chat', id: '1', time: 1, text: 'held back' });
    await sleep(50);
    assert.equal(bob.messages.length, 0, 'nothing read while held');
    bob.conn.releaseReading(disk);
    await sleep(50);
    assert.equal(bob.messages.length, 0, 'still held by the other holder');
    bob.conn.releaseReading(disk); // a second release by the same holder changes nothing
    bob.conn.releaseReading(other);
    for (let waited = 0; bob.messages.length === 0 && waited < 2_000; waited += 10) await sleep(10);
    assert.equal(bob.messages[0]?.type === 'chat' && bob.messages[0].text, 'held back');
  });

  it('reports needsDrain and emits drain when the queue empties', async () => {
    const { alice, bobSocket } = await establishedPair({ maxQueuedBytes: 64 * 1024 * 1024 });
    bobSocket.pause();
    const text = 'z'.repeat(16 * 1024);
    // Loopback kernel buffers take a few MiB before our own queue starts to grow.
    for (let i = 0; i < 2_000 && !alice.conn.needsDrain; i++) alice.conn.send({ type: 'chat', id: String(i), time: 1, text });
    assert.equal(alice.conn.needsDrain, true);
    const drained = once(alice.conn, 'drain');
    bobSocket.resume();
    await drained;
    assert.equal(alice.conn.needsDrain, false);
  });
});
