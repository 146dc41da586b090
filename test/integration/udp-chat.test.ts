// Issue 14, part 1: a peer listens on UDP beside TCP, at the same port number, and a dialler
// reaches it over a udx stream with the same preamble, Noise and frames; what comes in over UDP
// passes the same door as TCP (the handshake budget per address). Real sockets on 127.0.0.1.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { ChatNode } from '../../src/app/chat-node.js';
import { resolveTarget } from '../../src/app/resolve-target.js';
import { connectWithStrategy } from '../../src/app/connect-strategy.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import type { Settings } from '../../src/defaults.js';
import { parseRelayAddress } from '../../src/net/relay-address.js';
import { udxTransport } from '../../src/net/udx-transport.js';
import { rejectsCode } from '../helpers/assert-code.js';
import { cleanupNodes, EventLog, tempConversation, tempIdentity, tempPeer } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, linkedRelay, newIdentity, startRelay } from '../helpers/relay-testnet.js';
import { closeUdx, udxDial } from '../helpers/udx-loopback.js';

const udx = udxTransport(SYSTEM_CLOCK);
const nodes: ChatNode[] = [];
const squatters: Array<Socket | Server> = [];

/** A node that speaks UDP too; `timing` overrides its settings. */
function udpNode(name: string, timing: Partial<Settings> = {}): ChatNode {
  const { identity, knownPeers } = tempIdentity();
  const node = new ChatNode({ identity, knownPeers, name, udp: udx, timing });
  nodes.push(node);
  return node;
}

/**
 * A UDP port on 127.0.0.1 held by someone else, whose TCP port of the same number was free a moment
 * ago: on a shared machine another process may hold that TCP port (one of its connections' local
 * ports), and then the listener would fail on TCP, not on the UDP port the tests are about.
 */
async function udpSquatter(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const socket = createSocket('udp4');
    squatters.push(socket);
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const port = socket.address().port;
    if (await tcpPortFree(port)) return port;
    // Let it go at once: held, it could sit in the next ports a fallback listener tries.
    squatters.splice(squatters.indexOf(socket), 1);
    socket.close();
  }
  throw new Error('found no UDP port whose TCP port was free in 20 tries');
}

/** Whether a TCP server could listen on 127.0.0.1:`port` just now (it is closed again). */
async function tcpPortFree(port: number): Promise<boolean> {
  const probe = createServer();
  // once() rejects on 'error' (EADDRINUSE): not free.
  const listening = once(probe, 'listening').then(() => true, () => false);
  probe.listen(port, '127.0.0.1');
  const free = await listening;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return free;
}

afterEach(async () => {
  for (const node of nodes.splice(0)) node.abort();
  for (const squatter of squatters.splice(0)) squatter.close();
  await closeUdx();
  cleanupNodes();
  await cleanupRelayTestnet();
});
after(cleanupNodes);

describe('a ChatNode over UDP (issue 14)', { timeout: 30_000 }, () => {
  it('listens on UDP at the port TCP got and chats with a peer that dials it over udx', async () => {
    const alice = udpNode('alice');
    const atAlice = new EventLog(alice);
    const port = await alice.listen('127.0.0.1', 0, false);
    const listening = await atAlice.until((e) => e.type === 'listening');
    assert.deepEqual(listening.type === 'listening' && [listening.port, listening.udpPort], [port, port]);

    const bob = udpNode('bob');
    const atBob = new EventLog(bob);
    const summary = await bob.connect('127.0.0.1', port, alice.fingerprint, undefined, 'udp');
    assert.equal(summary.name, 'alice');
    assert.equal(summary.transport, 'udp');
    const joined = await atAlice.until((e) => e.type === 'connected');
    assert.equal(joined.type === 'connected' && joined.transport, 'udp');
    assert.deepEqual(alice.who().map((w) => w.path !== 'forwarded' && w.transport), ['udp']);
    assert.deepEqual(bob.who().map((w) => w.path !== 'forwarded' && w.transport), ['udp']);
    // Over TCP, the same node says tcp.
    const carol = udpNode('carol');
    assert.equal((await carol.connect('127.0.0.1', port, alice.fingerprint)).transport, 'tcp');
    bob.say('hello over udp');
    await atAlice.until((e) => e.type === 'message' && e.text === 'hello over udp');
    alice.say('heard you');
    await atBob.until((e) => e.type === 'message' && e.text === 'heard you');
  });

  it('holds handshakes over udx to the same per-address budget as TCP', async () => {
    const alice = udpNode('alice', { maxHandshakesPerIp: 2 });
    const atAlice = new EventLog(alice);
    const port = await alice.listen('127.0.0.1', 0, false);
    // Three silent udx streams from one address: the third cuts off the first.
    for (let i = 0; i < 3; i++) await udxDial(udx, port);
    const line = await atAlice.until((e) => e.type === 'rejected' && e.code === 'ERR_LISTENER_FULL');
    assert.match(line.type === 'rejected' ? line.message : '', /127\.0\.0\.1 had 2 handshakes in progress, the most one address may hold/);
    // A peer still gets in, over UDP, past the silent ones (cutting one off in turn).
    const bob = udpNode('bob');
    assert.equal((await bob.connect('127.0.0.1', port, alice.fingerprint, undefined, 'udp')).name, 'alice');
  });

  it('moves to the next port pair when UDP is busy at the port TCP got, under the fallback rule', async () => {
    const busy = await udpSquatter();
    const alice = udpNode('alice');
    const atAlice = new EventLog(alice);
    const port = await alice.listen('127.0.0.1', busy, true);
    assert.ok(port > busy && port <= busy + 20, `took ${port}`);
    const listening = await atAlice.until((e) => e.type === 'listening');
    assert.deepEqual(listening.type === 'listening' && [listening.udpPort, listening.busyPort], [port, busy]);
  });

  it('fails naming UDP when a port given without fallback is busy on UDP only', async () => {
    const busy = await udpSquatter();
    const alice = udpNode('alice');
    const error = await rejectsCode(alice.listen('127.0.0.1', busy, false), 'ERR_LISTEN_FAILED');
    assert.equal(error.message, `cannot listen on UDP port ${busy}: it is in use (TCP port ${busy} was free)`);
    // The TCP port was let go: a server can take it now.
    const server = createServer();
    squatters.push(server);
    server.listen(busy, '127.0.0.1');
    await once(server, 'listening');
  });

  it('listens on TCP only without a UDP transport, and cannot dial over UDP', async () => {
    const { identity, knownPeers } = tempIdentity();
    const tcpOnly = new ChatNode({ identity, knownPeers, name: 'carol' });
    nodes.push(tcpOnly);
    const atCarol = new EventLog(tcpOnly);
    const port = await tcpOnly.listen('127.0.0.1', 0, false);
    const listening = await atCarol.until((e) => e.type === 'listening');
    assert.equal(listening.type === 'listening' && listening.udpPort, undefined);
    const error = await rejectsCode(tcpOnly.connect('127.0.0.1', port, undefined, undefined, 'udp'), 'ERR_CONNECT_FAILED');
    assert.match(error.message, /cannot dial over UDP/);
  });

  it('registers its UDP port at the relay, whose records then give UDP candidates; --no-udp registers none', async () => {
    const { port: relayPort } = await startRelay();
    const relays = [{ address: parseRelayAddress(`127.0.0.1:${relayPort}`) }];
    const listen = { host: '127.0.0.1', port: 0, fallback: false };
    const alice = tempConversation('alice', { listen, relays });
    const tcpOnly = tempConversation('carol', { listen, relays, udp: false });
    const registered = await Promise.all(
      [alice, tcpOnly].map(async (conversation) => {
        const log = new EventLog(conversation);
        await conversation.start();
        await log.until((e) => e.type === 'relay' && e.state === 'registered');
        return log.until((e) => e.type === 'listening');
      }),
    );
    const [atAlice, atCarol] = registered.map((e) => (e.type === 'listening' ? e : undefined));
    assert.equal(atAlice?.udpPort, atAlice?.port);
    assert.equal(atCarol?.udpPort, undefined);

    const { node: bob } = tempPeer('bob');
    const link = linkedRelay(bob, { relays, identity: newIdentity(), port: 0 }, () => undefined);
    await link.client.whenRegistered(5_000);
    const [aliceRecord] = await link.client.lookup('alice');
    assert.equal(aliceRecord?.udp, atAlice?.port);
    const [carolRecord] = await link.client.lookup('carol');
    assert.equal(carolRecord && 'udp' in carolRecord, false);

    const plan = await resolveTarget('alice', { relay: link.client, clock: SYSTEM_CLOCK });
    assert.ok(plan.candidates.length > 0);
    for (const candidate of plan.candidates) assert.equal(candidate.udpPort, atAlice?.port, candidate.host);
  });

  it('--transport udp connects over UDP; auto prefers TCP on loopback, and falls to UDP when TCP is refused', async () => {
    const alice = udpNode('alice');
    const port = await alice.listen('127.0.0.1', 0, false);
    const expect = alice.fingerprint;
    const dial = (transport: 'auto' | 'udp', tcpPort: number, udpPort?: number) =>
      connectWithStrategy(udpNode('bob'), {
        label: 'alice',
        candidates: [{ host: '127.0.0.1', port: tcpPort, ...(udpPort !== undefined ? { udpPort } : {}) }],
        expect,
        mode: 'direct-only',
        transport,
      });
    assert.equal((await dial('udp', port)).transport, 'udp');
    assert.equal((await dial('auto', port, port)).transport, 'tcp');
    // A TCP port with nothing listening: refused at once, and UDP, announced elsewhere, carries it.
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadTcp = (closed.address() as { port: number }).port;
    closed.close();
    await once(closed, 'close');
    const started = performance.now();
    assert.equal((await dial('auto', deadTcp, port)).transport, 'udp');
    assert.ok(performance.now() - started < 2_000, 'UDP did not wait for a timeout');
  });
});
