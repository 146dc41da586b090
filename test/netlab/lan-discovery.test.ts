// LAN discovery between real p2p-chat processes in network namespaces on one bridge: `discover`
// lists the others (not itself), sees a clean exit at once (mDNS goodbye) and a crash once it ages
// out, `connect <name>` / `connect <prefix>` dial through it, and a forged announcement, a name
// clash and an unknown name fail with their codes. Every mDNS packet stays inside the lab.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netlab, netlabSkip } from '../helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../helpers/peer-process.js';

const FAKE_ANNOUNCEMENT = fileURLToPath(new URL('./fixtures/fake-announcement.js', import.meta.url));
const RENAMING_LISTENER = fileURLToPath(new URL('./fixtures/renaming-listener.js', import.meta.url));

/** README: a clean exit is seen "at once"; the wait is generous because test machines are noisy. */
const GOODBYE_WAIT_MS = 2_000 + 5_000;
/** README: a crashed peer disappears within 20 s (stale after 15 s, re-queried every 5 s). */
const STALE_WAIT_MS = 25_000;
/** `discover --timeout 3` plus start-up and a margin. */
const DISCOVER_EXIT_MS = 3_000 + 7_000;

const ADDRESSES = { a: '192.0.2.11', b: '192.0.2.12', c: '192.0.2.13', d: '192.0.2.14' } as const;

interface Listener {
  readonly peer: PeerProcess;
  readonly fingerprint: string;
  readonly port: number;
}

describe('netlab: LAN discovery, real peers on one bridge', { skip: await netlabSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;


  /** `listen --json --name NAME --host 0.0.0.0` on `host`, once it is bound and announced. */
  const listen = async (host: string, name: string, extra: string[] = [], home?: string): Promise<Listener> => {
    const args = ['listen', '--json', '--name', name, '--host', '0.0.0.0', ...extra];
    const peer = lab!.spawnPeer(host, args, home ? { home } : {});
    const listening = await peer.waitForEvent('listening');
    if (!extra.includes('--no-mdns')) await peer.waitForEvent('announced');
    return { peer, fingerprint: String(listening.fingerprint), port: Number(listening.port) };
  };

  /** SIGTERM (a clean exit, with goodbyes) and wait for it. */
  const stop = async (peer: PeerProcess): Promise<void> => {
    peer.kill('SIGTERM');
    assert.equal(await peer.exitCode(), 0, `a listener leaves cleanly on SIGTERM; stderr:\n${peer.stderr}`);
  };

  const peerEvent = (peer: PeerProcess, type: string, name: string): PeerEvent | undefined =>
    peer.events.find((e) => e.type === type && e.name === name);

  const millisSince = (start: bigint): number => Number((process.hrtime.bigint() - start) / 1_000_000n);

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('lan', '192.0.2.0/24');
    for (const [host, address] of Object.entries(ADDRESSES)) await lab.addHost(host, { lan: 'lan', address: `${address}/24` });
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('discover on C lists A and B with fingerprint, port and address, not C itself, and exits', async (t) => {
    const [alice, bob] = await Promise.all([listen('a', 'alice'), listen('b', 'bob')]);
    // C announces too, under the identity `discover` will use: its own announcement must be hidden.
    const cHome = lab!.tempHome();
    const carol = await listen('c', 'carol', [], cHome);

    const started = process.hrtime.bigint();
    const discover = lab!.spawnPeer('c', ['discover', '--json', '--timeout', '3'], { home: cHome });
    const code = await discover.exitCode(DISCOVER_EXIT_MS);
    const elapsed = millisSince(started);
    assert.equal(code, 0, `discover exits 0 (after ${elapsed} ms); stderr:\n${discover.stderr}`);

    const ups = discover.events.filter((e) => e.type === 'peer-up');
    assert.equal(ups.length, discover.events.length, `only peer-up lines:\n${discover.stdoutLines.join('\n')}`);
    const byName = new Map(ups.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()].sort(), ['alice', 'bob'], `A and B, not C (listed after ${elapsed} ms)`);
    for (const [listener, name, address] of [[alice, 'alice', ADDRESSES.a], [bob, 'bob', ADDRESSES.b]] as const) {
      const up = byName.get(name)!;
      assert.equal(up.fingerprint, listener.fingerprint, `${name}'s announced key is the one it listens with`);
      assert.equal(listener.port, 5050);
      assert.equal(up.port, listener.port);
      // IPv4 first, then (lab hosts have IPv6 link-local only) fe80:: scoped to the interface.
      const [first, ...rest] = up.addresses as string[];
      assert.equal(first, address);
      for (const other of rest) assert.match(other, /^fe80::[0-9a-f:]+%eth0$/);
      assert.equal(up.known, false);
      assert.equal(up.keyChanged, false);
    }
    assert.ok(!ups.some((e) => e.fingerprint === carol.fingerprint), 'C never lists its own key');
    t.diagnostic(`discover --timeout 3 exited after ${elapsed} ms (process start included)`);

    await Promise.all([stop(alice.peer), stop(bob.peer), stop(carol.peer)]);
  });

  it('discover --watch sees a clean exit at once (goodbye), a SIGKILLed peer age out, a live one stay', async (t) => {
    const [alice, bob, dave] = await Promise.all([listen('a', 'alice'), listen('b', 'bob'), listen('d', 'dave')]);
    const watch = lab!.spawnPeer('c', ['discover', '--watch', '--json']);
    const count = (type: string, name: string) => watch.events.filter((e) => e.type === type && e.name === name).length;
    try {
      for (const name of ['alice', 'bob', 'dave']) await watch.waitFor(() => peerEvent(watch, 'peer-up', name), `peer-up ${name}`);

      const termAt = process.hrtime.bigint();
      alice.peer.kill('SIGTERM');
      const aliceDown = await watch.waitFor(() => peerEvent(watch, 'peer-down', 'alice'), 'peer-down alice (goodbye)', GOODBYE_WAIT_MS);
      const goodbyeMs = millisSince(termAt);
      assert.equal(aliceDown.fingerprint, alice.fingerprint, `goodbye seen after ${goodbyeMs} ms`);
      assert.equal(await alice.peer.exitCode(), 0);

      const killAt = process.hrtime.bigint();
      bob.peer.kill('SIGKILL');
      const bobDown = await watch.waitFor(() => peerEvent(watch, 'peer-down', 'bob'), 'peer-down bob (stale)', STALE_WAIT_MS);
      const staleMs = millisSince(killAt);
      assert.equal(bobDown.fingerprint, bob.fingerprint, `stale peer dropped after ${staleMs} ms`);
      assert.equal((bobDown.addresses as string[])[0], ADDRESSES.b);
      t.diagnostic(`goodbye seen after ${goodbyeMs} ms; SIGKILLed peer dropped after ${staleMs} ms`);

      // Dave was first heard with bob, so only the re-queries kept him from ageing out in the same
      // sweep (its lines would be in the same write as bob's); and he was never dropped and re-added.
      const lines = watch.stdoutLines.join('\n');
      assert.equal(count('peer-down', 'dave'), 0, `a live peer is not aged out:\n${lines}`);
      assert.equal(count('peer-up', 'dave'), 1, `a live peer is listed once:\n${lines}`);
      for (const name of ['alice', 'bob']) assert.equal(count('peer-down', name), 1, `one peer-down for ${name}:\n${lines}`);
    } finally {
      watch.kill('SIGTERM');
      assert.equal(await watch.exitCode(), 0, `discover --watch stops cleanly on SIGTERM; stderr:\n${watch.stderr}`);
    }
    await stop(dave.peer);
  });

  it('after /nick the LAN hears the new name: the old announcement leaves, the new one arrives (issue 12)', async () => {
    const alice = lab!.spawnScript('a', RENAMING_LISTENER, ['listen', 'alice']);
    const first = await alice.waitForEvent('announced', () => true, 15_000);
    const fingerprint = String((await alice.waitForEvent('listening')).fingerprint);
    assert.match(String(first.instance), /^alice /);
    const watch = lab!.spawnPeer('c', ['discover', '--watch', '--json']);
    try {
      await watch.waitFor(() => peerEvent(watch, 'peer-up', 'alice'), 'peer-up alice');
      alice.send('ally');
      const again = await alice.waitForEvent('announced', (e) => e !== first, 15_000);
      assert.match(String(again.instance), /^ally /);
      const up = await watch.waitFor(() => peerEvent(watch, 'peer-up', 'ally'), 'peer-up ally', GOODBYE_WAIT_MS);
      assert.equal(up.fingerprint, fingerprint);
      const down = await watch.waitFor(() => peerEvent(watch, 'peer-down', 'alice'), 'peer-down alice (goodbye)', GOODBYE_WAIT_MS);
      assert.equal(down.fingerprint, fingerprint);
    } finally {
      watch.kill('SIGTERM');
      assert.equal(await watch.exitCode(), 0);
      alice.kill('SIGTERM');
      assert.equal(await alice.exitCode(), 0, alice.stderr);
    }
  });

  for (const how of ['nickname', 'fingerprint prefix'] as const) {
    it(`connect by ${how} from C reaches A; they chat both ways`, async () => {
      const alice = await listen('a', 'alice');
      const target = how === 'nickname' ? 'alice' : alice.fingerprint.slice(0, 7);
      const carol = lab!.spawnPeer('c', ['connect', target, '--json', '--name', 'carol']);

      const atCarol = await carol.waitForEvent('connected');
      assert.equal(atCarol.fingerprint, alice.fingerprint, `'${target}' dials the announced key`);
      assert.equal(atCarol.name, 'alice');
      assert.equal(atCarol.address, `${ADDRESSES.a}:5050`);
      assert.equal(atCarol.direction, 'outgoing');
      const atAlice = await alice.peer.waitForEvent('connected');
      assert.equal(atAlice.name, 'carol');
      assert.match(String(atAlice.address), /^192\.0\.2\.13:\d+$/);

      carol.send(`hello alice, found by ${how}`);
      const toAlice = await alice.peer.waitForEvent('message');
      assert.equal(toAlice.text, `hello alice, found by ${how}`);
      assert.equal(toAlice.from, 'carol');

      alice.peer.send('hello carol');
      const toCarol = await carol.waitForEvent('message');
      assert.equal(toCarol.text, 'hello carol');
      assert.equal(toCarol.from, 'alice');
      assert.equal(toCarol.fingerprint, alice.fingerprint);

      carol.endInput();
      assert.equal(await carol.exitCode(), 0, carol.stderr);
      await stop(alice.peer);
    });
  }

  it('listen and send print nothing about the peers they see on the LAN; --json reports them as peer-up', async () => {
    const alice = await listen('a', 'alice', ['--accept-files=any', '--download-dir', lab!.tempHome()]);
    const bob = lab!.spawnPeer('b', ['listen', '--name', 'bob', '--host', '0.0.0.0']); // pipe mode: lines on stderr
    await bob.waitForStderr(/announced on the LAN/);
    await alice.peer.waitFor(() => peerEvent(alice.peer, 'peer-up', 'bob'), 'alice sees bob (--json)');
    const file = join(lab!.tempHome(), 'note.txt');
    writeFileSync(file, 'found by name');
    // `send alice` looks alice up on the LAN, and so sees bob too.
    const carol = lab!.spawnPeer('c', ['send', 'alice', file, '--name', 'carol']);
    assert.equal(await carol.exitCode(15_000), 0, carol.stderr);
    await alice.peer.waitForEvent('file-done');
    for (const [name, peer] of [['bob', bob], ['send', carol]] as const) {
      assert.doesNotMatch(peer.stderr, /on the LAN:|gone from the LAN/, `${name} lists no LAN peers:\n${peer.stderr}`);
    }
    await Promise.all([stop(alice.peer), stop(bob)]);
  });

  it('a forged announcement naming A\'s key but pointing at D is refused: ERR_PEER_KEY_MISMATCH', async () => {
    const alice = await listen('a', 'alice');
    // D runs a real listener with its own key and does not announce it; only the forgery names D.
    const dave = await listen('d', 'dave', ['--no-mdns']);
    assert.notEqual(dave.fingerprint, alice.fingerprint);
    const instance = `mallory ${alice.fingerprint.slice(0, 7)}`;
    const forger = lab!.spawnScript('d', FAKE_ANNOUNCEMENT, ['publish', instance, '5050', alice.fingerprint, 'mallory']);
    await forger.waitForEvent('published');

    const carol = lab!.spawnPeer('c', ['connect', 'mallory', '--json', '--name', 'carol']);
    const code = await carol.exitCode(15_000);
    const events = carol.stdoutLines.join('\n');
    assert.equal(code, 1, `exit 1; stdout:\n${events}\nstderr:\n${carol.stderr}`);
    assert.ok(!carol.events.some((e) => e.type === 'connected'), `never connected:\n${events}`);
    const error = carol.events.find((e) => e.type === 'error');
    assert.equal(error?.code, 'ERR_PEER_KEY_MISMATCH', events);
    assert.deepEqual(carol.events.at(-1), error, 'the error is the last line');
    assert.ok(!dave.peer.events.some((e) => e.type === 'connected'), 'D never got a session');
    assert.ok(!alice.peer.events.some((e) => e.type === 'connected'), 'A was never dialled');

    forger.kill('SIGTERM');
    assert.equal(await forger.exitCode(), 0, forger.stderr);
    await Promise.all([stop(alice.peer), stop(dave.peer)]);
  });

  it('two listeners named twin: connect twin exits 2 with ERR_AMBIGUOUS_PEER listing both', async () => {
    const [twinA, twinB] = await Promise.all([listen('a', 'twin'), listen('b', 'twin')]);
    assert.notEqual(twinA.fingerprint, twinB.fingerprint);

    const carol = lab!.spawnPeer('c', ['connect', 'twin', '--json', '--name', 'carol']);
    const code = await carol.exitCode(15_000);
    const events = carol.stdoutLines.join('\n');
    assert.equal(code, 2, `exit 2; stdout:\n${events}\nstderr:\n${carol.stderr}`);
    assert.ok(!carol.events.some((e) => e.type === 'connected'), events);
    const error = carol.events.find((e) => e.type === 'error');
    assert.equal(error?.code, 'ERR_AMBIGUOUS_PEER', events);
    const message = String(error?.message);
    for (const [twin, address] of [[twinA, ADDRESSES.a], [twinB, ADDRESSES.b]] as const) {
      assert.ok(message.includes(`twin ${twin.fingerprint.slice(0, 7)} (${address})`), `lists ${address}: ${message}`);
    }

    await Promise.all([stop(twinA.peer), stop(twinB.peer)]);
  });

  it('connect to a name no one announces exits 1 with ERR_PEER_NOT_FOUND', async () => {
    const carol = lab!.spawnPeer('c', ['connect', 'nobody-here', '--json', '--name', 'carol']);
    const code = await carol.exitCode(15_000);
    const events = carol.stdoutLines.join('\n');
    assert.equal(code, 1, `exit 1; stdout:\n${events}\nstderr:\n${carol.stderr}`);
    const error = carol.events.find((e) => e.type === 'error');
    assert.equal(error?.code, 'ERR_PEER_NOT_FOUND', events);
    assert.ok(!carol.events.some((e) => e.type === 'connected'), events);
  });
});
