// Relays of one cluster when things overlap: a relay that lost Redis coming back while its peers
// registered elsewhere meanwhile, a registration racing a refresh or a `moved` notice, a stop
// during the start. Each relay of the test reaches Redis directly or through a TcpProxy, so that
// one relay alone can be cut off from it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayCluster } from '../../src/relay/relay-cluster.js';
import type { RelayEvent } from '../../src/relay/relay-events.js';
import { FEATURES } from '../../src/secure/handshake-payload.js';
import type { Identity } from '../../src/secure/identity-store.js';
import { CLUSTER_FEATURE } from '../../src/session/relay-messages.js';
import { clusterSuite, eventually } from '../helpers/cluster-suite.js';
import { redisServerSkip } from '../helpers/redis-server.js';
import { onCleanup, registered, startRelay, until, type ControlClient } from '../helpers/relay-testnet.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { ManualClock } from '../helpers/manual-clock.js';

const CLUSTER_CLIENT = [...FEATURES, CLUSTER_FEATURE];
const TTL_MS = 3_000;
let prefixes = 0;

type Relay = Awaited<ReturnType<typeof startRelay>>;

describe('relays on one Redis, when things overlap', { skip: await redisServerSkip() }, () => {
  const suite = clusterSuite();
  let prefix: string;

  function newPrefix(): void {
    prefix = `race${++prefixes}-${process.pid}:`;
  }

  async function clusterRelay(url = suite.redis.url): Promise<Relay> {
    const relay = await startRelay({ statsIntervalMs: 0 }, { identity: suite.key, cluster: { url, publicAddress: '127.0.0.1', keyPrefix: prefix, ttlMs: TTL_MS, timeoutMs: 1_000 } });
    await relay.event('cluster-joined');
    return relay;
  }

  /** A TcpProxy in front of the test's Redis, closed with the testnet. */
  async function redisProxy(): Promise<TcpProxy> {
    const proxy = new TcpProxy(suite.redis.port);
    await proxy.start();
    onCleanup(() => proxy.close());
    return proxy;
  }

  async function peer(relay: Relay, name: string, identity?: Identity): Promise<ControlClient> {
    const client = await relay.client(name, identity, undefined, CLUSTER_CLIENT);
    await registered(client);
    return client;
  }

  /** A plain client of the test's Redis, closed with the testnet. */
  async function rawRedis() {
    const raw = createClient({ url: suite.redis.url });
    raw.on('error', () => undefined);
    await raw.connect();
    onCleanup(async () => void (await raw.quit().catch(() => undefined)));
    return raw;
  }

  const joins = (relay: Relay) => relay.events.filter((e: RelayEvent) => e.type === 'cluster-joined').length;

  it('a relay back from an outage does not take a key that registered on another relay meanwhile', async () => {
    newPrefix();
    const proxy = await redisProxy();
    const a = await clusterRelay(`redis://127.0.0.1:${proxy.port}`);
    const b = await clusterRelay();
    const first = await peer(a, 'alice');
    // Relay A loses Redis; alice's connection to it goes quiet (A has not noticed) and she
    // registers on relay B, whose `moved` notice A cannot hear.
    proxy.refuseNew();
    proxy.cut();
    await a.event('cluster-left');
    const again = await peer(b, 'alice', first.identity);
    // A comes back and writes its peers anew: its stale alice must not displace the newer one.
    proxy.acceptNew();
    await until(() => joins(a) >= 2, 'relay A to join again');
    await sleep(TTL_MS); // three refreshes of B
    assert.equal(again.outcome, undefined, `alice's live registration on B is kept, not ${JSON.stringify(again.outcome)}`);
    await first.closed; // the stale one on A is let go
    const bob = await peer(a, 'bob');
    const answer = await bob.request({ type: 'dial', fingerprint: first.fingerprint });
    assert.ok(answer.type === 'session' && answer.relay === `127.0.0.1:${b.port}`, JSON.stringify(answer));
  });

  /**
   * Hold what Redis sends relay A (through `proxy`) from the next reply that `isFirst` matches:
   * replies that come before it are passed on, so A's heartbeat is not stuck on one of them.
   */
  async function holdFrom(proxy: TcpProxy, isFirst: (held: string) => boolean): Promise<void> {
    proxy.holdReplies();
    for (;;) {
      await holding(proxy, (held) => held.length > 0, 'an answer from Redis');
      if (isFirst(proxy.held.toString('latin1'))) return;
      proxy.release();
      proxy.holdReplies();
    }
  }

  /** Relay A, reaching Redis through a proxy, with alice registered; and a plain Redis client. */
  async function aliceBehindProxy() {
    newPrefix();
    const proxy = await redisProxy();
    const a = await clusterRelay(`redis://127.0.0.1:${proxy.port}`);
    const first = await peer(a, 'alice');
    return { proxy, a, first, raw: await rawRedis() };
  }

  /** `again`'s registration reaches Redis as relay `a`'s, and its connection stays. */
  async function keptOn(a: Relay, again: ControlClient, raw: Awaited<ReturnType<typeof rawRedis>>): Promise<void> {
    await eventually(async () => (await raw.hGet(`${prefix}peer:${again.fingerprint}`, 'relay')) === `127.0.0.1:${a.port}`, 'her registration to reach Redis');
    await sleep(200);
    assert.equal(again.outcome, undefined, `her new registration is kept, not ${JSON.stringify(again.outcome)}`);
  }

  /** Until what `proxy` holds passes `test`; fails after 5 s, naming `what`. */
  async function holding(proxy: TcpProxy, test: (held: Buffer) => boolean, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5_000)));
    try {
      await Promise.race([proxy.untilHeld(test), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('a key registering again on its relay while a refresh there says it moved away is kept', async () => {
    const { proxy, a, first, raw } = await aliceBehindProxy();
    // The registry says alice went to another relay (whose notice A has not heard)...
    await holdFrom(proxy, (held) => held.includes(suite.key.fingerprint)); // a heartbeat's answer
    await raw.hSet(`${prefix}peer:${first.fingerprint}`, 'relay', '127.0.0.1:1');
    proxy.release();
    proxy.holdReplies();
    await holding(proxy, (held) => held.includes('$11\r\n127.0.0.1:1\r\n'), "the refresh's answer: moved there");
    // ...and, while the refresh that says so is on its way to A, she registers on A again.
    const again = await peer(a, 'alice', first.identity);
    proxy.release();
    await keptOn(a, again, raw);
  });

  it('a key registering again on its relay while a `moved` notice is checked there is kept', async () => {
    const { proxy, a, first, raw } = await aliceBehindProxy();
    await raw.hSet(`${prefix}peer:${first.fingerprint}`, 'relay', '127.0.0.1:1');
    // A hears that alice registered elsewhere, and asks Redis whether she did...
    const notice = JSON.stringify({ v: 1, type: 'moved', from: '127.0.0.1:1', fingerprint: first.fingerprint });
    proxy.holdReplies();
    await raw.publish(`${prefix}relay:127.0.0.1:${a.port}`, notice);
    await holding(proxy, (held) => held.includes(notice), 'the notice');
    proxy.release();
    proxy.holdReplies();
    await holding(proxy, (held) => held.includes('$11\r\n127.0.0.1:1\r\n'), "find's answer");
    // ...and, while Redis's answer is on its way, she registers on A again.
    const again = await peer(a, 'alice', first.identity);
    proxy.release();
    await keptOn(a, again, raw);
  });

  it('a key registering while its relay joins the cluster again is written as it registered last', async () => {
    const { proxy, a, first, raw } = await aliceBehindProxy();
    proxy.refuseNew();
    proxy.cut();
    await a.event('cluster-left');
    // Redis is back: A writes its peers anew from a list taken before Redis answered it...
    const joining = holdFrom(proxy, (held) => held.includes(suite.key.fingerprint)); // the heartbeat's answer
    proxy.acceptNew();
    await joining;
    // ...and meanwhile alice registers again, under another name.
    await peer(a, 'alicia', first.identity);
    proxy.release();
    const record = () => raw.hGet(`${prefix}peer:${first.fingerprint}`, 'record');
    await eventually(async () => JSON.parse((await record()) ?? '{}').name === 'alicia', 'her last registration in Redis', 2 * TTL_MS);
  });

  it('a cluster stopped while it starts leaves nothing connected to Redis, and no timer', async () => {
    newPrefix();
    const raw = await rawRedis();
    const connected = async () => String(await raw.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
    const before = await connected();
    const clock = new ManualClock(Date.now());
    const options = { url: suite.redis.url, publicAddress: '127.0.0.1', keyPrefix: prefix, ttlMs: TTL_MS, timeoutMs: 1_000 };
    const cluster = new RelayCluster({ cluster: options, fingerprint: suite.key.fingerprint, clock, emit: () => undefined });
    const host = { records: () => [], record: () => undefined, moved: () => undefined, dial: () => ({ ok: false as const, code: 'ERR_PEER_NOT_FOUND', message: '' }) };
    const started = cluster.start(host, 5050);
    await cluster.stop();
    await clock.advanceUntil(() => false, 100, 2_000); // start's deadlines, on this clock
    await started;
    await sleep(200);
    assert.equal(await connected(), before, 'no Redis client left connected');
    assert.equal(clock.pending, 0, 'no timer left');
    assert.equal(cluster.state, 'left');
  });
});
