// Relays of one cluster when things overlap: a relay that lost Redis coming back while its peers
// registered elsewhere meanwhile, a registration racing a refresh or a `moved` notice, a stop
// during the start. Each relay of the test reaches Redis directly or through a TcpProxy, so that
// one relay alone can be cut off from it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RelayEvent } from '../../src/relay/relay-events.js';
import { FEATURES } from '../../src/secure/handshake-payload.js';
import type { Identity } from '../../src/secure/identity-store.js';
import { CLUSTER_FEATURE } from '../../src/session/relay-messages.js';
import { clusterSuite } from '../helpers/cluster-suite.js';
import { redisServerSkip } from '../helpers/redis-server.js';
import { onCleanup, registered, startRelay, until, type ControlClient } from '../helpers/relay-testnet.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

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
});
