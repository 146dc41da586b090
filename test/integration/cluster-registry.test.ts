// The relays' shared registry against a real redis-server: two ClusterRegistry objects on one Redis
// stand for two relays. Lookups by every kind across them, expiry by TTL and by sweep, ownership on
// refresh and unregister, foreign values skipped, and the lookup limit with 40 matching peers.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createClient } from 'redis';
import { ClusterRegistry, type ClusterRegistryOptions } from '../../src/relay/cluster-registry.js';
import { fingerprintOf, normalizeFingerprint } from '../../src/secure/fingerprint.js';
import { generateKeyPair } from '../../src/secure/noise/crypto-primitives.js';
import { MAX_LOOKUP_RESULTS, type RelayRecord } from '../../src/session/relay-messages.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { RedisServer, redisServerSkip } from '../helpers/redis-server.js';

const RELAY_A = 'relay-a.example.org:5050';
const RELAY_B = 'relay-b.example.org:5050';
const WAIT_MS = 10_000;

function record(name: string, fingerprint = fingerprintOf(generateKeyPair().publicKey)): RelayRecord {
  return { name, fingerprint, observed: '192.0.2.1:40000', port: 5050, udp: 5050, addresses: ['10.0.0.2'] };
}

/** A valid fingerprint starting with `start` (4 characters of the alphabet): its first check character recomputed. */
function fingerprintStartingWith(start: string): string {
  const compact = fingerprintOf(generateKeyPair().publicKey).replace(/-/g, '');
  const body = start + compact.slice(start.length, 13);
  for (const check of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567') {
    try {
      return normalizeFingerprint(body + check + compact.slice(14));
    } catch {
      // not the check character
    }
  }
  throw new Error('no check character fits');
}

function newClient(url: string) {
  return createClient({ url });
}
type Client = ReturnType<typeof newClient>;

/** Poll `condition` every 50 ms until it holds; fail after WAIT_MS. */
async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('ClusterRegistry on a real redis-server', { skip: await redisServerSkip() }, () => {
  let server: RedisServer;
  const clients: Client[] = [];
  let raw: Client;
  let suite = 0;

  before(async () => {
    server = await RedisServer.start();
    raw = await connected();
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await server?.stop();
  });

  async function connected(): Promise<Client> {
    const client = newClient(server.url);
    client.on('error', () => undefined); // a failing test reports through its own assertion
    clients.push(client);
    await client.connect();
    return client;
  }

  /** Two relays' registries on one Redis, under a key prefix of this test's own. */
  async function twoRelays(options: ClusterRegistryOptions = {}): Promise<{ a: ClusterRegistry; b: ClusterRegistry; prefix: string }> {
    const prefix = `test${++suite}:`;
    const a = new ClusterRegistry(await connected(), { keyPrefix: prefix, ...options });
    const b = new ClusterRegistry(await connected(), { keyPrefix: prefix, ...options });
    return { a, b, prefix };
  }

  it('finds a peer registered on one relay from another, by nickname, prefix and full fingerprint', async () => {
    const { a, b } = await twoRelays();
    const alice = record('Alice');
    const bob = record('bob');
    assert.equal(await a.register(alice, RELAY_A), undefined);
    assert.equal(await b.register(bob, RELAY_B), undefined);
    const aliceThere = { record: alice, relay: RELAY_A };
    assert.deepEqual(await b.lookup('alice'), [aliceThere]);
    assert.deepEqual(await b.lookup(' ALICE '), [aliceThere]);
    assert.deepEqual(await b.lookup(alice.fingerprint.replace(/-/g, '').slice(0, 9).toLowerCase()), [aliceThere]);
    assert.deepEqual(await b.lookup(alice.fingerprint.replace(/-/g, '').toLowerCase()), [aliceThere]);
    assert.deepEqual(await b.find(alice.fingerprint), aliceThere);
    assert.deepEqual(await a.lookup('bob'), [{ record: bob, relay: RELAY_B }]);
    assert.deepEqual(await a.lookup('carol'), []);
    assert.deepEqual(await a.lookup(fingerprintOf(generateKeyPair().publicKey)), []);
    assert.deepEqual(await a.lookup('AB'), [], 'a prefix shorter than 4 characters matches nothing');
  });

  it('a name and a prefix query both count, each record once', async () => {
    const { a, b } = await twoRelays();
    const named = record('CLST');
    const prefixed = record('someone', fingerprintStartingWith('CLST'));
    await a.register(named, RELAY_A);
    await b.register(prefixed, RELAY_B);
    const found = await a.lookup('clst');
    assert.deepEqual(found.map((f) => f.record.fingerprint), [named.fingerprint, prefixed.fingerprint]);
  });

  it('a peer that moves to another relay is that relay\'s: the old one can neither refresh nor unregister it', async () => {
    const { a, b } = await twoRelays();
    const alice = record('alice');
    await a.register(alice, RELAY_A);
    const moved = { ...alice, observed: '198.51.100.7:41000' };
    assert.equal(await b.register(moved, RELAY_B), RELAY_A, 'register names the relay the peer left');
    assert.equal(await a.refresh(alice.fingerprint, RELAY_A), false);
    assert.equal(await a.unregister(alice.fingerprint, RELAY_A), false);
    assert.deepEqual(await a.lookup('alice'), [{ record: moved, relay: RELAY_B }]);
    assert.equal(await b.unregister(alice.fingerprint, RELAY_B), true);
    assert.deepEqual(await a.lookup('alice'), []);
    assert.equal(await a.find(alice.fingerprint), undefined);
  });

  it('a registration written back keeps a later one on another relay, and replaces an earlier one', async () => {
    const { a, b } = await twoRelays();
    const alice = record('alice');
    const bob = record('bob');
    await b.register(alice, RELAY_B, 2_000);
    await b.register(bob, RELAY_B, 1_000);
    assert.deepEqual(await a.registerAgain(alice, RELAY_A, 1_500), { newer: RELAY_B }, 'alice moved to B after she registered on A');
    assert.deepEqual(await a.find(alice.fingerprint), { record: alice, relay: RELAY_B });
    assert.deepEqual(await a.registerAgain(bob, RELAY_A, 1_500), { previous: RELAY_B }, 'bob registered on A after B');
    assert.deepEqual(await a.find(bob.fingerprint), { record: bob, relay: RELAY_A });
    const carol = record('carol');
    assert.deepEqual(await a.registerAgain(carol, RELAY_A, 0), {}, 'nobody had carol');
    assert.deepEqual(await a.registerAgain(carol, RELAY_A, 0), {}, 'nor does writing back its own record name anyone');
    assert.equal(await a.register(alice, RELAY_A, 0), RELAY_B, 'a new registration replaces any, whatever its time');
  });

  it('a foreign value where a relay\'s peer should be is to be written over, not taken for a move', async () => {
    const bad: string[] = [];
    const { a, prefix } = await twoRelays({ onBadRecord: (fingerprint) => bad.push(fingerprint) });
    const [text, noRelay, garbage] = [record('text'), record('no-relay'), record('garbage')];
    for (const r of [text, noRelay, garbage]) await a.register(r, RELAY_A);
    await raw.del(`${prefix}peer:${text.fingerprint}`);
    await raw.set(`${prefix}peer:${text.fingerprint}`, 'not a hash');
    await raw.hSet(`${prefix}peer:${noRelay.fingerprint}`, 'relay', '');
    await raw.hSet(`${prefix}peer:${garbage.fingerprint}`, 'relay', 'not an address');
    const fingerprints = [text, noRelay, garbage].map((r) => r.fingerprint);
    assert.deepEqual(await a.refreshAll(fingerprints, RELAY_A), { gone: fingerprints, moved: [] });
    assert.deepEqual(bad.sort(), fingerprints.slice().sort());
    for (const r of [text, noRelay, garbage]) {
      assert.deepEqual(await a.registerAgain(r, RELAY_A, 0), {}, 'written over, naming no relay');
      assert.deepEqual(await a.find(r.fingerprint), { record: r, relay: RELAY_A });
    }
  });

  it('runs its scripts by SHA-1 once Redis has them, and in full again after Redis lost them', async () => {
    const { a } = await twoRelays();
    const calls = async (command: string) => Number(/calls=(\d+)/.exec((await raw.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`)) ?? '')?.[1] ?? 0);
    await a.register(record('first'), RELAY_A);
    const [sha, full] = [await calls('evalsha'), await calls('eval')];
    await a.register(record('second'), RELAY_A);
    assert.equal(await calls('evalsha'), sha + 1, 'by SHA-1');
    assert.equal(await calls('eval'), full, 'without the script text');
    await raw.scriptFlush();
    const third = record('third');
    await a.register(third, RELAY_A);
    assert.equal(await calls('eval'), full + 1, 'in full once, after NOSCRIPT');
    assert.deepEqual((await a.lookup('third')).map((f) => f.record), [third]);
  });

  it('refreshes and unregisters a relay\'s peers in batches, saying which are gone and which moved', async () => {
    const { a, b } = await twoRelays({ sweepBatch: 2 });
    const [kept, moved, gone, other] = [record('kept'), record('moved'), record('gone'), record('other')];
    for (const r of [kept, moved, gone]) await a.register(r, RELAY_A);
    await b.register(moved, RELAY_B);
    await b.register(other, RELAY_B);
    await a.unregister(gone.fingerprint, RELAY_A);
    const outcome = await a.refreshAll([kept, moved, gone].map((r) => r.fingerprint), RELAY_A);
    assert.deepEqual(outcome, { gone: [gone.fingerprint], moved: [moved.fingerprint] });
    assert.equal(await a.unregisterAll([kept, moved, other].map((r) => r.fingerprint), RELAY_A), 1, 'only its own peer');
    assert.equal(await a.find(kept.fingerprint), undefined);
    assert.deepEqual(await a.find(moved.fingerprint), { record: moved, relay: RELAY_B });
  });

  it('lists the live relays, and a relay with another key is not written in', async () => {
    const { a, b } = await twoRelays();
    assert.deepEqual(await a.heartbeat(RELAY_A, 'KEY-ONE', 3), [{ address: RELAY_A, fingerprint: 'KEY-ONE', peers: 3 }]);
    const both = await b.heartbeat(RELAY_B, 'KEY-ONE', 4);
    assert.deepEqual(new Set(both.map((r) => r.address)), new Set([RELAY_A, RELAY_B]));
    const stranger = await b.heartbeat('relay-c.example.org:5050', 'KEY-TWO', 0);
    assert.ok(!stranger.some((r) => r.address === 'relay-c.example.org:5050'), 'not written in');
    assert.ok(stranger.some((r) => r.fingerprint === 'KEY-ONE'), 'the live relays are listed, for the refusal to name');
    await a.leave(RELAY_A);
    assert.deepEqual((await b.heartbeat(RELAY_B, 'KEY-ONE', 4)).map((r) => r.address), [RELAY_B]);
  });

  it('an entry of the list of relays seen in the future is not a live relay', async () => {
    const { a, prefix } = await twoRelays();
    // Written by someone else, or before Redis's clock was set back: it would stay "live" for ever.
    await raw.hSet(`${prefix}relays`, 'relay-c.example.org:5050', '99999999999999 KEY-TWO 0');
    assert.deepEqual(await a.heartbeat(RELAY_A, 'KEY-ONE', 1), [{ address: RELAY_A, fingerprint: 'KEY-ONE', peers: 1 }]);
    assert.equal(await raw.hGet(`${prefix}relays`, 'relay-c.example.org:5050'), null, 'removed');
  });

  it('a nickname changed by re-registering leaves the old name\'s index', async () => {
    const { a, prefix } = await twoRelays();
    const alice = record('alice');
    await a.register(alice, RELAY_A);
    await a.register({ ...alice, name: 'alicia' }, RELAY_A);
    assert.deepEqual(await a.lookup('alice'), []);
    assert.equal((await a.lookup('alicia')).length, 1);
    assert.equal(await raw.sCard(`${prefix}name:alice`), 0);
  });

  it('unregistering removes every index entry', async () => {
    const { a, prefix } = await twoRelays();
    const alice = record('alice');
    await a.register(alice, RELAY_A);
    assert.equal(await a.unregister(alice.fingerprint, RELAY_A), true);
    assert.equal(await a.unregister(alice.fingerprint, RELAY_A), false, 'twice is a no-op');
    assert.equal(await raw.zCard(`${prefix}fingerprints`), 0);
    assert.equal(await raw.zCard(`${prefix}expiries`), 0);
    assert.equal(await raw.hLen(`${prefix}names`), 0);
    assert.equal(await raw.exists(`${prefix}name:alice`), 0);
  });

  it('refresh extends the TTL of its own record', async () => {
    const { a, prefix } = await twoRelays({ ttlMs: 60_000 });
    const alice = record('alice');
    await a.register(alice, RELAY_A);
    await raw.pExpire(`${prefix}peer:${alice.fingerprint}`, 500);
    assert.equal(await a.refresh(alice.fingerprint, RELAY_A), true);
    assert.ok((await raw.pTTL(`${prefix}peer:${alice.fingerprint}`)) > 1_000, 'the TTL is back to a minute');
    assert.equal(await a.refresh(record('nobody').fingerprint, RELAY_A), false, 'a record that is gone is not refreshed');
  });

  it('a record expires with its TTL; a lookup that meets its index entries removes them', async () => {
    const { a, b, prefix } = await twoRelays({ ttlMs: 1_000 });
    const alice = record('alice');
    await a.register(alice, RELAY_A);
    assert.equal((await b.lookup('alice')).length, 1);
    await waitFor('the record expired', async () => (await b.find(alice.fingerprint)) === undefined);
    assert.deepEqual(await b.lookup(alice.fingerprint.slice(0, 6)), []);
    assert.deepEqual(await b.lookup('alice'), []);
    assert.equal(await raw.zCard(`${prefix}fingerprints`), 0);
    assert.equal(await raw.exists(`${prefix}name:alice`), 0);
    assert.equal(await raw.hLen(`${prefix}names`), 0);
  });

  it('sweep removes the index entries of records nobody looked up again, and keeps live ones', async () => {
    const clock = new ManualClock();
    const { a, prefix } = await twoRelays({ ttlMs: 1_000, clock });
    const gone = record('gone');
    const kept = record('kept');
    await a.register(gone, RELAY_A);
    await a.register(kept, RELAY_A);
    await raw.persist(`${prefix}peer:${kept.fingerprint}`); // stays however long the test waits
    await waitFor('the record expired', async () => (await raw.exists(`${prefix}peer:${gone.fingerprint}`)) === 0);
    assert.equal(await a.sweep(), 0, 'nothing is due before its time on the registry\'s clock');
    clock.advance(1_000);
    assert.equal(await a.sweep(), 1);
    assert.deepEqual(await raw.zRange(`${prefix}fingerprints`, 0, -1), [kept.fingerprint]);
    assert.deepEqual(await raw.hKeys(`${prefix}names`), [kept.fingerprint]);
    assert.equal(await raw.exists(`${prefix}name:gone`), 0);
    assert.equal(await raw.zCard(`${prefix}expiries`), 1, 'the live record is visited again later');
    assert.deepEqual(await a.lookup('kept'), [{ record: kept, relay: RELAY_A }]);
  });

  it('skips foreign and corrupt values with a reason, never a throw', async () => {
    const bad: string[] = [];
    const { a, prefix } = await twoRelays({ onBadRecord: (fp, reason) => bad.push(`${fp}: ${reason}`) });
    const good = record('mixed');
    await a.register(good, RELAY_A);
    const notJson = record('mixed').fingerprint;
    const otherKey = record('mixed').fingerprint;
    const wrongType = record('mixed').fingerprint;
    const badRelay = record('mixed').fingerprint;
    await raw.hSet(`${prefix}peer:${notJson}`, { relay: RELAY_B, record: '{not json' });
    await raw.hSet(`${prefix}peer:${otherKey}`, { relay: RELAY_B, record: JSON.stringify(good) });
    await raw.set(`${prefix}peer:${wrongType}`, 'a string, not a hash');
    await raw.hSet(`${prefix}peer:${badRelay}`, { relay: 'has space', record: JSON.stringify(record('mixed', badRelay)) });
    await raw.hSet(`${prefix}peer:${good.fingerprint}x`, { relay: RELAY_B, record: JSON.stringify(good) });
    for (const fp of [notJson, otherKey, wrongType, badRelay, `${good.fingerprint}x`]) await raw.sAdd(`${prefix}name:mixed`, fp);

    assert.deepEqual(await a.lookup('mixed'), [{ record: good, relay: RELAY_A }]);
    assert.equal(bad.length, 5, bad.join('\n'));
    for (const fp of [notJson, otherKey, wrongType, badRelay]) assert.ok(bad.some((line) => line.startsWith(fp)), `${fp} is reported`);
    assert.equal(await a.find(wrongType), undefined);
    assert.equal(await a.find(notJson), undefined);
  });

  it('lookups return at most MAX_LOOKUP_RESULTS of 40 matching peers on two relays', async () => {
    const { a, b } = await twoRelays();
    const sameName = Array.from({ length: 40 }, () => record('crowd'));
    const samePrefix = Array.from({ length: 40 }, (_, i) => record(`p${i}`, fingerprintStartingWith('QQQQ')));
    for (const [i, peer] of [...sameName, ...samePrefix].entries()) await (i % 2 ? a : b).register(peer, i % 2 ? RELAY_A : RELAY_B);

    const byName = await a.lookup('Crowd');
    assert.equal(byName.length, MAX_LOOKUP_RESULTS);
    assert.equal(new Set(byName.map((f) => f.record.fingerprint)).size, MAX_LOOKUP_RESULTS, 'no record twice');
    assert.ok(byName.every((f) => f.record.name === 'crowd'));
    const byPrefix = await b.lookup('qqqq');
    assert.equal(byPrefix.length, MAX_LOOKUP_RESULTS);
    assert.ok(byPrefix.every((f) => f.record.fingerprint.startsWith('QQQQ')));
    assert.equal((await a.lookup('crowd', 5)).length, 5);
    assert.equal((await a.lookup('QQQQ', 3)).length, 3);
  });
});

describe('RedisServer (test helper)', { skip: await redisServerSkip() }, () => {
  it('stop() shuts the server down: its port refuses, and stopping again is a no-op', async () => {
    const server = await RedisServer.start();
    const client = newClient(server.url);
    client.on('error', () => undefined);
    await client.connect();
    assert.equal(await client.ping(), 'PONG');
    client.destroy();
    await server.stop();
    await server.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(server.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, `port ${server.port} refuses connections`);
  });
});
