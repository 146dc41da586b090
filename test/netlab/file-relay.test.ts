// A file transfer through the relay, with real `p2p-chat` processes on a TEST-NET "Internet":
// relay R on 203.0.113.0/24, alice (A) behind RA (plain NAT), bob (B) behind RB (symmetric NAT).
// Nothing reaches A from outside, so bob's `send alice` tries A's public address, falls back to
// the relay, and delivers a multi-MiB file and a nested directory through it, SHA-256 verified.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Netlab, netlabSkip } from '../helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../helpers/peer-process.js';
import { assertReceived, writeSampleFiles } from '../helpers/sample-files.js';

const R = '203.0.113.1';
const RELAY = `${R}:5050`;

describe('netlab: file transfer through the relay', { skip: await netlabSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;
  let relay: PeerProcess;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('internet', '203.0.113.0/24');
    await lab.addHost('r', { lan: 'internet', address: `${R}/24` });
    await lab.addHome({ host: 'a', router: 'ra', kind: 'nat', lan: '192.168.1', outside: '203.0.113.2' }, 'internet');
    await lab.addHome({ host: 'b', router: 'rb', kind: 'symmetric-nat', lan: '192.168.2', outside: '203.0.113.3' }, 'internet');
    relay = lab.spawnPeer('r', ['relay', '--json', '--host', '0.0.0.0']);
    await relay.waitForEvent('started', undefined, 15_000);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('send from behind one NAT to a listener behind another goes through the relay; the files arrive identical', async () => {
    const downloads = join(lab!.tempHome(), 'inbox');
    const sent = writeSampleFiles(lab!.tempHome());
    const alice = lab!.spawnPeer('a', [
      'listen', '--json', '--name', 'alice', '--host', '0.0.0.0', '--relay', R, '--no-mdns',
      '--accept-files=any', '--download-dir', downloads,
    ]);
    await alice.waitForEvent('relay', (e) => e.state === 'registered', 15_000);

    const bob = lab!.spawnPeer('b', ['send', 'alice', sent.file, sent.album, '--name', 'bob', '--relay', R, '--no-mdns']);
    assert.equal(await bob.exitCode(60_000), 0, bob.stderr);

    // The path, as both sides report it: relayed via R.
    assert.match(bob.stderr, new RegExp(`^\\d\\d:\\d\\d -- connected to alice \\S+ \\(relayed via ${RELAY.replace(/\./g, '\\.')}(, \\d+ ms)?\\)`, 'm'));
    const atAlice = await alice.waitForEvent('connected', (e) => e.name === 'bob');
    assert.deepEqual([atAlice.path, atAlice.via], ['relayed', RELAY]);
    assert.equal(alice.events.some((e) => e.type === 'connected' && e.path === 'direct'), false, 'nothing got in directly');

    assert.match(bob.stderr, /-- big\.bin, album\/ \(4 files, 4\.1 MiB\) sent to alice, SHA-256 verified \(/);
    const done = await alice.waitForEvent('file-done');
    assert.deepEqual([done.direction, done.peer, done.total, done.sha256Verified], ['receive', 'bob', sent.total, true]);
    assertReceived(downloads, sent);

    // The relay carried it: its session with bob and alice moved at least the files' bytes.
    alice.kill('SIGTERM');
    const closed = await relay.waitForEvent('session-closed', (e) => (e.b as PeerEvent).name === 'alice', 15_000);
    assert.ok(Number(closed.bytes) > sent.total, `the relayed session carried ${String(closed.bytes)} bytes`);
  });
});
