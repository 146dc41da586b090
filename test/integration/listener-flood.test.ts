// Issue 11, item 1: a stranger holding 1,000 silent connections (the preamble, then nothing,
// each replaced as soon as it is closed) must not lock a listener. Handshakes have their own
// budget and per-address cap, the oldest is cut off to make room, and the listener says so once
// per address; `listen` takes the caps as flags. Real sockets on loopback; the flood and the
// listener share this process.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import type { AppEvent } from '../../src/app/app-events.js';
import { P2PChatError } from '../../src/errors.js';
import { PREAMBLE } from '../../src/wire/preamble.js';
import { ChatNode } from '../../src/app/chat-node.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { cleanupNodes, EventLog, tempIdentity, tempNode } from '../helpers/chat-nodes.js';
import { cleanupPeers, startListener } from '../helpers/peer-process.js';
import { PreambleFlood } from '../helpers/preamble-flood.js';

const FLOOD = 1_000;
/** Bounds the flood should a test hang: far more than any run makes (a few thousand a second). */
const MAX_FLOOD_CONNECTIONS = 2_000_000;
/** A peer at the flood's own address may be cut off while the flood churns: its tries, at most. */
const MAX_TRIES = 10;

const floods: PreambleFlood[] = [];
const sockets: Socket[] = [];
const nodes: ChatNode[] = [];
afterEach(async () => {
  for (const flood of floods.splice(0)) flood.stop();
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const node of nodes.splice(0)) node.abort();
  cleanupNodes();
  await cleanupPeers();
});
after(cleanupNodes);

/** A listener on `::` (every address, IPv4 too), its events, and a flood from 127.0.0.1 at full churn. */
async function floodedListener(): Promise<{ host: ChatNode; atHost: EventLog; port: number; flood: PreambleFlood }> {
  const host = tempNode('host');
  const atHost = new EventLog(host);
  const port = await host.listen('::', 0, false);
  const flood = new PreambleFlood({ host: '127.0.0.1', port, connections: FLOOD, maxMade: MAX_FLOOD_CONNECTIONS });
  floods.push(flood);
  // Every one of the 1,000 has been cut off and replaced at least once: the flood is at full churn.
  await flood.untilClosedByListener(FLOOD);
  return { host, atHost, port, flood };
}

/** The listener's lines about connections it cut off or refused. */
function listenerFullLines(log: EventLog): Array<Extract<AppEvent, { type: 'rejected' }>> {
  return log.events.flatMap((e) => (e.type === 'rejected' && e.code === 'ERR_LISTENER_FULL' ? [e] : []));
}

/** A message each way between the host and the peer that just connected. */
async function chat(host: ChatNode, atHost: EventLog, peer: ChatNode): Promise<void> {
  const atPeer = new EventLog(peer);
  peer.say('hello through the flood');
  await atHost.until((e) => e.type === 'message' && e.text === 'hello through the flood');
  host.say('heard you');
  await atPeer.until((e) => e.type === 'message' && e.text === 'heard you');
}

describe('a listener flooded with silent connections (issue 11)', { timeout: 120_000 }, () => {
  it('lets a peer from another address connect and chat while 1,000 are held from 127.0.0.1', async () => {
    const { host, atHost, port, flood } = await floodedListener();
    const closedBefore = flood.closedByListener;
    const peer = tempNode('peer');
    const summary = await peer.connect('::1', port);
    assert.equal(summary.name, 'host');
    await chat(host, atHost, peer);

    // The flood went on being cut off (each socket destroyed at once), not the peer, and the
    // listener said so in one line for the flooding address however many it cut off.
    assert.ok(flood.closedByListener > closedBefore, 'the flood went on while the peer connected');
    const lines = listenerFullLines(atHost);
    assert.deepEqual(lines.map((e) => e.address), ['127.0.0.1']);
    assert.match(lines[0]!.message, /127\.0\.0\.1 had 4 handshakes in progress, the most one address may hold/);
    assert.equal(atHost.count('connected'), 1);
  });

  it('lets a peer from the flood\'s own address through within a few tries', async () => {
    const { host, atHost, port, flood } = await floodedListener();
    const peer = tempNode('peer');
    const failures: string[] = [];
    for (let tries = 1; tries <= MAX_TRIES; tries++) {
      try {
        await peer.connect('127.0.0.1', port);
        break;
      } catch (err) {
        // Cut off by a newer flood connection: the listener closed it during the handshake.
        assert.ok(err instanceof P2PChatError, String(err));
        failures.push(`${err.code}: ${err.message}`);
      }
    }
    assert.ok(peer.peerCount === 1, `not connected in ${MAX_TRIES} tries:\n${failures.join('\n')}`);
    await chat(host, atHost, peer);
    flood.stop();

    // One line for the address however many were cut off, the peer's own tries among them.
    assert.deepEqual(listenerFullLines(atHost).map((e) => e.address), ['127.0.0.1']);
  });

  it('takes its caps from the command line', async () => {
    const { peer: host, port } = await startListener(['--max-handshakes-per-ip', '1']);
    for (let i = 0; i < 2; i++) {
      const socket = createConnection({ host: '127.0.0.1', port });
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.resume();
      socket.write(PREAMBLE);
    }
    const cut = await host.waitForEvent('rejected', (e) => e.code === 'ERR_LISTENER_FULL');
    assert.equal(cut.address, '127.0.0.1');
    assert.match(String(cut.message), /127\.0\.0\.1 had 1 handshake in progress, the most one address may hold/);
  });
});

describe('a listener\'s log of failed handshakes', { timeout: 60_000 }, () => {
  it('says one line per address a minute, however often a stranger fails, then counts the rest', async () => {
    // Real timers; the listener's time is moved by the test to pass the minute.
    let offset = 0;
    const { identity, knownPeers } = tempIdentity();
    const host = new ChatNode({ identity, knownPeers, name: 'host', clock: { ...SYSTEM_CLOCK, now: () => Date.now() + offset } });
    nodes.push(host);
    const atHost = new EventLog(host);
    const port = await host.listen('127.0.0.1', 0, false);
    const stranger = async (from: string) => {
      const socket = createConnection({ host: '127.0.0.1', port, localAddress: from });
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.resume();
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('GET / HTTP/1.1\r\n\r\n');
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    };
    for (let i = 0; i < 20; i++) await stranger('127.0.0.7');
    await stranger('127.0.0.8');
    const lines = await atHost.until((e) => e.type === 'rejected' && e.address.startsWith('127.0.0.8'));
    assert.ok(lines);
    const rejected = atHost.events.filter((e) => e.type === 'rejected');
    assert.deepEqual(
      rejected.map((e) => (e as { address: string }).address.split(':')[0]),
      ['127.0.0.7', '127.0.0.8'],
      'twenty failures from one address make one line; another address has its own',
    );
    offset += 61_000;
    await stranger('127.0.0.9');
    const counted = await atHost.until((e) => e.type === 'rejected' && /19 more failed handshakes from 127\.0\.0\.7/.test(e.message));
    assert.equal((counted as { code: string }).code, 'ERR_HANDSHAKE_FAILED');
  });
});
