// Going direct wherever the NATs allow, with real `p2p-chat` processes: relay R and public host P
// on a TEST-NET "Internet" with 20 ms of one-way latency (a delay hub: real networks have it, and
// punching depends on it), homes behind plain masquerade ('nat', endpoint-independent mapping) and
// behind `masquerade random,fully-random` ('symmetric-nat'). The table, row by row: who
// ends up direct, over what, and that a conversation carries on across each switch with nothing
// lost or repeated.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { delayHubSkip, Netlab, type LabHome } from '../helpers/netlab.js';
import type { PeerProcess } from '../helpers/peer-process.js';

const R = '203.0.113.1';
const P = '203.0.113.10';
const DELAY_MS = 20;
const HOMES: readonly LabHome[] = [
  { host: 'a', router: 'ra', kind: 'nat', lan: '192.168.1', outside: '203.0.113.2' },
  { host: 'b', router: 'rb', kind: 'nat', lan: '192.168.2', outside: '203.0.113.3' },
  { host: 'c', router: 'rc', kind: 'symmetric-nat', lan: '192.168.3', outside: '203.0.113.4' },
  { host: 'd', router: 'rd', kind: 'symmetric-nat', lan: '192.168.4', outside: '203.0.113.5' },
];
/** A second host in home A (192.168.1.11), behind the same router as a. */
const A2 = '192.168.1.11';
/** A switch to direct comes within the first try or two (5 s apart) after the relayed connect. */
const DIRECT_WITHIN_MS = 15_000;

interface Listener {
  readonly peer: PeerProcess;
  readonly fingerprint: string;
}

function outside(host: string): string {
  return HOMES.find((home) => home.host === host)!.outside;
}


describe('netlab: hole punching, from relayed to direct', { skip: await delayHubSkip(), timeout: 300_000 }, () => {
  let lab: Netlab | undefined;
  const running: PeerProcess[] = [];

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('internet', '203.0.113.0/24', { delayMs: DELAY_MS });
    await lab.addHost('r', { lan: 'internet', address: `${R}/24` });
    await lab.addHost('p', { lan: 'internet', address: `${P}/24` });
    for (const home of HOMES) await lab.addHome(home, 'internet');
    await lab.addHost('a2', { lan: 'homea', address: `${A2}/24`, gateway: '192.168.1.1' });
    await lab.startDelayHub('internet');
    const relay = spawn('r', ['relay', '--json', '--host', '0.0.0.0']);
    await relay.waitForEvent('started', undefined, 15_000);
  });

  afterEach(async () => {
    const peers = running.splice(1); // the relay stays
    for (const peer of peers) peer.kill('SIGTERM');
    await Promise.all(peers.map((peer) => peer.exitCode(10_000).catch(() => peer.kill())));
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  function spawn(host: string, args: string[]): PeerProcess {
    const peer = lab!.spawnPeer(host, args);
    running.push(peer);
    return peer;
  }

  async function listen(host: string, name: string, extra: string[] = []): Promise<Listener> {
    const peer = spawn(host, ['listen', '--json', '--name', name, '--host', '0.0.0.0', '--relay', R, '--no-mdns', ...extra]);
    const listening = await peer.waitForEvent('listening', undefined, 15_000);
    await peer.waitForEvent('relay', (e) => e.state === 'registered', 15_000);
    return { peer, fingerprint: String(listening.fingerprint) };
  }

  function connect(host: string, name: string, target: string, extra: string[] = []): PeerProcess {
    return spawn(host, ['connect', target, '--json', '--name', name, '--relay', R, '--no-mdns', ...extra]);
  }

  it('cone NAT ↔ cone NAT: relayed first, then direct over UDP; 1,000 numbered lines through the switch arrive once each, in order', async () => {
    const bob = await listen('b', 'bob');
    const alice = connect('a', 'alice', bob.fingerprint);
    const connected = await alice.waitForEvent('connected', undefined, 15_000);
    assert.equal(connected.path, 'relayed', 'a direct dial cannot get through two NATs');
    // Numbered lines from both sides, from the relayed connect through the switch and after it.
    const lines = Array.from({ length: 1_000 }, (_, i) => `line ${i}`);
    for (const line of lines.slice(0, 500)) alice.send(line);
    const moved = await alice.waitForEvent('path', undefined, DIRECT_WITHIN_MS);
    for (const line of lines.slice(500)) alice.send(line);
    assert.equal(moved.path, 'direct');
    assert.equal(moved.transport, 'udp');
    assert.equal(moved.address, `${outside('b')}:5050`, "bob's public UDP endpoint, as the relay saw it");
    assert.deepEqual(moved.previous, { path: 'relayed', via: `${R}:5050`, transport: 'tcp', address: `${R}:5050` });
    const atBob = await bob.peer.waitForEvent('path', undefined, 5_000);
    assert.equal(atBob.path, 'direct');
    await bob.peer.waitFor(() => (bob.peer.events.filter((e) => e.type === 'message').length >= 1_000 ? true : undefined), '1,000 lines', 30_000);
    const texts = bob.peer.events.filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(texts, lines, 'every line once, in order');
    bob.peer.send('direct hello');
    await alice.waitForEvent('message', (e) => e.text === 'direct hello', 10_000);
  });
});
