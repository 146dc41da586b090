// Going direct wherever the NATs allow, with real `p2p-chat` processes: relay R and public host P
// on a TEST-NET "Internet" with 20 ms of one-way latency (a delay hub: real networks have it, and
// punching depends on it), homes behind plain masquerade ('nat', endpoint-independent mapping) and
// behind `masquerade random,fully-random` ('symmetric-nat'). The table, row by row: who
// ends up direct, over what, and that a conversation carries on across each switch with nothing
// lost or repeated.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { delayHubSkip, Netlab, type LabHome } from '../helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../helpers/peer-process.js';
import { assertReceived, writeSampleFiles } from '../helpers/sample-files.js';

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
/** Big enough to be in flight over the relay when the switch comes (the hub forwards a few MB/s). */
const BIG_FILE_BYTES = 24 * 1024 * 1024;
/** A switch to direct comes within the first try or two (5 s apart) after the relayed connect. */
const DIRECT_WITHIN_MS = 15_000;

interface Listener {
  readonly peer: PeerProcess;
  readonly fingerprint: string;
}

function outside(host: string): string {
  return HOMES.find((home) => home.host === host)!.outside;
}

/** The first event of `type` at index `from` or later that matches. */
function eventAfter(peer: PeerProcess, from: number, type: string, match: (e: PeerEvent) => boolean = () => true, timeoutMs?: number) {
  return peer.waitFor(() => peer.events.slice(from).find((e) => e.type === type && match(e)), `event ${type} after #${from}`, timeoutMs);
}

/** The texts of `peer`'s chat messages, in the order they arrived. */
function texts(peer: PeerProcess): unknown[] {
  return peer.events.filter((e) => e.type === 'message').map((e) => e.text);
}

/** A table of `nft` rules loaded into a router for one test, and taken out again. */
const NO_UDP = [
  'table ip punchtest {',
  '  chain forward {',
  '    type filter hook forward priority filter; policy accept;',
  '    meta l4proto udp drop',
  '  }',
  '}',
].join('\n');


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

  it('cone NAT ↔ cone NAT: relayed first, then direct over UDP; 1,000 numbered lines and a file through the switch arrive once each, in order', async () => {
    const downloads = join(lab!.tempHome(), 'inbox');
    const big = join(lab!.tempHome(), 'big.bin');
    const bytes = randomBytes(BIG_FILE_BYTES);
    writeFileSync(big, bytes);
    const bob = await listen('b', 'bob', ['--accept-files=any', '--download-dir', downloads]);
    const alice = connect('a', 'alice', bob.fingerprint);
    const connected = await alice.waitForEvent('connected', undefined, 15_000);
    assert.equal(connected.path, 'relayed', 'a direct dial cannot get through two NATs');
    // And a file from another process there, begun over the relay too.
    const sender = spawn('a', ['send', bob.fingerprint, big, '--json', '--name', 'sam', '--relay', R, '--no-mdns']);
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
    assert.deepEqual(texts(bob.peer), lines, 'every line once, in order');
    bob.peer.send('direct hello');
    await alice.waitForEvent('message', (e) => e.text === 'direct hello', 10_000);
    // The file, begun over the relay, goes on over the direct path and arrives whole.
    assert.equal((await sender.waitForEvent('connected')).path, 'relayed');
    const senderMoved = await sender.waitForEvent('path', undefined, DIRECT_WITHIN_MS);
    assert.equal(senderMoved.path, 'direct');
    assert.equal(await sender.exitCode(60_000), 0, sender.stderr);
    const done = await bob.peer.waitForEvent('file-done', (e) => e.peer === 'sam', 10_000);
    assert.deepEqual([done.total, done.sha256Verified], [BIG_FILE_BYTES, true]);
    assert.ok(readFileSync(join(downloads, 'big.bin')).equals(bytes), 'byte-identical');
    const accepted = sender.events.findIndex((e) => e.type === 'file-accepted');
    assert.ok(accepted >= 0 && accepted < sender.events.indexOf(senderMoved), 'the data was flowing over the relay before the switch');
  });

  it('public ↔ behind a NAT: the NATed side dials and is direct at once; dialled through the relay, it is punched direct', async () => {
    const pub = await listen('p', 'pub');
    const alice = connect('a', 'alice', pub.fingerprint);
    const direct = await alice.waitForEvent('connected', undefined, 15_000);
    assert.deepEqual([direct.path, direct.address], ['direct', `${P}:5050`]);

    const bob = await listen('b', 'bob');
    const fromPub = connect('p', 'pub2', bob.fingerprint);
    const relayed = await fromPub.waitForEvent('connected', undefined, 15_000);
    assert.equal(relayed.path, 'relayed', "nothing reaches bob's listener from outside");
    const moved = await fromPub.waitForEvent('path', undefined, DIRECT_WITHIN_MS);
    assert.deepEqual([moved.path, moved.transport, moved.address], ['direct', 'udp', `${outside('b')}:5050`]);
  });

  it('cone ↔ cone with UDP dropped by both routers: direct over a TCP simultaneous open', async () => {
    for (const router of ['ra', 'rb']) await lab!.exec(router, 'nft', [NO_UDP]);
    try {
      const bob = await listen('b', 'bob');
      const alice = connect('a', 'alice', bob.fingerprint);
      assert.equal((await alice.waitForEvent('connected', undefined, 15_000)).path, 'relayed');
      const moved = await alice.waitForEvent('path', undefined, DIRECT_WITHIN_MS);
      assert.deepEqual([moved.path, moved.transport], ['direct', 'tcp']);
      assert.equal(String(moved.address).split(':')[0], outside('b'), "bob's public address: his control connection's mapping");
      alice.send('over tcp');
      await bob.peer.waitForEvent('message', (e) => e.text === 'over tcp', 10_000);
    } finally {
      for (const router of ['ra', 'rb']) await lab!.exec(router, 'nft', ['delete', 'table', 'ip', 'punchtest']);
    }
  });

  it('cone ↔ symmetric: stays relayed and works; the tries are bounded and reported', async () => {
    const alice = await listen('a', 'alice');
    const carol = connect('c', 'carol', alice.fingerprint);
    assert.equal((await carol.waitForEvent('connected', undefined, 15_000)).path, 'relayed');
    // Three tries 5 s apart, each reported with why; after the third, the next is a minute away.
    const third = await carol.waitForEvent('upgrade', (e) => e.tries === 3, 30_000);
    const tries = carol.events.filter((e) => e.type === 'upgrade');
    assert.deepEqual(tries.map((e) => e.attempt), [1, 2, 3]);
    assert.ok(Number(third.retryInMs) > 50_000, `then a minute apart: ${String(third.retryInMs)} ms`);
    assert.match(String(tries[0]!.message), /udp 203\.0\.113\.2:5050: cannot reach/);
    assert.equal(carol.events.some((e) => e.type === 'path'), false);
    carol.send('still relayed');
    await alice.peer.waitForEvent('message', (e) => e.text === 'still relayed', 10_000);
    alice.peer.send('and back');
    await carol.waitForEvent('message', (e) => e.text === 'and back', 10_000);
  });

  it('symmetric ↔ symmetric: relayed; chat and a file transfer work', async () => {
    const downloads = join(lab!.tempHome(), 'inbox');
    const sent = writeSampleFiles(lab!.tempHome());
    const carol = await listen('c', 'carol', ['--accept-files=any', '--download-dir', downloads]);
    const dave = spawn('d', ['send', carol.fingerprint, sent.file, sent.album, '--json', '--name', 'dave', '--relay', R, '--no-mdns']);
    assert.equal((await dave.waitForEvent('connected', undefined, 15_000)).path, 'relayed');
    assert.equal(await dave.exitCode(90_000), 0, dave.stderr);
    const done = await carol.peer.waitForEvent('file-done');
    assert.deepEqual([done.peer, done.total, done.sha256Verified], ['dave', sent.total, true]);
    assertReceived(downloads, sent);
    assert.equal(carol.peer.events.some((e) => e.type === 'path'), false);
  });

  it('two peers behind one router, relay outside: the LAN path', async () => {
    const ann = await listen('a2', 'ann');
    const alice = connect('a', 'alice', ann.fingerprint);
    const connected = await alice.waitForEvent('connected', undefined, 15_000);
    assert.deepEqual([connected.path, connected.address], ['direct', `${A2}:5050`], 'her LAN address, from the relay record');
  });

  it('a direct path cut mid-conversation: back through the relay within the keepalive time, nothing lost; punched again once the cut is mended', async () => {
    const keepalive = ['--keepalive', '2']; // silent for 6 s: lost
    const bob = await listen('b', 'bob', keepalive);
    const alice = connect('a', 'alice', bob.fingerprint, keepalive);
    await alice.waitForEvent('connected', undefined, 15_000);
    const first = await alice.waitForEvent('path', undefined, DIRECT_WITHIN_MS);
    assert.equal(first.transport, 'udp');
    alice.send('before the cut');
    await bob.peer.waitForEvent('message', (e) => e.text === 'before the cut', 10_000);

    const mark = alice.events.length;
    await lab!.exec('ra', 'nft', [NO_UDP]);
    let mended = false;
    try {
      const cutAt = Date.now();
      for (let i = 0; i < 20; i++) alice.send(`during ${i}`);
      const back = await eventAfter(alice, mark, 'reconnected', () => true, 30_000);
      assert.equal(back.path, 'relayed');
      const took = Date.now() - cutAt;
      assert.ok(took < 3 * 2_000 + 5_000, `back through the relay ${took} ms after the cut (keepalive 2 s: lost after 6 s)`);
      assert.ok(alice.events.slice(mark).some((e) => e.type === 'reconnecting'), 'and it says so');
      await lab!.exec('ra', 'nft', ['delete', 'table', 'ip', 'punchtest']);
      mended = true;
      const again = await eventAfter(alice, mark, 'path', () => true, 30_000);
      assert.deepEqual([again.path, again.transport, (again.previous as PeerEvent).path], ['direct', 'udp', 'relayed']);
    } finally {
      if (!mended) await lab!.exec('ra', 'nft', ['delete', 'table', 'ip', 'punchtest']);
    }
    alice.send('after');
    await bob.peer.waitForEvent('message', (e) => e.text === 'after', 10_000);
    const expected = ['before the cut', ...Array.from({ length: 20 }, (_, i) => `during ${i}`), 'after'];
    assert.deepEqual(texts(bob.peer), expected, 'every line once, in order, across both switches');
  });
});
