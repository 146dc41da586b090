// Chat stays prompt while a large file goes over a slow link: a chat message sent mid-transfer
// waits behind at most the send window's worth of file data, never behind the rest of the file.
// Measured in bytes on both sides, not in time.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { SEND_WINDOW_DEFAULTS } from '../../src/session/send-window.js';
import { failure, MiB, offer, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

describe('chat during a file transfer', () => {
  it('a chat message sent mid-transfer waits behind a bounded amount of file data, not the rest of the file', { timeout: 120_000 }, async (t) => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    const size = 48 * MiB;
    const path = join(source, 'movie.mkv');
    await writeRandomFile(path, size);
    const p = await fx.pair(downloads, { throttleBytesPerSecond: 3_000_000 });

    await offer(p.sender, [path]);
    await p.receiver.next('offer');
    p.receiver.transfers.accept();
    await p.receiver.next('progress', (e) => e.type === 'progress' && e.bytes >= 6 * MiB);

    const arrived = new Promise<number>((resolve) => {
      p.receiver.conn.on('message', (message) => {
        if (message.type === 'chat') resolve(p.receiver.fileData.received);
      });
    });
    const sentBefore = p.sender.fileData.sent;
    const receivedWhenSent = p.receiver.fileData.received;
    p.sender.conn.send({ type: 'chat', id: 'c1', time: Date.now(), text: 'still here?' });
    const receivedBefore = await arrived;
    const queuedAhead = sentBefore - receivedWhenSent;
    t.diagnostic(`file data queued ahead of the chat: ${queuedAhead} bytes; ${sentBefore} of ${size} sent`);

    assert.equal(receivedBefore, sentBefore, 'the chat came right after the data written before it, before any written after');
    assert.ok(p.sender.fileData.sent < size, 'the transfer was still under way');
    assert.ok(queuedAhead <= SEND_WINDOW_DEFAULTS.maxBytes, `${queuedAhead} bytes queued ahead is within the send window`);
    assert.ok(queuedAhead < size / 3, `${queuedAhead} bytes queued ahead is a small part of the ${size}-byte file`);

    p.sender.transfers.cancel();
    await Promise.all([failure(p.sender), failure(p.receiver)]);
  });
});
