// A receiver whose disk fills up mid-transfer: both sides end with ERR_FILE_WRITE saying so in one
// line, the bytes that fitted stay in the partial file, and nothing is placed. The download
// directory is a 1 MiB tmpfs mounted for the test (needs root; skipped with the reason otherwise,
// a failure under CI=true), unmounted afterwards even when the test fails.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { runCommand } from '../helpers/run-command.js';
import { failure, MiB, offer, partialFiles, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
const mounts: string[] = [];
afterEach(async () => {
  for (const dir of mounts.splice(0)) await runCommand('umount', [dir]).catch(() => undefined);
  await fx.cleanup();
});

function needRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') assert.fail('the disk-full test needs root to mount a small tmpfs');
  t.skip('mounting a small tmpfs needs root');
  return false;
}

describe('a receiver whose disk fills up', { timeout: 60_000 }, () => {
  it('ends the transfer with ERR_FILE_WRITE "disk full" on both sides, keeping the partial data', async (t) => {
    if (!needRoot(t)) return;
    const source = await fx.tempDir('src');
    const downloads = join(await fx.tempDir('full'), 'disk');
    await mkdir(downloads);
    await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', downloads]);
    mounts.push(downloads);
    const path = join(source, 'big.bin');
    await writeRandomFile(path, 4 * MiB);

    const p = await fx.pair(downloads);
    await offer(p.sender, [path]);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    const [sent, received] = await Promise.all([failure(p.sender), failure(p.receiver)]);
    assert.equal(received.error.code, 'ERR_FILE_WRITE');
    assert.match(received.error.message, /disk full/);
    assert.equal(received.byPeer, false);
    assert.equal(sent.error.code, 'ERR_FILE_WRITE', 'the sender is told the same code');
    assert.match(sent.error.message, /disk full/);
    assert.doesNotMatch(sent.error.message + received.error.message, /\n/);
    const partial = await partialFiles(downloads);
    assert.equal(partial.length, 1, 'what fitted stays for a resume');
    assert.ok(partial[0]!.size > 0 && partial[0]!.size < 4 * MiB);
  });
});
