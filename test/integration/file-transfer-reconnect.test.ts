// A transfer between real processes whose connection is reset mid-way: `send` reconnects by
// itself, the conversation resumes, and the transfer goes on from what the receiver holds, with
// no new offer and no error on either side. The proxy between them counts what the path carried:
// less than starting over would have needed.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cleanupPeers, PeerProcess, startListener, tempHome, type PeerEvent } from '../helpers/peer-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { fileSha256, MiB, writeRandomFile } from '../helpers/transfer-fixture.js';

afterEach(cleanupPeers);
after(cleanupPeers);

const ofType = (peer: PeerProcess, type: string): PeerEvent[] => peer.events.filter((e) => e.type === type);

/** Resolves once `test()` holds, polled every few milliseconds; fails after `timeoutMs`. */
async function until(test: () => boolean, what: string, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !test(); await delay(5)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('a transfer cut by a lost connection', () => {
  it('completes by itself after the reconnect, SHA-256 verified, carrying less than a restart would', { timeout: 120_000 }, async (t) => {
    const size = 50 * MiB + 12_345;
    const file = join(tempHome(), 'big.bin');
    await writeRandomFile(file, size);
    const downloads = join(tempHome(), 'inbox');
    const { peer: alice, port } = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', downloads]);
    // Paced (about 2 s for the file), so that the cut comes mid-way and the rest follows it.
    const proxy = new TcpProxy(port, '127.0.0.1', 25 * MiB);
    try {
      const bob = new PeerProcess(['send', `127.0.0.1:${await proxy.start()}`, file, '--name', 'bob', '--json']);
      await until(() => proxy.forwarded.up >= 20 * MiB, '20 MiB through the proxy', 60_000);
      proxy.cut();
      const carriedBeforeCut = proxy.forwarded.up;

      assert.equal(await bob.exitCode(90_000), 0, bob.stderr);
      const received = await alice.waitForEvent('file-done', undefined, 30_000);
      assert.equal(received.sha256Verified, true);
      assert.ok(typeof received.resumed === 'number' && received.resumed > 0, `resumed ${String(received.resumed)}`);
      assert.ok((received.resumed as number) <= carriedBeforeCut, 'it resumed from what crossed before the cut');
      const sent = ofType(bob, 'file-done');
      assert.equal(sent.length, 1, bob.stdoutLines.join('\n'));
      assert.equal(sent[0]!.id, received.id, 'the same transfer at both ends');
      assert.equal(await fileSha256(join(downloads, 'big.bin')), await fileSha256(file));

      for (const peer of [alice, bob]) {
        assert.deepEqual(ofType(peer, 'file-error'), [], 'no error on either side');
        assert.equal(ofType(peer, 'file-offer').length, 1, 'one offer: the resume made no new one');
        assert.equal(ofType(peer, 'reconnected').length, 1);
      }
      assert.ok(proxy.connections >= 2, 'bob dialled again through the proxy');
      // Starting over would have carried what crossed before the cut and then the whole file.
      const carried = proxy.forwarded.up;
      t.diagnostic(`${carriedBeforeCut} bytes up before the cut, ${carried} in all, for ${size}; resumed from ${String(received.resumed)}`);
      assert.ok(carried < carriedBeforeCut + size, `${carried} bytes carried; a restart needs more than ${carriedBeforeCut + size}`);
      assert.ok(carried < 2 * size, `${carried} bytes carried, under twice the file`);
    } finally {
      await proxy.close();
    }
  });

  it('ends with file-error, resumable, only when the conversation is lost', { timeout: 60_000 }, async () => {
    const size = 20 * MiB;
    const file = join(tempHome(), 'big.bin');
    await writeRandomFile(file, size);
    const window = ['--resume-window', '2'];
    const { peer: alice, port } = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', tempHome(), ...window]);
    const proxy = new TcpProxy(port, '127.0.0.1', 10 * MiB);
    try {
      const bob = new PeerProcess(['send', `127.0.0.1:${await proxy.start()}`, file, '--name', 'bob', '--json', ...window]);
      await until(() => proxy.forwarded.up >= 4 * MiB, '4 MiB through the proxy', 60_000);
      proxy.refuseNew(); // bob's dials back fail: the conversation cannot resume
      proxy.cut();

      assert.equal(await bob.exitCode(30_000), 1, bob.stderr);
      for (const peer of [alice, bob]) {
        const error = await peer.waitForEvent('file-error', undefined, 10_000);
        assert.equal(error.code, 'ERR_FILE_CANCELLED');
        assert.equal(error.resumable, true);
        assert.match(String(error.message), /big\.bin stopped: connection to (alice|bob) lost \(.*not back within 2 s\)$/);
        // The `lost` line follows on the same stdout; under load it can be read a moment later.
        await peer.waitForEvent('lost', undefined, 10_000);
        const types = peer.events.map((e) => e.type);
        assert.ok(types.indexOf('reconnecting') < types.indexOf('file-error'), 'the transfer waited while the conversation did');
        assert.ok(types.indexOf('file-error') < types.indexOf('lost'), `reported as the conversation was lost: ${types.join(' ')}`);
        assert.equal(ofType(peer, 'file-error').length, 1);
      }
      assert.ok(ofType(bob, 'reconnecting').length >= 2, 'bob tried to reconnect meanwhile');
    } finally {
      await proxy.close();
    }
  });
});
