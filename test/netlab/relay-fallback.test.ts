// The rendezvous and relay server on a TEST-NET "Internet", with real `p2p-chat` processes: relay R
// and public peer C on 203.0.113.0/24; alice (A) behind RA (plain NAT), bob (B) behind RB
// (symmetric NAT), dave (D) behind RD (NAT + stateful firewall). A direct dial is used when it
// gets through, the relay when it does not; the relay cannot read what it carries, survives bad
// input, and peers come back to it by themselves when it restarts.
//
// Every peer runs with --no-mdns: no LAN is shared across the routers, and with discovery on,
// `connect NAME` also waits out the whole 3 s LAN lookup, which is not what these tests measure.
// Routers get a counter of SYNs arriving for port 5050 from outside, so a test can tell that a
// direct dial was really tried before the relay was used.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../src/defaults.js';
import { DATA_PREAMBLE, TOKEN_BYTES } from '../../src/wire/data-preamble.js';
import { Netlab, netlabSkip, type LabHome } from '../helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../helpers/peer-process.js';

const RELAY_PROBE = fileURLToPath(new URL('./fixtures/relay-probe.js', import.meta.url));
const RECORDING_PROXY = fileURLToPath(new URL('./fixtures/recording-proxy.js', import.meta.url));

const R = '203.0.113.1';
const RELAY = `${R}:5050`;
const C = '203.0.113.10';
/**
 * A relayed `connect` is up within this long of its process starting (the bound). Measured
 * 0.13-0.37 s on the 2-core development box, idle and with three CPU-bound processes beside it,
 * most of it node starting up: wide enough a margin to assert the bound itself.
 */
const RELAYED_CONNECT_BUDGET_MS = 3_000;
/** Re-registration after a relay restart: backoff 0.5 s doubling (with jitter) up to 30 s. */
const REREGISTER_TIMEOUT_MS = 40_000;

const HOMES: readonly LabHome[] = [
  { host: 'a', router: 'ra', kind: 'nat', lan: '192.168.1', outside: '203.0.113.2' },
  { host: 'b', router: 'rb', kind: 'symmetric-nat', lan: '192.168.2', outside: '203.0.113.3' },
  { host: 'd', router: 'rd', kind: 'firewall', lan: '192.168.3', outside: '203.0.113.4' },
];

/** A router's count of new connections arriving from outside for port 5050 (nothing is filtered). */
const SYN_COUNTER = [
  'table ip probe {',
  '  chain prerouting {',
  '    type filter hook prerouting priority -300; policy accept;',
  '    iifname "eth1" tcp dport 5050 tcp flags & (syn | ack) == syn counter',
  '  }',
  '}',
].join('\n');

interface Listener {
  peer: PeerProcess;
  fingerprint: string;
}

/** The first event of `type` at index `from` or later that matches. */
function eventAfter(peer: PeerProcess, from: number, type: string, match: (e: PeerEvent) => boolean = () => true, timeoutMs?: number) {
  return peer.waitFor(
    () => peer.events.slice(from).find((e) => e.type === type && match(e)),
    `event ${type} after #${from}`,
    timeoutMs,
  );
}

/** SIGTERM (a graceful leave) and wait, bounded; SIGKILL what does not go. */
async function stop(...peers: PeerProcess[]): Promise<void> {
  for (const peer of peers) peer.kill('SIGTERM');
  await Promise.all(peers.map((peer) => peer.exitCode(10_000).catch(() => peer.kill())));
}

/** A failure is one line, `p2p-chat: ...`, the last on stderr, and no stack trace. */
function assertOneLineError(peer: PeerProcess, pattern: RegExp): void {
  const lines = peer.stderr.trimEnd().split('\n');
  const errors = lines.filter((line) => line.startsWith('p2p-chat: '));
  assert.equal(errors.length, 1, peer.stderr);
  assert.match(errors[0]!, pattern);
  assert.equal(lines.at(-1), errors[0]);
  assert.doesNotMatch(peer.stderr, /^\s+at /m, 'no stack trace');
}

function count(haystack: Buffer, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

describe('netlab: relay server and fallback to it when a direct dial fails', { skip: await netlabSkip(), timeout: 180_000 }, () => {
  let lab: Netlab | undefined;
  let relayHome = '';
  let relay: PeerProcess;
  let relayFingerprint = '';
  let alice: Listener;
  let carol: Listener;
  let dave: Listener;

  const startRelay = async () => {
    relay = lab!.spawnPeer('r', ['relay', '--json', '--host', '0.0.0.0'], { home: relayHome });
    const started = await relay.waitForEvent('started', undefined, 15_000);
    assert.equal(started.port, 5050);
    return started;
  };

  const listen = async (host: string, name: string, observedHost: string): Promise<Listener> => {
    const peer = lab!.spawnPeer(host, ['listen', '--json', '--name', name, '--host', '0.0.0.0', '--relay', R, '--no-mdns']);
    const listening = await peer.waitForEvent('listening', undefined, 15_000);
    assert.equal(listening.port, 5050);
    const registered = await peer.waitForEvent('relay', (e) => e.state === 'registered', 15_000);
    assert.equal(registered.relay, RELAY);
    assert.equal(String(registered.observed).split(':')[0], observedHost, `${name} is seen at its public address`);
    return { peer, fingerprint: String(listening.fingerprint) };
  };

  /** `connect TARGET` from `host` as `name`, through relay `via` unless the extra flags say otherwise. */
  const connect = (host: string, name: string, target: string, extra: string[] = [], via = R) =>
    lab!.spawnPeer(host, ['connect', target, '--json', '--name', name, '--relay', via, '--no-mdns', ...extra]);

  const synCount = async (router: string): Promise<number> => {
    const table = await lab!.exec(router, 'nft', ['list', 'table', 'ip', 'probe']);
    const match = /counter packets (\d+)/.exec(table);
    assert.ok(match, table);
    return Number(match[1]);
  };

  /** One message each way between a dialler and a listener, told apart by unique texts. */
  const chatBothWays = async (dialer: PeerProcess, dialerName: string, listener: PeerProcess, listenerName: string) => {
    const tag = randomBytes(4).toString('hex');
    dialer.send(`hello ${listenerName} from ${dialerName} ${tag}`);
    const there = await listener.waitForEvent('message', (e) => e.text === `hello ${listenerName} from ${dialerName} ${tag}`);
    assert.equal(there.from, dialerName);
    listener.send(`hello ${dialerName} from ${listenerName} ${tag}`);
    const back = await dialer.waitForEvent('message', (e) => e.text === `hello ${dialerName} from ${listenerName} ${tag}`);
    assert.equal(back.from, listenerName);
  };

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('internet', '203.0.113.0/24');
    await lab.addHost('r', { lan: 'internet', address: `${R}/24` });
    await lab.addHost('c', { lan: 'internet', address: `${C}/24` });
    for (const h of HOMES) {
      await lab.addHome(h, 'internet');
      await lab.exec(h.router, 'nft', [SYN_COUNTER]);
    }
    relayHome = lab.tempHome();
    relayFingerprint = String((await startRelay()).fingerprint);
    [alice, carol, dave] = await Promise.all([
      listen('a', 'alice', '203.0.113.2'),
      listen('c', 'carol', C),
      listen('d', 'dave', '203.0.113.4'),
    ]);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('A and B, both behind NAT, chat through the relay both ways; B is connected within 3 s of its start', async (t) => {
    const synsBefore = await synCount('ra');
    const started = Date.now();
    const bob = connect('b', 'bob', 'alice');
    try {
      const atBob = await bob.waitForEvent('connected', undefined, 15_000);
      const elapsed = Date.now() - started;
      t.diagnostic(`bob: spawn to relayed connection ${elapsed} ms`);
      assert.deepEqual(
        [atBob.name, atBob.fingerprint, atBob.path, atBob.via, atBob.address, atBob.direction],
        ['alice', alice.fingerprint, 'relayed', RELAY, RELAY, 'outgoing'],
      );
      assert.ok(elapsed < RELAYED_CONNECT_BUDGET_MS, `connected ${elapsed} ms after start, budget ${RELAYED_CONNECT_BUDGET_MS} ms`);

      const open = await relay.waitForEvent('session-open', (e) => (e.b as PeerEvent).fingerprint === alice.fingerprint);
      const bobRef = open.a as { name: string; fingerprint: string };
      assert.equal(bobRef.name, 'bob');
      const atAlice = await alice.peer.waitForEvent('connected', (e) => e.name === 'bob');
      assert.deepEqual(
        [atAlice.fingerprint, atAlice.path, atAlice.via, atAlice.address, atAlice.direction],
        [bobRef.fingerprint, 'relayed', RELAY, RELAY, 'incoming'],
      );
      // B did try A's public address first; RA has nothing to forward it to.
      assert.ok((await synCount('ra')) > synsBefore, 'a direct SYN from B reached RA');
      await chatBothWays(bob, 'bob', alice.peer, 'alice');
    } finally {
      await stop(bob);
    }
  });

  it('A dials public C directly; C dialling A falls back to the relay because RA lets nothing in', async () => {
    const ann = connect('a', 'ann', 'carol');
    try {
      const atAnn = await ann.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual(
        [atAnn.name, atAnn.fingerprint, atAnn.path, atAnn.via, atAnn.address],
        ['carol', carol.fingerprint, 'direct', undefined, `${C}:5050`],
      );
      const atCarol = await carol.peer.waitForEvent('connected', (e) => e.name === 'ann');
      assert.equal(atCarol.path, 'direct');
      assert.equal(String(atCarol.address).split(':')[0], '203.0.113.2', "ann comes from RA's outside address");
      await chatBothWays(ann, 'ann', carol.peer, 'carol');
    } finally {
      await stop(ann);
    }

    const synsBefore = await synCount('ra');
    const cy = connect('c', 'cy', 'alice');
    try {
      const atCy = await cy.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual(
        [atCy.name, atCy.fingerprint, atCy.path, atCy.via, atCy.address],
        ['alice', alice.fingerprint, 'relayed', RELAY, RELAY],
      );
      const atAlice = await alice.peer.waitForEvent('connected', (e) => e.name === 'cy');
      assert.equal(atAlice.path, 'relayed');
      // C did dial A's public address first: the SYN reached RA, which has nothing to forward it to.
      assert.ok((await synCount('ra')) > synsBefore, 'a direct SYN from C reached RA');
      assert.equal(alice.peer.events.some((e) => e.type === 'connected' && e.path === 'direct'), false, 'nothing got in directly');
      await chatBothWays(cy, 'cy', alice.peer, 'alice');
    } finally {
      await stop(cy);
    }
  });

  it('D behind a firewall is reachable only through the relay; --direct-only cannot reach it', async () => {
    // The dropped direct dial takes the whole connect timeout (10 s): started first, checked last.
    const directOnly = lab!.spawnPeer('c', ['connect', `${dave.fingerprint}@203.0.113.4`, '--direct-only', '--name', 'cid', '--relay', R, '--no-mdns']);
    const byName = lab!.spawnPeer('c', ['connect', 'dave', '--direct-only', '--name', 'cid2', '--relay', R, '--no-mdns']);
    const synsBefore = await synCount('rd');
    const cat = connect('c', 'cat', 'dave');
    try {
      const atCat = await cat.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual(
        [atCat.name, atCat.fingerprint, atCat.path, atCat.via, atCat.address],
        ['dave', dave.fingerprint, 'relayed', RELAY, RELAY],
      );
      const atDave = await dave.peer.waitForEvent('connected', (e) => e.name === 'cat');
      assert.equal(atDave.path, 'relayed');
      await chatBothWays(cat, 'cat', dave.peer, 'dave');
      assert.ok((await synCount('rd')) > synsBefore, "the direct SYNs reached RD's outside and went no further");

      // With --direct-only a name is not looked up at the relay either ("never use the relay"),
      // so it is not found; were it looked up, its direct dial would time out as below.
      assert.equal(await byName.exitCode(DEFAULTS.connectTimeoutMs + 10_000), 1, byName.stderr);
      assertOneLineError(byName, /^p2p-chat: (no peer named 'dave' found|cannot reach)/);
      assert.equal(await directOnly.exitCode(DEFAULTS.connectTimeoutMs + 10_000), 1, directOnly.stderr);
      assertOneLineError(directOnly, /^p2p-chat: cannot reach 203\.0\.113\.4:5050: timed out after 10 s$/);
      assert.equal(dave.peer.events.some((e) => e.type === 'connected' && e.path === 'direct'), false, 'nothing got in directly');
    } finally {
      await stop(cat, directOnly, byName);
    }
  });

  it("nobody can register under another's key: impostors named alice neither replace her nor hide her fingerprint", async () => {
    // A real peer with its own key and alice's nickname...
    const impostor = lab!.spawnPeer('b', ['listen', '--json', '--name', 'alice', '--host', '0.0.0.0', '--relay', R, '--no-mdns']);
    // ...and a hand-made client whose register message also claims alice's fingerprint.
    const forger = lab!.spawnScript('c', RELAY_PROBE, ['forge', R, '5050', 'alice', alice.fingerprint]);
    const peers: PeerProcess[] = [impostor, forger];
    try {
      const impostorKey = String((await impostor.waitForEvent('listening', undefined, 15_000)).fingerprint);
      await impostor.waitForEvent('relay', (e) => e.state === 'registered', 15_000);
      const forged = await forger.waitForEvent('registered', undefined, 15_000);
      const forgerKey = String(forged.self);
      assert.equal(new Set([alice.fingerprint, impostorKey, forgerKey]).size, 3);
      // The relay registered each under the key its handshake proved.
      for (const key of [impostorKey, forgerKey]) {
        const event = await relay.waitForEvent('registered', (e) => e.fingerprint === key);
        assert.equal(event.name, 'alice');
      }
      const lookup = await forger.waitForEvent('lookup-result');
      const owner = (lookup.peers as PeerEvent[]).map((p) => [p.name, p.fingerprint, String(p.observed).split(':')[0]]);
      assert.deepEqual(owner, [['alice', alice.fingerprint, '203.0.113.2']], 'her fingerprint still finds her, seen through RA');
      assert.equal(relay.events.some((e) => e.type === 'unregistered' && e.fingerprint === alice.fingerprint), false);
      assert.equal(alice.peer.events.some((e) => e.type === 'warning'), false, 'alice was not knocked off the relay');

      // Her full fingerprint, looked up at the relay, reaches her and no one else.
      const cid = connect('c', 'cid', alice.fingerprint);
      peers.push(cid);
      const atCid = await cid.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual([atCid.name, atCid.fingerprint, atCid.path], ['alice', alice.fingerprint, 'relayed']);
      await alice.peer.waitForEvent('connected', (e) => e.name === 'cid');
      await chatBothWays(cid, 'cid', alice.peer, 'alice');
      assert.equal(impostor.events.some((e) => e.type === 'connected'), false);

      // The nickname alone is now ambiguous: refused with the candidates listed, not silently taken.
      const cas = connect('c', 'cas', 'alice');
      peers.push(cas);
      assert.equal(await cas.exitCode(15_000), 2, cas.stderr);
      const error = await cas.waitForEvent('error');
      assert.equal(error.code, 'ERR_AMBIGUOUS_PEER');
      assert.match(String(error.message), /'alice' matches 3 peers/);
    } finally {
      await stop(...peers);
    }
  });

  it('a marker sent through a relayed chat never appears in the bytes passing through the relay', async (t) => {
    // No tcpdump in the lab's toolset: a recording proxy in R's namespace, in front of the relay
    // port, keeps every byte of every connection the peers make to "the relay" (control and data,
    // both directions) before passing it on; the peers are pointed at it. The relay process itself
    // sees exactly these bytes.
    const capture = join(lab!.tempHome(), 'relay-traffic.bin');
    const proxy = lab!.spawnScript('r', RECORDING_PROXY, [R, '6060', '127.0.0.1', '5050', capture]);
    const viaProxy = `${R}:6060`;
    const peers: PeerProcess[] = [proxy];
    try {
      await proxy.waitForEvent('listening', undefined, 10_000);
      const amy = lab!.spawnPeer('a', ['listen', '--json', '--name', 'amy', '--host', '0.0.0.0', '--port', '5051', '--relay', viaProxy, '--no-mdns']);
      peers.push(amy);
      await amy.waitForEvent('relay', (e) => e.state === 'registered', 15_000);
      const ben = connect('b', 'ben', 'amy', ['--relay-only'], viaProxy);
      peers.push(ben);
      const atBen = await ben.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual([atBen.name, atBen.path, atBen.via], ['amy', 'relayed', viaProxy]);

      const marker = `MARKER-${randomBytes(16).toString('hex')}`;
      ben.send(`${marker} from ben`);
      await amy.waitForEvent('message', (e) => e.text === `${marker} from ben`);
      amy.send(`${marker} from amy`);
      await ben.waitForEvent('message', (e) => e.text === `${marker} from amy`);
      ben.endInput(); // deliver, say goodbye, exit 0: the relay closes the session
      assert.equal(await ben.exitCode(10_000), 0, ben.stderr);
      const closed = await relay.waitForEvent('session-closed', (e) => (e.b as PeerEvent).name === 'amy');

      const traffic = readFileSync(capture);
      t.diagnostic(`captured ${traffic.length} bytes at the relay; session carried ${String(closed.bytes)} bytes`);
      assert.equal(traffic.includes(marker), false, 'the marker crossed the relay in clear');
      assert.equal(traffic.includes(marker.slice(0, 16)), false);
      // The capture did see the sessions: both data connections' hellos, both control connections'
      // and both end-to-end preambles (plaintext by design), and at least what the relay forwarded.
      assert.equal(count(traffic, 'P2PDATA'), 2);
      assert.ok(count(traffic, 'P2PCHAT') >= 4, `P2PCHAT seen ${count(traffic, 'P2PCHAT')} times`);
      assert.ok(traffic.length >= Number(closed.bytes) && Number(closed.bytes) > 0);
    } finally {
      await stop(...peers);
    }
  });

  it('garbage, a handshake never finished and an unknown token close only their connection; the relay keeps serving', async () => {
    const hex = (bytes: Buffer) => bytes.toString('hex');
    const half = lab!.spawnScript('c', RELAY_PROBE, ['half-handshake', R, '5050', '20000']);
    const http = lab!.spawnScript('c', RELAY_PROBE, ['raw', R, '5050', hex(Buffer.from('GET / HTTP/1.1\r\nHost: relay\r\n\r\n')), '10000']);
    const badToken = Buffer.concat([DATA_PREAMBLE, randomBytes(TOKEN_BYTES)]);
    const token = lab!.spawnScript('c', RELAY_PROBE, ['raw', R, '5050', hex(badToken), '10000']);
    const peers = [half, http, token];
    try {
      for (const probe of [http, token]) {
        const closed = await probe.waitForEvent('closed', undefined, 10_000);
        assert.ok(Number(closed.afterMs) < 5_000, JSON.stringify(closed));
      }
      const fromC = (e: PeerEvent) => String(e.address).startsWith(`${C}:`);
      // (Other rejections from C may be there too: a `connect` that exits early closes its
      // relay connection before saying anything.)
      await relay.waitForEvent('rejected', (e) => fromC(e) && e.code === 'ERR_NOT_P2P_CHAT' && /an HTTP request/.test(String(e.message)));
      await relay.waitForEvent('rejected', (e) => fromC(e) && e.code === 'ERR_BAD_TOKEN');

      // Meanwhile the relay serves a new relayed chat as usual.
      const bea = connect('b', 'bea', 'alice');
      peers.push(bea);
      const atBea = await bea.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual([atBea.fingerprint, atBea.path], [alice.fingerprint, 'relayed']);
      await chatBothWays(bea, 'bea', alice.peer, 'alice');

      // The half-finished handshake is cut at the relay's handshake timeout (10 s), no sooner.
      const cut = await half.waitForEvent('closed', undefined, 20_000);
      assert.ok(Number(cut.received) > 0, 'the relay answered message 1');
      assert.ok(Number(cut.afterMs) >= DEFAULTS.handshakeTimeoutMs - 1_000, JSON.stringify(cut));
      await relay.waitForEvent('rejected', (e) => fromC(e) && e.code === 'ERR_HANDSHAKE_TIMEOUT');
      for (const listener of [alice, carol, dave]) {
        assert.equal(relay.events.some((e) => e.type === 'unregistered' && e.fingerprint === listener.fingerprint), false);
      }
    } finally {
      await stop(...peers);
    }
  });

  it('a restarted relay: peers hear it go, re-register by themselves, and a new session works', async (t) => {
    const listeners = [alice, carol, dave];
    const marks = listeners.map((l) => l.peer.events.length);
    const old = relay;
    old.kill('SIGTERM');
    await old.waitForEvent('stopped', (e) => e.reason === 'relay shutting down', 10_000);
    assert.equal(await old.exitCode(10_000), 0, old.stderr);
    const goingAway = await Promise.all(
      listeners.map((l, i) => eventAfter(l.peer, marks[i]!, 'relay', (e) => e.state !== 'registered', 10_000)),
    );
    for (const event of goingAway) {
      assert.deepEqual([event.state, event.relay], ['going-away', RELAY]);
      assert.match(String(event.message), /going away \(relay shutting down\)/);
    }

    // With no relay running, each retry is refused and says so, waiting longer each time.
    const refused = await Promise.all(
      listeners.map((l, i) => eventAfter(l.peer, marks[i]!, 'relay', (e) => e.state === 'disconnected', 10_000)),
    );
    for (const event of refused) assert.match(String(event.message), /cannot reach relay 203\.0\.113\.1:5050: connection refused/);

    const restarted = Date.now();
    const started = await startRelay();
    assert.equal(started.fingerprint, relayFingerprint, 'same home, same relay key');
    const back = await Promise.all(
      listeners.map((l, i) => eventAfter(l.peer, marks[i]!, 'relay', (e) => e.state === 'registered', REREGISTER_TIMEOUT_MS)),
    );
    t.diagnostic(`re-registered ${Date.now() - restarted} ms after the new relay process was spawned`);
    const retriesSeen: number[] = [];
    for (const [i, listener] of listeners.entries()) {
      assert.equal(back[i]!.relay, RELAY);
      await relay.waitForEvent('registered', (e) => e.fingerprint === listener.fingerprint);
      // Every retry waited within the backoff schedule: 0.5 s doubling, full jitter on the upper half.
      const retries = listener.peer.events.slice(marks[i]).filter((e) => e.type === 'relay' && e.state !== 'registered');
      retriesSeen.push(retries.length);
      retries.forEach((e, k) => {
        const ceiling = Math.min(DEFAULTS.relayBackoffInitialMs * 2 ** k, DEFAULTS.relayBackoffMaxMs);
        const wait = Number(e.retryInMs);
        assert.ok(wait >= ceiling / 2 && wait <= ceiling, `retry ${k} after ${wait} ms, schedule ${ceiling / 2}-${ceiling} ms`);
      });
    }

    t.diagnostic(`retries per listener: ${retriesSeen.join(', ')}`);

    // A new session through the new relay process, with the listeners never restarted.
    const bo = connect('b', 'bo', 'alice');
    try {
      const atBo = await bo.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual([atBo.fingerprint, atBo.path, atBo.via], [alice.fingerprint, 'relayed', RELAY]);
      await chatBothWays(bo, 'bo', alice.peer, 'alice');
    } finally {
      await stop(bo);
    }
  });

  it('a relayed conversation survives a relay restart: what was said meanwhile arrives once, after both come back', async (t) => {
    const bob = connect('b', 'bobby', 'alice');
    try {
      const first = await bob.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual([first.fingerprint, first.path], [alice.fingerprint, 'relayed']);
      await chatBothWays(bob, 'bobby', alice.peer, 'alice');
      const [markA, markB] = [alice.peer.events.length, bob.events.length];

      const old = relay;
      old.kill('SIGTERM');
      assert.equal(await old.exitCode(10_000), 0, old.stderr);
      const cut = await eventAfter(bob, markB, 'reconnecting', undefined, 15_000);
      assert.equal(cut.peer, 'alice');
      const waiting = await eventAfter(alice.peer, markA, 'reconnecting', (e) => e.peer === 'bobby', 15_000);
      assert.equal(waiting.attempt, 0, 'alice listened: she waits, bobby dials');
      // Said while there is no relay: kept, and sent once the conversation is back.
      bob.send('from bobby while the relay was down');
      alice.peer.send('from alice while the relay was down');

      const restarted = Date.now();
      await startRelay();
      const [backAtBob, backAtAlice] = await Promise.all([
        eventAfter(bob, markB, 'reconnected', undefined, REREGISTER_TIMEOUT_MS),
        eventAfter(alice.peer, markA, 'reconnected', (e) => e.peer === 'bobby', REREGISTER_TIMEOUT_MS),
      ]);
      t.diagnostic(`resumed ${Date.now() - restarted} ms after the new relay process was spawned; down ${String(backAtBob.downtimeMs)} ms`);
      assert.deepEqual([backAtBob.peer, backAtBob.fingerprint, backAtBob.path], ['alice', alice.fingerprint, 'relayed']);
      assert.equal(backAtAlice.path, 'relayed');
      assert.ok(Number(backAtBob.resent) >= 1 && Number(backAtAlice.resent) >= 1, 'each side sent again what the other had missed');
      const atAlice = await eventAfter(alice.peer, markA, 'message', (e) => e.text === 'from bobby while the relay was down');
      const atBob = await eventAfter(bob, markB, 'message', (e) => e.text === 'from alice while the relay was down');
      assert.equal(atAlice.from, 'bobby');
      assert.equal(atBob.from, 'alice');
      // Once each, and no side ever reported the other lost.
      assert.equal(alice.peer.events.slice(markA).filter((e) => e.type === 'message' && e.text === 'from bobby while the relay was down').length, 1);
      assert.equal(bob.events.slice(markB).filter((e) => e.type === 'message' && e.text === 'from alice while the relay was down').length, 1);
      assert.equal(bob.events.slice(markB).some((e) => e.type === 'lost'), false);
      assert.equal(alice.peer.events.slice(markA).some((e) => e.type === 'lost' && e.name === 'bobby'), false);
      await chatBothWays(bob, 'bobby', alice.peer, 'alice');
    } finally {
      await stop(bob);
    }
  });
});
