// Conversation.settle, what piped input waits for at its end, and undelivered(), what it then
// reports: a Conversation on loopback with a manual clock, and a hand-driven peer that acknowledges
// only when the test says so. settle resolves once everything is acknowledged (with no time
// passing), when no peer is left, or exactly at its timeout; undelivered() counts chat lines only.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Conversation } from '../../../src/app/conversation.js';
import { TCP_TRANSPORT } from '../../../src/net/tcp-transport.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { PeerConnection } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { cleanupNodes, EventLog, tempConversation } from '../../helpers/chat-nodes.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const QUIET = { keepaliveIntervalMs: 1e9, keepaliveTimeoutMs: 2e9 };
const CONNECTION_TIMING = { handshakeTimeoutMs: 5_000, byeGraceMs: 2_000, maxQueuedBytes: 1 << 22, ...QUIET };

const peers: PeerConnection[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.destroy();
  cleanupNodes();
});

/** Let real I/O run until `done()` holds (the clock does not move). */
async function eventually(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(done(), what);
}

/** Alice listening on loopback, and a peer connected to her that acknowledges only when told. */
async function aliceAndMallory() {
  const clock = new ManualClock();
  const alice = tempConversation('alice', { listen: { host: '127.0.0.1', port: 0, fallback: false }, clock, timing: QUIET });
  const log = new EventLog(alice);
  await alice.start();
  const listening = log.events.find((e) => e.type === 'listening');
  assert.ok(listening?.type === 'listening');
  const stream = await TCP_TRANSPORT.dial('127.0.0.1', listening.port, { timeoutMs: 5_000, clock });
  const mallory = new PeerConnection(stream, {
    ...CONNECTION_TIMING,
    initiator: true,
    keyPair: generateKeyPair(),
    localInfo: { name: 'mallory', version: PROTOCOL_VERSION, features: FEATURES },
    codec: PEER_MESSAGES,
    clock,
  });
  peers.push(mallory);
  const seen: SessionMessage[] = [];
  mallory.on('message', (message) => seen.push(message));
  mallory.once('established', () => mallory.send({ type: 'conversation', id: 'ab'.repeat(16), received: 0 }));
  mallory.start();
  await log.until((e) => e.type === 'connected');
  /** How many reliable messages of alice's have reached mallory. */
  const arrived = () => seen.filter((m) => m.type === 'chat' || m.type === 'nick').length;
  return { clock, alice, log, mallory, arrived, fingerprint: () => log.events.find((e) => e.type === 'connected')!.fingerprint };
}

/** Whether `promise` has settled, once what is due has run. */
async function isDone(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

function settleOf(alice: Conversation, timeoutMs: number): Promise<void> {
  return alice.settle(timeoutMs);
}

describe('Conversation.settle', () => {
  it('resolves at once when nothing is waiting for an acknowledgement', async () => {
    const { alice } = await aliceAndMallory();
    assert.equal(await isDone(settleOf(alice, 60_000)), true);
  });

  it('resolves as soon as the peer acknowledges everything, with no time passing', async () => {
    const { alice, mallory, arrived } = await aliceAndMallory();
    alice.send('one');
    alice.send('two');
    await eventually(() => arrived() === 2, 'mallory has both');
    const settled = settleOf(alice, 60_000);
    mallory.send({ type: 'ack', n: 1 });
    assert.equal(await isDone(settled), false, 'one of two is not enough');
    mallory.send({ type: 'ack', n: 2 });
    await eventually(() => alice.unacknowledged === 0, 'alice has the ack');
    assert.equal(await isDone(settled), true);
    assert.deepEqual(alice.undelivered(), []);
  });

  it('gives up exactly at its timeout, and undelivered() says how many lines, to whom', async () => {
    const { clock, alice, mallory, arrived, fingerprint } = await aliceAndMallory();
    alice.send('one');
    alice.send('two');
    await eventually(() => arrived() === 2, 'mallory has both');
    mallory.send({ type: 'ack', n: 1 });
    await eventually(() => alice.unacknowledged === 1, 'alice has the ack for one');
    const settled = settleOf(alice, 5_000);
    clock.advance(4_999);
    assert.equal(await isDone(settled), false, 'a millisecond before the timeout');
    clock.advance(1);
    assert.equal(await isDone(settled), true);
    assert.deepEqual(alice.undelivered(), [{ name: 'mallory', fingerprint: fingerprint(), count: 1 }]);
  });

  it('resolves when the last peer leaves, which then counts what it never acknowledged', async () => {
    const { alice, log, mallory, arrived, fingerprint } = await aliceAndMallory();
    alice.send('one');
    await eventually(() => arrived() === 1, 'mallory has it');
    const settled = settleOf(alice, 60_000);
    void mallory.close('bye'); // its session has no ack to send first: it never acknowledges
    await log.until((e) => e.type === 'left');
    assert.equal(await isDone(settled), true);
    const [left] = log.events.filter((e) => e.type === 'left');
    assert.equal(left?.type === 'left' && left.unacknowledged, 1);
    assert.deepEqual(alice.undelivered(), [{ name: 'mallory', fingerprint: fingerprint(), count: 1 }]);
  });

  it('resolves when the ack covers a nick change, which is acknowledged but is not a line', async () => {
    const { alice, mallory, arrived } = await aliceAndMallory();
    alice.nick('al');
    await eventually(() => arrived() === 1, 'mallory has the nick change');
    assert.equal(alice.unacknowledged, 1);
    const settled = settleOf(alice, 60_000);
    mallory.send({ type: 'ack', n: 1 });
    await eventually(() => alice.unacknowledged === 0, 'alice has the ack');
    assert.equal(await isDone(settled), true, 'nothing is left unacknowledged: settle must not wait out its timeout');
    assert.deepEqual(alice.undelivered(), []);
  });
});
