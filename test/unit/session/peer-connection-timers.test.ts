// PeerConnection's timers on a manual clock, over an in-memory stream pair: the handshake
// deadline, keepalive pings (judged on what arrives, not on what we send), the keepalive timeout
// and the goodbye grace each fire exactly when their time has passed on the clock, and never
// before; no test sleeps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { PeerConnection, type CloseOutcome, type PeerConnectionOptions } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES } from '../../../src/session/session-messages.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';

const TIMING = { handshakeTimeoutMs: 5_000, keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 30_000, byeGraceMs: 2_000, maxQueuedBytes: 1 << 22 };

/** Let queued microtasks and immediates run (the in-memory stream delivers on microtasks). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Move the clock `ms` forward a second at a time, letting the peers answer in between. */
async function run(clock: ManualClock, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 1_000) {
    clock.advance(Math.min(1_000, ms - passed));
    await settle();
  }
}

/** Like run, with `side` sending a chat line every second of it. */
async function talk(clock: ManualClock, side: Side, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 1_000) {
    side.conn.send({ type: 'chat', id: `t${passed}`, time: clock.now(), text: 'still talking' });
    clock.advance(Math.min(1_000, ms - passed));
    await settle();
  }
}

interface Side {
  readonly conn: PeerConnection;
  readonly stream: MemoryStream;
  outcome: CloseOutcome | undefined;
}

function side(stream: MemoryStream, clock: ManualClock, initiator: boolean, options: Partial<PeerConnectionOptions> = {}): Side {
  const conn = new PeerConnection(stream, {
    ...TIMING,
    initiator,
    keyPair: generateKeyPair(),
    localInfo: { name: initiator ? 'alice' : 'bob', version: PROTOCOL_VERSION, features: FEATURES },
    codec: PEER_MESSAGES,
    clock,
    ...options,
  });
  const result: Side = { conn, stream, outcome: undefined };
  conn.once('closed', (outcome) => (result.outcome = outcome));
  return result;
}

async function established(clock: ManualClock, bobOptions: Partial<PeerConnectionOptions> = {}) {
  const [a, b] = memoryStreamPair();
  const alice = side(a, clock, true);
  const bob = side(b, clock, false, bobOptions);
  alice.conn.start();
  bob.conn.start();
  for (let i = 0; i < 50 && !(alice.conn.established && bob.conn.established); i++) await settle();
  assert.ok(alice.conn.established && bob.conn.established, 'the handshake completes without the clock moving');
  return { alice, bob };
}

/** Read through a call, so TypeScript does not keep an earlier assertion's narrowing. */
function kindOf(side: Side): string | undefined {
  return side.outcome?.kind;
}

/** `side` is still up 1 ms before `ms` on the clock, and at `ms` ends as `kind` (with `code`). */
async function endsExactlyAt(clock: ManualClock, side: Side, ms: number, kind: CloseOutcome['kind'], code?: string): Promise<void> {
  await run(clock, ms - 1);
  assert.equal(side.outcome, undefined, 'still up a millisecond before');
  await run(clock, 1);
  assert.equal(kindOf(side), kind);
  if (code !== undefined) assert.equal(codeOf(side.outcome), code);
}

function codeOf(outcome: CloseOutcome | undefined): string | undefined {
  return outcome && 'error' in outcome ? outcome.error.code : outcome?.kind;
}

describe('PeerConnection timers on a manual clock', () => {
  it('fails the handshake at its deadline, not a millisecond before', async () => {
    const clock = new ManualClock();
    const [a] = memoryStreamPair();
    const alice = side(a, clock, true); // nobody answers on the other end
    alice.conn.start();
    await settle();
    await endsExactlyAt(clock, alice, TIMING.handshakeTimeoutMs, 'failed', 'ERR_HANDSHAKE_TIMEOUT');
  });

  it('pings after the keepalive interval of silence, and measures the round trip on the clock', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await established(clock);
    // Joining pings at once in the app; here nothing is sent until the interval passes.
    const before = alice.stream.written;
    await run(clock, TIMING.keepaliveIntervalMs - 1);
    assert.equal(alice.stream.written, before, 'nothing sent before the interval');
    await run(clock, 1);
    assert.ok(alice.stream.written > before, 'a ping went out');
    assert.equal(alice.conn.rttMs, 0, 'the pong came back with no time passing on the clock');
    assert.equal(bob.outcome, undefined);
    assert.equal(alice.outcome, undefined);
  });

  it('declares a silent peer lost at the keepalive timeout', async () => {
    const clock = new ManualClock();
    // Bob's own timeout is far off, so the end comes from alice's side.
    const { alice } = await established(clock, { keepaliveTimeoutMs: 10 * TIMING.keepaliveTimeoutMs });
    alice.stream.sever(); // the path goes dead: nothing more arrives either way
    await endsExactlyAt(clock, alice, TIMING.keepaliveTimeoutMs, 'lost', 'ERR_KEEPALIVE_TIMEOUT');
  });

  it('does not judge a peer by the silence of a stream we chose not to read', async () => {
    const clock = new ManualClock();
    // Bob is patient here: the point is what alice concludes from a stream she does not read.
    const { alice, bob } = await established(clock, { keepaliveTimeoutMs: 10 * TIMING.keepaliveTimeoutMs });
    const holder = {};
    alice.conn.holdReading(holder); // e.g. a file waiting for the disk, a sender held back
    await run(clock, 3 * TIMING.keepaliveTimeoutMs);
    assert.equal(alice.outcome, undefined, 'not lost while we were the ones not reading');
    alice.conn.releaseReading(holder);
    await run(clock, TIMING.keepaliveTimeoutMs);
    assert.equal(alice.outcome, undefined);
    assert.equal(bob.outcome, undefined);
  });

  it('keeps a peer that answers alive however long the clock runs', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await established(clock);
    const surfaced: string[] = [];
    for (const { conn } of [alice, bob]) conn.on('message', (message) => surfaced.push(message.type));
    await run(clock, 10 * TIMING.keepaliveTimeoutMs);
    assert.equal(alice.outcome, undefined);
    assert.equal(bob.outcome, undefined);
    assert.deepEqual(surfaced, [], 'pings and pongs are answered inside, never surfaced as messages');
    assert.equal(typeof alice.conn.rttMs, 'number');
    assert.equal(typeof bob.conn.rttMs, 'number');
    // And the connection still carries chat, and ends with a goodbye.
    alice.conn.send({ type: 'chat', id: 'late', time: 3, text: 'still here' });
    const closing = alice.conn.close('done');
    for (let i = 0; i < 10; i++) await settle();
    assert.deepEqual(surfaced, ['chat']);
    assert.deepEqual(bob.outcome, { kind: 'left', reason: 'done' });
    assert.equal(await closing, true);
  });

  it('keeps a peer that only answers pings while we keep talking, and pings it when it is silent', async () => {
    const clock = new ManualClock();
    // Bob never pings on his own and never says anything: he only answers alice's pings.
    const { alice, bob } = await established(clock, { keepaliveIntervalMs: 1e9, keepaliveTimeoutMs: 2e9 });
    let chats = 0;
    bob.conn.on('message', (message) => {
      if (message.type === 'chat') chats++;
    });
    const bobWrote = bob.stream.written;
    await talk(clock, alice, 10 * TIMING.keepaliveTimeoutMs);
    assert.equal(alice.outcome, undefined, 'alice still has bob');
    assert.equal(bob.outcome, undefined);
    assert.equal(chats, (10 * TIMING.keepaliveTimeoutMs) / 1_000, 'every chat arrived');
    assert.ok(bob.stream.written > bobWrote, 'bob answered pings');
    assert.equal(alice.conn.rttMs, 0, 'alice pinged, though she never stopped sending');
  });

  it('declares a peer lost while we keep talking once our ping goes unanswered', async () => {
    const clock = new ManualClock();
    const { alice } = await established(clock, { keepaliveTimeoutMs: 10 * TIMING.keepaliveTimeoutMs });
    alice.stream.sever();
    await talk(clock, alice, TIMING.keepaliveTimeoutMs - 1);
    assert.equal(alice.outcome, undefined, 'still up a millisecond before');
    await talk(clock, alice, 1);
    assert.equal(kindOf(alice), 'lost');
    assert.equal(codeOf(alice.outcome), 'ERR_KEEPALIVE_TIMEOUT');
  });

  it('after our goodbye, gives a peer that does not close byeGraceMs, then closes anyway', async () => {
    const clock = new ManualClock();
    const { alice, bob } = await established(clock);
    bob.stream.pause(); // bob never reads the goodbye, so never closes his side
    const closing = alice.conn.close('bye');
    await settle();
    assert.equal(alice.outcome, undefined, 'waiting for bob to close');
    await endsExactlyAt(clock, alice, TIMING.byeGraceMs, 'closed');
    assert.equal(await closing, true, 'everything alice wrote was handed to the stream first');
  });
});
