// The net/ punching primitives through real NAT routers: homes A and B behind plain masquerade
// ('nat'), C behind 'symmetric-nat', and a public host P standing in for the relay, all on an outer
// segment with 20 ms of one-way latency (a delay hub: without latency punching fails where real
// networks let it work, see netlab-delay.ts). Each peer learns its public endpoints from P, and P's
// go signal reaches both at the same moment, as the relay's coordination will.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { delayHubSkip, Netlab, type LabHome } from '../helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../helpers/peer-process.js';

const PEER = fileURLToPath(new URL('./fixtures/punch-peer.js', import.meta.url));
const RENDEZVOUS = fileURLToPath(new URL('./fixtures/punch-rendezvous.js', import.meta.url));
const P = '203.0.113.10';
const DELAY_MS = 20;
const HOMES: readonly LabHome[] = [
  { host: 'a', router: 'ra', kind: 'nat', lan: '192.168.1', outside: '203.0.113.2' },
  { host: 'b', router: 'rb', kind: 'nat', lan: '192.168.2', outside: '203.0.113.3' },
  { host: 'c', router: 'rc', kind: 'symmetric-nat', lan: '192.168.3', outside: '203.0.113.4' },
];

type Mode = 'udp-dial' | 'udp-listen' | 'tcp';

interface Side {
  readonly peer: PeerProcess;
  /** Its `registered` event: the endpoints P saw (`udp`, `tcp`), its control port, the probe's rttMs. */
  readonly seen: PeerEvent;
}

function outside(host: string): string {
  return HOMES.find((home) => home.host === host)!.outside;
}

describe('netlab: punching primitives through NAT routers 20 ms apart', { skip: await delayHubSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;
  let rendezvous: PeerProcess | undefined;
  const running: PeerProcess[] = [];

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('internet', '203.0.113.0/24', { delayMs: DELAY_MS });
    await lab.addHost('p', { lan: 'internet', address: `${P}/24` });
    for (const home of HOMES) await lab.addHome(home, 'internet');
    await lab.startDelayHub('internet');
    rendezvous = lab.spawnScript('p', RENDEZVOUS, ['serve']);
    await rendezvous.waitForEvent('listening');
  });

  afterEach(async () => {
    const peers = running.splice(0);
    for (const peer of peers) peer.kill();
    await Promise.all(peers.map((peer) => peer.exited));
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  /** Start a peer in `host` and wait until P has its endpoints. */
  async function register(host: string, mode: Mode, timeoutMs: number): Promise<Side> {
    const peer = lab!.spawnScript(host, PEER, [mode, host, P, String(timeoutMs)]);
    running.push(peer);
    const seen = await peer.waitForEvent('registered');
    await rendezvous!.waitForEvent('registered', (e) => e.name === host && e.tcp === seen.tcp);
    assert.equal(String(seen.tcp).split(':')[0], outside(host), `${host}'s control connection leaves through its router`);
    if (mode !== 'tcp') {
      assert.equal(String(seen.udp).split(':')[0], outside(host));
      assert.ok(Number(seen.rttMs) >= 2 * DELAY_MS, `a round trip to P crosses the hub twice: ${String(seen.rttMs)} ms`);
    }
    return { peer, seen };
  }

  /** Both peers registered, then P's go to both in one turn. */
  async function start(first: [string, Mode], second: [string, Mode], timeoutMs = 5_000): Promise<[Side, Side]> {
    const sides = [await register(...first, timeoutMs), await register(...second, timeoutMs)] as [Side, Side];
    rendezvous!.send(`go ${first[0]} ${second[0]}`);
    await rendezvous!.waitForEvent('sent-go');
    return sides;
  }

  function report(t: TestContext, name: string, event: PeerEvent): void {
    t.diagnostic(`${name}: ${event.type} ${String(event.afterMs)} ms after go${event.retries ? `, retries ${JSON.stringify(event.retries)}` : ''}`);
  }

  it('UDP: B punches toward A while A dials a udx stream from its socket to B: bytes flow both ways', async (t) => {
    const [a, b] = await start(['a', 'udp-dial'], ['b', 'udp-listen']);
    assert.equal(b.seen.udp, `${outside('b')}:5050`, 'masquerade keeps the listening port');
    const atA = await a.peer.waitForEvent('connected', undefined, 10_000);
    const atB = await b.peer.waitForEvent('connected');
    report(t, 'a', atA);
    assert.equal(atA.remoteAddress, b.seen.udp);
    assert.equal(atA.localPort, Number(String(a.seen.udp).split(':')[1]), 'the stream left from the socket P saw');
    assert.equal(atB.remoteAddress, a.seen.udp, 'B sees A at the endpoint P saw: one mapping for both destinations');
    await a.peer.waitForEvent('received', (e) => e.text === 'hello from b');
    await b.peer.waitForEvent('received', (e) => e.text === 'hello from a');
  });

  it('TCP: both open simultaneously from their control connections\' ports: one connection, bytes both ways', async (t) => {
    const [a, b] = await start(['a', 'tcp'], ['b', 'tcp']);
    const atA = await a.peer.waitForEvent('connected', undefined, 10_000);
    const atB = await b.peer.waitForEvent('connected', undefined, 10_000);
    report(t, 'a', atA);
    report(t, 'b', atB);
    assert.equal(atA.remoteAddress, b.seen.tcp);
    assert.equal(atB.remoteAddress, a.seen.tcp);
    assert.equal(atA.localPort, a.seen.controlPort, 'from the port the control connection still holds');
    assert.equal(atB.localPort, b.seen.controlPort);
    await a.peer.waitForEvent('received', (e) => e.text === 'hello from b');
    await b.peer.waitForEvent('received', (e) => e.text === 'hello from a');
  });

  it('UDP toward a symmetric NAT: the dial fails at its deadline, and nothing connects', async (t) => {
    const timeoutMs = 3_000;
    const [a, c] = await start(['a', 'udp-dial'], ['c', 'udp-listen'], timeoutMs);
    const failed = await a.peer.waitForEvent('failed', undefined, timeoutMs + 5_000);
    report(t, 'a', failed);
    assert.equal(failed.code, 'ERR_CONNECT_FAILED');
    assert.equal(failed.message, `cannot reach ${String(c.seen.udp)}: timed out after 3 s`);
    assert.ok(Number(failed.afterMs) >= timeoutMs && Number(failed.afterMs) < timeoutMs + 1_000, `bounded: ${String(failed.afterMs)} ms`);
    assert.equal(a.peer.events.some((e) => e.type === 'connected'), false);
    assert.equal(c.peer.events.some((e) => e.type === 'connected'), false);
  });
});
