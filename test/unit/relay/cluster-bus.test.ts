// A dial passed to another relay over the cluster bus is settled only by its own answer: one from
// the relay asked, to this run of the asking relay. An in-memory pub/sub stands for Redis.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterBus, type DialAnswer, type PubSub } from '../../../src/relay/cluster-bus.js';
import { decodeClusterMessage, encodeClusterMessage } from '../../../src/relay/cluster-messages.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const SELF = 'relay-a.example.org:5050';
const ASKED = 'relay-b.example.org:5050';
const FP = fingerprintOf(generateKeyPair().publicKey);
const REQUEST = { a: { name: 'bob', fingerprint: FP }, b: FP, ip: '198.51.100.9' };
const CHANNEL = `p:relay:${SELF}`;

/** Channels with their listeners, and what was published (every channel has a listener). */
class MemoryPubSub implements PubSub {
  readonly listeners = new Map<string, (message: string) => void>();
  readonly published: { channel: string; message: string }[] = [];
  async publish(channel: string, message: string): Promise<number> {
    this.published.push({ channel, message });
    return 1;
  }
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.listeners.set(channel, listener);
  }
  async unsubscribe(channel: string): Promise<void> {
    this.listeners.delete(channel);
  }
}

/** A run of relay A's bus: a new one stands for the relay restarted with the same address. */
async function run(pubsub: MemoryPubSub, clock: ManualClock): Promise<ClusterBus> {
  const bus = new ClusterBus(pubsub, { self: SELF, keyPrefix: 'p:', timeoutMs: 3_000, clock, onMessage: () => undefined, onBad: () => undefined });
  await bus.start();
  return bus;
}

function answer(id: number, from = ASKED): string {
  const message: DialAnswer = { type: 'dial-answer', id, from, ok: false, code: 'ERR_PEER_NOT_FOUND', message: `answer to ${id}` };
  return encodeClusterMessage(message);
}

/** The id of the last dial `pubsub` carried. */
function lastId(pubsub: MemoryPubSub): number {
  const message = decodeClusterMessage(pubsub.published.at(-1)!.message);
  assert.equal(message.type, 'dial');
  return message.type === 'dial' ? message.id : -1;
}

describe('cluster bus', () => {
  it('takes a dial\'s answer only from the relay it asked', async () => {
    const pubsub = new MemoryPubSub();
    const clock = new ManualClock();
    const bus = await run(pubsub, clock);
    let settled: DialAnswer | undefined;
    const dialled = bus.dial(ASKED, REQUEST).then((a) => (settled = a));
    await new Promise((resolve) => setImmediate(resolve));
    const id = lastId(pubsub);
    pubsub.listeners.get(CHANNEL)!(answer(id, 'relay-c.example.org:5050'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, undefined, 'another relay cannot answer for the one asked');
    pubsub.listeners.get(CHANNEL)!(answer(id));
    assert.equal((await dialled).from, ASKED);
  });

  it('a late answer to a dial of the relay\'s previous run does not settle one of this run', async () => {
    const pubsub = new MemoryPubSub();
    const clock = new ManualClock();
    void (await run(pubsub, clock)).dial(ASKED, REQUEST).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const old = lastId(pubsub);
    // Relay A restarts (same address) and dials B again before B's answer to the first dial comes.
    const bus = await run(pubsub, clock);
    let settled: DialAnswer | undefined;
    const dialled = bus.dial(ASKED, REQUEST).then((a) => (settled = a));
    await new Promise((resolve) => setImmediate(resolve));
    const id = lastId(pubsub);
    pubsub.listeners.get(CHANNEL)!(answer(old));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, undefined, 'the answer to the previous run is not this one\'s');
    pubsub.listeners.get(CHANNEL)!(answer(id));
    const got = await dialled;
    assert.equal(got.ok === false && got.message, `answer to ${id}`);
  });
});
