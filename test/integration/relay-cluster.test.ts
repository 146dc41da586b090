// Three relays sharing one Redis (a real redis-server), in-process: peers registered on different
// relays find each other by nickname and fingerprint prefix, a dial is passed to the relay the
// dialled peer is on and spliced there, a graceful stop forgets its peers at once, a relay with
// another key is kept out, a key that registers elsewhere is let go here, Redis going away and
// coming back is survived, and foreign values in Redis are skipped with a log line.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import type { RelayEvent } from '../../src/relay/relay-events.js';
import { loadOrCreateIdentity, type Identity } from '../../src/secure/identity-store.js';
import { FEATURES } from '../../src/secure/handshake-payload.js';
import { CLUSTER_FEATURE, MAX_LOOKUP_RESULTS } from '../../src/session/relay-messages.js';
import { RELAY_DEFAULTS } from '../../src/relay/relay-defaults.js';
import { RedisServer, redisServerSkip } from '../helpers/redis-server.js';
import { clusterSuite, eventually } from '../helpers/cluster-suite.js';
import { tempHome } from '../helpers/peer-process.js';
import { RelayClient } from '../../src/app/relay-client.js';
import { parseRelayAddress } from '../../src/net/relay-address.js';
import { cleanupRelayTestnet, dataConnection, newIdentity, registered, startRelay, tcp, TestPeer, until, type ControlClient } from '../helpers/relay-testnet.js';
import { encodeDataHello } from '../../src/wire/data-preamble.js';
import { join } from 'node:path';

const CLUSTER_CLIENT = [...FEATURES, CLUSTER_FEATURE];
const TTL_MS = 3_000;
let prefixes = 0;

type Relay = Awaited<ReturnType<typeof startRelay>>;


describe('relays on one Redis', { skip: await redisServerSkip() }, () => {
  const suite = clusterSuite();
  let prefix: string;

  /** A relay of the cluster under this test's prefix (so tests on one Redis do not meet). */
  async function clusterRelay(identity: Identity = suite.key, url = suite.redis.url): Promise<Relay> {
    return startRelay({ statsIntervalMs: 0 }, { identity, cluster: { url, publicAddress: '127.0.0.1', keyPrefix: prefix, ttlMs: TTL_MS, timeoutMs: 1_000 } });
  }

  async function threeRelays(): Promise<Relay[]> {
    prefix = `test${++prefixes}-${process.pid}:`;
    const relays = [];
    for (let i = 0; i < 3; i++) relays.push(await clusterRelay());
    for (const relay of relays) await relay.event('cluster-joined');
    return relays;
  }

  async function peer(relay: Relay, name: string): Promise<ControlClient> {
    const client = await relay.client(name, undefined, undefined, CLUSTER_CLIENT);
    await registered(client);
    return client;
  }

  it('peers on different relays find each other and chat through the dialled peer\'s relay', async () => {
    const [a, b] = await threeRelays();
    const alice = await peer(a!, 'alice');
    const bob = await peer(b!, 'bob');
    await findsEventually(bob, 'ALICE', alice.fingerprint);
    await findsEventually(bob, alice.fingerprint.slice(0, 6), alice.fingerprint);
    await findsEventually(alice, 'bob', bob.fingerprint);

    const answer = await bob.request({ type: 'dial', fingerprint: alice.fingerprint });
    assert.equal(answer.type, 'session', JSON.stringify(answer));
    const session = answer as Extract<typeof answer, { type: 'session' }>;
    assert.equal(session.relay, `127.0.0.1:${a!.port}`, 'the dialler is sent to the relay alice is on');
    assert.equal(session.peer.fingerprint, alice.fingerprint);
    const invite = await alice.waitFor('invite');
    assert.deepEqual(invite.from, { name: 'bob', fingerprint: bob.fingerprint });

    // Both data connections go to relay A, which splices them: a chat end to end.
    const [sb, sa] = await Promise.all([tcp(a!.port), dataConnection(a!.port, invite.token)]);
    sb.write(encodeDataHello(session.token));
    const peerB = new TestPeer(sb, bob.identity, 'bob', true, alice.fingerprint);
    const peerA = new TestPeer(sa, alice.identity, 'alice', false);
    await Promise.all([peerA.established, peerB.established]);
    peerB.connection.send({ type: 'chat', id: 'm1', time: Date.now(), text: 'hello across relays' });
    const got = await peerA.waitFor('chat');
    assert.equal(got.text, 'hello across relays');
    await a!.event('session-open');
    assert.equal(b!.relay.sessionCount, 0, 'relay B splices nothing');
  });

  /** `lookup` on `client` until it finds `fingerprint` (another relay's write may be on its way). */
  async function findsEventually(client: ControlClient, query: string, fingerprint: string): Promise<void> {
    await eventually(async () => {
      const answer = await client.request({ type: 'lookup', query });
      return answer.type === 'lookup-result' && answer.peers.some((p) => p.fingerprint === fingerprint);
    }, `a lookup of ${query} to find ${fingerprint}`);
  }

  it('a client that does not follow session.relay is told where the peer is, not sent astray', async () => {
    const [a, b] = await threeRelays();
    const alice = await peer(a!, 'alice');
    const old = await b!.client('old', undefined, undefined, FEATURES);
    await registered(old);
    await findsEventually(old, 'alice', alice.fingerprint);
    const answer = await old.request({ type: 'dial', fingerprint: alice.fingerprint });
    assert.equal(answer.type, 'relay-error');
    assert.ok(answer.type === 'relay-error' && answer.code === 'ERR_PEER_NOT_FOUND' && answer.message.includes(`127.0.0.1:${a!.port}`), JSON.stringify(answer));
  });

  it('a dial that the peer\'s relay does not answer fails ERR_CLUSTER_UNAVAILABLE at the client', async () => {
    const [a, b] = await threeRelays();
    const alice = await peer(a!, 'alice');
    const raw = createClient({ url: suite.redis.url });
    raw.on('error', () => undefined);
    await raw.connect();
    const client = new RelayClient({ relays: [{ address: parseRelayAddress(`127.0.0.1:${b!.port}`) }], identity: newIdentity(), name: () => 'bob', port: 0 });
    try {
      // Alice's relay as if killed a moment ago: her record is still there, nobody listens for it.
      await raw.hSet(`${prefix}peer:${alice.fingerprint}`, 'relay', '127.0.0.1:1');
      client.start();
      await client.whenRegistered(5_000);
      await assert.rejects(client.dial(alice.fingerprint), (err: Error & { code?: string }) => err.code === 'ERR_CLUSTER_UNAVAILABLE' && /not listening/.test(err.message));
    } finally {
      await client.close();
      await raw.quit().catch(() => undefined);
    }
  });

  it('lookups answer at most 16 from the whole cluster', async () => {
    const relays = await threeRelays();
    const clients = [];
    for (let i = 0; i < 21; i++) clients.push(await peer(relays[i % 3]!, 'sam'));
    const asker = await peer(relays[0]!, 'asker');
    await eventually(async () => (await cluster(asker, 'sam')) >= MAX_LOOKUP_RESULTS, 'a lookup to fill up');
    assert.equal(await cluster(asker, 'sam'), MAX_LOOKUP_RESULTS);
  });

  async function cluster(client: ControlClient, query: string): Promise<number> {
    const answer = await client.request({ type: 'lookup', query });
    return answer.type === 'lookup-result' ? answer.peers.length : -1;
  }

  it('a peer\'s invitation shares hold across the cluster: one address dialling through two relays gets its share once', async () => {
    const [a, b, c] = await threeRelays();
    const victim = await peer(a!, 'victim');
    // Three keys from one address, through relays B and C: the address's share (4) of the victim's
    // slots is counted at the victim's relay, whichever relay each dial came through.
    const floods = await Promise.all([
      b!.client('x1', undefined, '127.0.0.3', CLUSTER_CLIENT),
      c!.client('x2', undefined, '127.0.0.3', CLUSTER_CLIENT),
      b!.client('x3', undefined, '127.0.0.3', CLUSTER_CLIENT),
    ]);
    for (const x of floods) await registered(x);
    await findsEventually(floods[0]!, 'victim', victim.fingerprint);
    await findsEventually(floods[1]!, 'victim', victim.fingerprint);
    const answers = await Promise.all(floods.flatMap((x) => [1, 2, 3].map(() => x.request({ type: 'dial', fingerprint: victim.fingerprint }))));
    const given = answers.filter((answer) => answer.type === 'session');
    const refused = answers.filter((answer) => answer.type === 'relay-error');
    assert.equal(given.length, RELAY_DEFAULTS.maxInvitesFromOneIp, JSON.stringify(refused));
    assert.ok(refused.every((answer) => answer.type === 'relay-error' && answer.code === 'ERR_RELAY_FULL'), JSON.stringify(refused));
    assert.ok(given.every((answer) => answer.type === 'session' && answer.relay === `127.0.0.1:${a!.port}`));
    // Someone from another address, through the relay the flood used most, still gets in.
    const alice = await b!.client('alice', undefined, '127.0.0.2', CLUSTER_CLIENT);
    await registered(alice);
    const answer = await alice.request({ type: 'dial', fingerprint: victim.fingerprint });
    assert.equal(answer.type, 'session', JSON.stringify(answer));
  });

  it('a graceful stop removes its registrations from the cluster at once', async () => {
    const [a, b] = await threeRelays();
    const alice = await peer(a!, 'alice');
    const bob = await peer(b!, 'bob');
    await findsEventually(bob, 'alice', alice.fingerprint);
    await a!.relay.stop();
    const answer = await bob.request({ type: 'lookup', query: 'alice' });
    assert.deepEqual(answer.type === 'lookup-result' ? answer.peers : answer, []);
    assert.ok(a!.events.some((e) => e.type === 'cluster-left'), 'it says it left');
  });

  it('a key registering on another relay is let go by the one it left', async () => {
    const [a, b] = await threeRelays();
    const first = await peer(a!, 'alice');
    const again = await b!.client('alice', first.identity, undefined, CLUSTER_CLIENT);
    await registered(again);
    await first.closed;
    await a!.event('unregistered', (e) => e.fingerprint === first.fingerprint && /another relay/.test(e.reason));
    const bob = await peer(a!, 'bob');
    const answer = await bob.request({ type: 'dial', fingerprint: first.fingerprint });
    assert.ok(answer.type === 'session' && answer.relay === `127.0.0.1:${b!.port}`, JSON.stringify(answer));
  });

  it('a relay with another key does not join the cluster', async () => {
    await threeRelays();
    const stranger = loadOrCreateIdentity(join(tempHome(), 'relay'));
    await assert.rejects(clusterRelay(stranger), (err: Error & { code?: string }) => err.code === 'ERR_CLUSTER_KEY_MISMATCH' && /same key/.test(err.message));
  });

  it('a value in Redis that is not ours is skipped with a log line', async () => {
    const [a] = await threeRelays();
    const alice = await peer(a!, 'alice');
    await findsEventually(alice, 'alice', alice.fingerprint);
    const raw = createClient({ url: suite.redis.url });
    raw.on('error', () => undefined);
    await raw.connect();
    try {
      const fp = alice.fingerprint;
      await raw.hSet(`${prefix}peer:${fp}`, 'record', '{"name": 7}');
      await raw.publish(`${prefix}relay:127.0.0.1:${a!.port}`, 'not json at all');
      const bob = await peer(a!, 'bob');
      const answer = await bob.request({ type: 'lookup', query: fp.slice(0, 8) });
      assert.equal(answer.type, 'lookup-result');
      await a!.event('warning', (e) => e.code === 'ERR_CLUSTER_BAD_RECORD');
    } finally {
      await raw.quit().catch(() => undefined);
    }
  });

  it('a request Redis fails does not take the relay out of the cluster (only the heartbeat does)', async () => {
    const [a, b] = await threeRelays();
    const raw = createClient({ url: suite.redis.url });
    raw.on('error', () => undefined);
    await raw.connect();
    try {
      // A foreign value where the index of the name "mallory" goes: registering that name fails in Redis.
      await raw.set(`${prefix}name:mallory`, 'not a set');
      const mallory = await peer(a!, 'mallory');
      const bob = await peer(b!, 'bob');
      await findsEventually(bob, mallory.fingerprint.slice(0, 8), mallory.fingerprint);
      const answer = await mallory.request({ type: 'lookup', query: 'mallory' });
      assert.equal(answer.type, 'lookup-result', 'the lookup is answered, from this relay\'s peers at least');
      await findsEventually(mallory, 'bob', bob.fingerprint);
      assert.equal(a!.relay.stats().cluster?.state, 'joined');
      assert.ok(!a!.events.some((e) => e.type === 'cluster-left'), JSON.stringify(a!.events.filter((e) => e.type === 'cluster-left')));
    } finally {
      await raw.quit().catch(() => undefined);
    }
  });

  it('Redis going away: each relay serves its own peers, says so once, and joins again when it is back', async () => {
    const own = await RedisServer.start();
    let restarted: RedisServer | undefined;
    try {
      prefix = `test${++prefixes}-${process.pid}:`;
      const a = await clusterRelay(suite.key, own.url);
      const b = await clusterRelay(suite.key, own.url);
      await a.event('cluster-joined');
      await b.event('cluster-joined');
      const alice = await peer(a, 'alice');
      const carol = await peer(a, 'carol');
      const bob = await peer(b, 'bob');
      await findsEventually(bob, 'alice', alice.fingerprint);

      await own.stop();
      const left = await a.event('cluster-left', (e) => e.code === 'ERR_CLUSTER_UNAVAILABLE', 10_000);
      assert.ok(left.message.includes(`Redis at ${own.url}`), `the line names the Redis it lost: ${left.message}`);
      await b.event('cluster-left', (e) => e.code === 'ERR_CLUSTER_UNAVAILABLE', 10_000);
      assert.equal(a.relay.stats().cluster?.state, 'unavailable');
      // Alone, but serving: a local dial still works.
      const answer = await carol.request({ type: 'dial', fingerprint: alice.fingerprint });
      assert.equal(answer.type, 'session', JSON.stringify(answer));
      const down = await bob.request({ type: 'dial', fingerprint: alice.fingerprint });
      assert.equal(down.type, 'relay-error');

      restarted = await RedisServer.startOn(own.port);
      const rejoined = (e: RelayEvent) => e.type === 'cluster-joined';
      await until(() => a.events.filter(rejoined).length >= 2 && b.events.filter(rejoined).length >= 2, 'both relays to join again', 15_000);
      assert.equal(a.events.filter((e) => e.type === 'cluster-left').length, 1, 'the outage is said once');
      // The new Redis is empty: the relays wrote their peers again.
      await findsEventually(bob, 'alice', alice.fingerprint);
      const across = await bob.request({ type: 'dial', fingerprint: alice.fingerprint });
      assert.ok(across.type === 'session' && across.relay === `127.0.0.1:${a.port}`, JSON.stringify(across));
    } finally {
      await cleanupRelayTestnet();
      await restarted?.stop();
      await own.stop();
    }
  });
});
