// A peer given several relays (`--relay a,b`) over real sockets on loopback, with in-process
// relays: it registers on the first; when that relay dies (its port closed and its connections
// reset, as a SIGKILL leaves them) it registers on the next within about one connect timeout,
// and a dialler that only knows the second relay reaches it there. A relay that cannot be had at
// start is passed over at once. A relay known by name is reached at one address for control and
// data alike.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../src/app/app-events.js';
import type { Conversation } from '../../src/app/conversation.js';
import type { RelayAddress } from '../../src/net/relay-address.js';
import { connectWithStrategy } from '../../src/app/connect-strategy.js';
import { cleanupNodes, EventLog, tempConversation, tempPeer } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, linkedRelay, recordingProxy, startRelay, standInRelay } from '../helpers/relay-testnet.js';

afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
});

const LOOPBACK = { host: '127.0.0.1', port: 0, fallback: false } as const;
/** A dead relay is noticed by its reset at once; the connect timeout bounds one that never answers. */
const TIMING = { connectTimeoutMs: 2_000, handshakeTimeoutMs: 2_000 };

const at = (port: number): RelayAddress => ({ host: '127.0.0.1', port, label: `127.0.0.1:${port}` });
type RelayEvent = Extract<AppEvent, { type: 'relay' }>;
const relayEvents = (log: EventLog) => log.events.filter((e): e is RelayEvent => e.type === 'relay');
const registeredOn = (label: string) => (e: AppEvent) => e.type === 'relay' && e.state === 'registered' && e.relay === label;

async function started(conversation: Conversation): Promise<EventLog> {
  const log = new EventLog(conversation);
  await conversation.start();
  return log;
}

describe('a peer with several relays', { timeout: 30_000 }, () => {
  it('registers on the next relay when its relay dies, and is reached there', async () => {
    const first = await startRelay();
    const second = await startRelay();
    // The first relay is reached through a proxy, whose death is the relay's as its peers see it.
    const front = await recordingProxy(first.port);
    const [a, b] = [at(front.port), at(second.port)];
    const alice = tempConversation('alice', { listen: LOOPBACK, relays: [{ address: a, pin: first.relay.fingerprint }, { address: b, pin: second.relay.fingerprint }], timing: TIMING });
    const atAlice = await started(alice);
    await atAlice.until(registeredOn(a.label));
    await first.event('registered', (e) => e.fingerprint === alice.fingerprint);

    const diedAt = Date.now();
    front.refuseNew();
    front.cut();
    await atAlice.until(registeredOn(b.label));
    const tookMs = Date.now() - diedAt;
    assert.ok(tookMs < TIMING.connectTimeoutMs, `registered on the next relay in ${tookMs} ms`);
    await second.event('registered', (e) => e.fingerprint === alice.fingerprint && e.name === 'alice');
    const events = relayEvents(atAlice);
    const lost = events.find((e) => e.state === 'disconnected' && e.relay === a.label && e.next === undefined);
    assert.ok(lost?.state === 'disconnected' && lost.retryInMs > 0, 'the lost relay: a new pass after the backoff');
    const passedOver = events.find((e) => e.state === 'disconnected' && e.next === b.label);
    assert.ok(passedOver?.state === 'disconnected', 'then the first relay again, passed over at once for the next');
    assert.deepEqual([passedOver.relay, passedOver.retryInMs], [a.label, 0]);

    // Bob knows only the second relay: he finds alice there by name and reaches her through it.
    const bob = tempConversation('bob', { relays: [{ address: b, pin: second.relay.fingerprint }], timing: TIMING });
    const atBob = await started(bob);
    const summary = await bob.connect('alice', { mode: 'relay-only' });
    assert.deepEqual([summary.fingerprint, summary.path, summary.via], [alice.fingerprint, 'relayed', b.label]);
    bob.send('found you on the other relay');
    await atAlice.until((e) => e.type === 'message' && e.text === 'found you on the other relay');
    alice.send('here I am');
    await atBob.until((e) => e.type === 'message' && e.text === 'here I am');
    const incoming = await atAlice.until((e) => e.type === 'connected');
    assert.equal(incoming.type === 'connected' && incoming.via, b.label, 'the listener names the relay it was invited by');
  });

  it('passes over a relay it cannot have at start: the next at once, no backoff', async () => {
    const silent = await standInRelay(); // accepts, never finishes a handshake
    const relay = await startRelay();
    const alice = tempConversation('alice', { listen: LOOPBACK, relays: [{ address: silent.address }, { address: at(relay.port) }], timing: { handshakeTimeoutMs: 300 } });
    const atAlice = await started(alice);
    await atAlice.until(registeredOn(at(relay.port).label));
    const [failed] = relayEvents(atAlice);
    assert.ok(failed?.state === 'disconnected');
    assert.deepEqual([failed.relay, failed.code, failed.retryInMs, failed.next], [silent.address.label, 'ERR_HANDSHAKE_TIMEOUT', 0, at(relay.port).label]);
    assert.equal(silent.accepted.length, 1, 'one try at the silent relay');
  });

  it('a relay named by a DNS name: data connections go to the address its control connection reached', async () => {
    const relay = await startRelay();
    const named: RelayAddress = { host: 'localhost', port: relay.port, label: `localhost:${relay.port}` };
    const alice = tempPeer('alice');
    const port = await alice.node.listen('127.0.0.1', 0, false);
    const aliceLink = linkedRelay(alice.node, { relays: [{ address: named }], identity: alice.identity, port }, () => undefined);
    const bob = tempPeer('bob');
    const bobLink = linkedRelay(bob.node, { relays: [{ address: named }], identity: bob.identity, port: 0 }, () => undefined);
    await Promise.all([aliceLink.client.whenRegistered(5_000), bobLink.client.whenRegistered(5_000)]);
    assert.deepEqual([bobLink.host, bobLink.port, bobLink.client.label], ['127.0.0.1', relay.port, named.label]);
    const summary = await connectWithStrategy(bob.node, { label: 'alice', candidates: [], expect: alice.node.fingerprint, relay: bobLink, mode: 'relay-only' });
    assert.deepEqual([summary.path, summary.via, summary.address], ['relayed', named.label, `127.0.0.1:${relay.port}`]);
  });
});
