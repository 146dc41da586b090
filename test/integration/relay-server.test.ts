// The relay server in-process on 127.0.0.1 with in-process peers: register, look up, dial, and a
// chat end to end through a splice the relay cannot read; lying, garbage and abandoned
// connections that close only themselves; limits answered in words; and a clean shutdown.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { REPLACED_REASON } from '../../src/relay/relay-control.js';
import type { RelayRecord } from '../../src/session/relay-messages.js';
import type { SessionMessage } from '../../src/session/session-messages.js';
import {
  cleanupRelayTestnet,
  ControlClient,
  dataConnection,
  newIdentity,
  recordingProxy,
  registered,
  relayedChat,
  startRelay,
} from '../helpers/relay-testnet.js';

afterEach(cleanupRelayTestnet);

/** The peers of a lookup answer (which must be one). */
function peersOf(answer: SessionMessage): readonly RelayRecord[] {
  assert.ok(answer.type === 'lookup-result', JSON.stringify(answer));
  return answer.peers;
}

describe('relay server', { timeout: 60_000 }, () => {
  it('registers, looks peers up, and splices an end-to-end encrypted chat it cannot read', async () => {
    const { port, event, client } = await startRelay();
    const [alice, bob] = await Promise.all([client('alice'), client('bob')]);
    assert.match(await registered(alice), /^127\.0\.0\.1:\d+$/);
    await registered(bob);
    await event('registered', (e) => e.name === 'bob' && e.fingerprint === bob.fingerprint);

    const byName = await alice.request({ type: 'lookup', query: 'BOB' });
    const byPrefix = await alice.request({ type: 'lookup', query: bob.fingerprint.slice(0, 7).toLowerCase() });
    for (const answer of [byName, byPrefix]) {
      const peers = peersOf(answer);
      assert.deepEqual(peers.map((p) => [p.name, p.fingerprint, p.port, p.addresses]), [['bob', bob.fingerprint, 5050, ['10.0.0.7']]]);
    }

    // Alice's data connection goes through a proxy that keeps every byte the relay forwards to
    // and from her: the relay sees no more than that proxy does.
    const proxy = await recordingProxy(port);
    const { peerA, peerB, session } = await relayedChat(port, alice, bob, proxy.port);
    assert.equal(session.peer.fingerprint, bob.fingerprint);
    assert.equal(peerA.connection.remote?.fingerprint, bob.fingerprint);
    assert.equal(peerB.connection.remote?.fingerprint, alice.fingerprint);
    await event('session-open', (e) => e.a.fingerprint === alice.fingerprint && e.b.fingerprint === bob.fingerprint);

    const toBob = 'MARKER-secret-to-bob-1f0c';
    const toAlice = 'MARKER-secret-to-alice-7d2e';
    peerA.connection.send({ type: 'chat', id: 'm1', time: Date.now(), text: toBob });
    peerB.connection.send({ type: 'chat', id: 'm2', time: Date.now(), text: toAlice });
    await peerB.waitFor('chat', (m) => m.text === toBob);
    await peerA.waitFor('chat', (m) => m.text === toAlice);

    const seen = proxy.recorded;
    assert.ok(seen.includes('P2PDATA'), 'the proxy saw the data connection');
    assert.ok(seen.length > 200, 'and the handshake and messages');
    for (const marker of [toBob, toAlice, 'MARKER']) assert.equal(seen.includes(marker), false, `${marker} went through in clear`);

    await peerA.connection.close('done here');
    assert.deepEqual(await peerB.closed, { kind: 'left', reason: 'done here' });
    const closed = await event('session-closed');
    assert.equal(closed.reason, 'ended');
    assert.ok(closed.bytes > 200, `counted ${closed.bytes} bytes`);
  });

  it('registers every client under the key it proved, whatever name it claims', async () => {
    const { event, client } = await startRelay();
    const alice = await client('alice');
    const aliceAt = await registered(alice);
    const mallory = await client('alice'); // same nickname, its own key
    await registered(mallory);
    await event('registered', (e) => e.fingerprint === mallory.fingerprint);

    const byKey = peersOf(await mallory.request({ type: 'lookup', query: alice.fingerprint }));
    assert.deepEqual(byKey.map((p) => [p.fingerprint, p.observed]), [[alice.fingerprint, aliceAt]]);
    const byName = peersOf(await mallory.request({ type: 'lookup', query: 'alice' }));
    assert.deepEqual(byName.map((p) => p.fingerprint).sort(), [alice.fingerprint, mallory.fingerprint].sort());
    // A nickname of any length is cleaned and cut like every displayed name.
    const long = await mallory.request({ type: 'register', name: `\u001b[31m${'x'.repeat(60_000)}`, port: 1, addresses: [] });
    assert.equal(long.type, 'registered');
    await event('registered', (e) => e.name === 'x'.repeat(32));
  });

  it('a re-registration of the same key replaces the older connection', async () => {
    const { client, relay } = await startRelay();
    const first = await client('desk');
    await registered(first);
    const second = await ControlClient.connect(relay.port!, 'desk', relay.fingerprint, first.identity);
    const observed = await registered(second);
    assert.deepEqual(await first.closed, { kind: 'left', reason: REPLACED_REASON });
    assert.equal(relay.peerCount, 1);
    const lookup = peersOf(await second.request({ type: 'lookup', query: first.fingerprint }));
    assert.deepEqual(lookup.map((p) => p.observed), [observed]);
  });

  it('answers a dial it cannot serve with relay-error and the request id', async () => {
    const { client } = await startRelay({ maxSessions: 1 });
    const [alice, bob] = await Promise.all([client('alice'), client('bob')]);
    await registered(bob);
    const nobody = newIdentity().fingerprint;
    assert.deepEqual(await alice.request({ type: 'dial', fingerprint: nobody }), {
      type: 'relay-error',
      rid: 1,
      code: 'ERR_PEER_NOT_FOUND',
      message: `no peer with fingerprint ${nobody} is registered at this relay`,
    });
    assert.equal((await alice.request({ type: 'dial', fingerprint: bob.fingerprint })).type, 'session');
    const full = await alice.request({ type: 'dial', fingerprint: bob.fingerprint });
    assert.deepEqual([full.type, 'code' in full && full.code], ['relay-error', 'ERR_RELAY_FULL']);
    const self = await bob.request({ type: 'dial', fingerprint: bob.fingerprint });
    assert.deepEqual([self.type, 'code' in self && self.code], ['relay-error', 'ERR_RELAY_REFUSED']);
  });

  it('closes a lone data connection when its counterpart does not come in time', async () => {
    const { port, client, event } = await startRelay({ tokenTtlMs: 300 });
    const [alice, bob] = await Promise.all([client('alice'), client('bob')]);
    await registered(bob);
    const session = await alice.request({ type: 'dial', fingerprint: bob.fingerprint });
    const lone = await dataConnection(port, (session as { token: string }).token);
    await once(lone, 'close');
    const expired = await event('session-closed');
    assert.equal(expired.reason, 'expired: bob did not connect in time');
  });
});
