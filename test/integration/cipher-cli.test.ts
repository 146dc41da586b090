// The transport cipher as users see and choose it: real processes over loopback with
// $P2P_CHAT_CIPHER set on each side, a small file sent and verified, and the `cipher` of each
// side's `connected` event; a bad value is one line of ERR_USAGE at start.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupPeers, PeerProcess, tempHome } from '../helpers/peer-process.js';

afterEach(cleanupPeers);
after(cleanupPeers);

const cipherEnv = (value: string) => ({ env: { P2P_CHAT_CIPHER: value } });

/** alice listens, bob sends her a file; returns each side's `connected` event's cipher. */
async function sendWith(aliceCipher: string, bobCipher: string): Promise<{ alice: unknown; bob: unknown }> {
  const downloads = tempHome();
  const file = join(tempHome(), 'note.bin');
  const content = randomBytes(300_000);
  writeFileSync(file, content);
  const listenArgs = ['listen', '--port', '0', '--host', '127.0.0.1', '--json', '--name', 'alice', '--accept-files=any', '--download-dir', downloads];
  const alice = new PeerProcess(listenArgs, cipherEnv(aliceCipher));
  const port = (await alice.waitForEvent('listening')).port as number;
  const bob = new PeerProcess(['send', `127.0.0.1:${port}`, file, '--name', 'bob', '--json'], cipherEnv(bobCipher));
  assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
  const done = await alice.waitForEvent('file-done');
  assert.equal(done.sha256Verified, true);
  assert.ok(readFileSync(join(downloads, 'note.bin')).equals(content), 'the file arrived byte for byte');
  const bobConnected = bob.events.find((e) => e.type === 'connected');
  const aliceConnected = await alice.waitForEvent('connected');
  return { alice: aliceConnected.cipher, bob: bobConnected?.cipher };
}

describe('P2P_CHAT_CIPHER over real sockets', { timeout: 60_000 }, () => {
  it('both sides offering aesgcm: the session uses AESGCM and a file verifies', async () => {
    assert.deepEqual(await sendWith('aesgcm', 'aesgcm'), { alice: 'AESGCM', bob: 'AESGCM' });
  });

  it('one side choosing chachapoly: both use ChaChaPoly', async () => {
    assert.deepEqual(await sendWith('aesgcm', 'chachapoly'), { alice: 'ChaChaPoly', bob: 'ChaChaPoly' });
  });

  it('a bad value is one line with ERR_USAGE and exit code 2, before anything starts', async () => {
    const listener = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1'], cipherEnv('aes'));
    assert.equal(await listener.exitCode(), 2);
    assert.equal(listener.stderr, 'p2p-chat: P2P_CHAT_CIPHER="aes" is not a cipher; use aesgcm or chachapoly (or leave it unset)\n');
    assert.deepEqual(listener.stdoutLines, []);

    const sender = new PeerProcess(['send', '127.0.0.1:1', join(tempHome(), 'x'), '--json'], cipherEnv('ChaChaPoly'));
    assert.equal(await sender.exitCode(), 2);
    assert.deepEqual(sender.events, [
      { type: 'error', code: 'ERR_USAGE', message: 'P2P_CHAT_CIPHER="ChaChaPoly" is not a cipher; use aesgcm or chachapoly (or leave it unset)' },
    ]);
  });
});
