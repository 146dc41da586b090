// A file that fails to read while it is being sent ends the transfer with ERR_FILE_UNREADABLE and
// words for what happened, on both sides, never with the raw errno as its code (an EIO from a
// failing disk once reached --json as `code: 'EIO'`). The read is made to fail for real: after
// listing, the file is replaced by a directory of the same size, which opens and stats like the
// file did and then refuses the read with EISDIR.

import assert from 'node:assert/strict';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { listFiles } from '../../src/app/files/file-list.js';
import { failure, partialFiles, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

describe('a file that cannot be read while it is sent', { timeout: 30_000 }, () => {
  it('ends with ERR_FILE_UNREADABLE saying why on the sender, and the receiver is told the same code', async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    // A directory's size depends on the file system (4096 on ext4, a few dozen bytes on tmpfs): the file
    // gets the same size, so the sender's size check before reading passes.
    const swap = join(source, 'swap');
    await mkdir(swap);
    await writeFile(join(swap, 'entry'), '');
    const path = join(source, 'data.bin');
    await writeRandomFile(path, (await stat(swap)).size);
    const { files } = await listFiles([path]);
    await rename(path, join(source, 'data.bin.orig'));
    await rename(swap, path);

    const p = await fx.pair(downloads);
    p.sender.transfers.send(p.sender.link, files);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    const [sent, received] = await Promise.all([failure(p.sender), failure(p.receiver)]);

    assert.equal(sent.error.code, 'ERR_FILE_UNREADABLE');
    assert.equal(sent.error.message, 'cannot send data.bin: is a directory');
    assert.equal(sent.byPeer, false);
    assert.equal(received.error.code, 'ERR_FILE_UNREADABLE', "the receiver is told the sender's code");
    assert.equal(received.error.message, 'sender stopped data.bin: cannot send data.bin: is a directory');
    assert.equal(received.byPeer, true);
    assert.equal((await partialFiles(downloads)).reduce((sum, f) => sum + f.size, 0), 0, 'nothing was received');
  });
});
