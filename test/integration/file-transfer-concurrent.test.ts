// Several transfers into one download directory at once: one that finishes must not take the
// partial folder away from another still under way.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { RawFileSender } from '../helpers/raw-file-sender.js';
import { partialFiles, TransferFixture } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

describe('concurrent file transfers', () => {
  it('a transfer that finishes while another is between files leaves it the partial folder', { timeout: 30_000 }, async () => {
    const downloads = await fx.tempDir('dl');
    const p = await fx.pair(downloads, { rawSender: true, receiver: { acceptFiles: 'any' } });
    const raw = new RawFileSender(p.sender);
    const [a, b1, b2] = [randomBytes(1000), randomBytes(2000), randomBytes(3000)];
    const first = raw.offer([{ path: 'a.txt', size: a.length }]);
    const second = raw.offer([
      { path: 'b1.txt', size: b1.length },
      { path: 'b2.txt', size: b2.length },
    ]);
    await Promise.all([raw.next('file-accept', first), raw.next('file-accept', second)]);

    // b1 is placed, so the partial folder is empty, and b2 has not started...
    raw.sendFile(second, 0, b1);
    await raw.next('file-verified', second);
    // ...when the other transfer finishes and tidies up.
    raw.sendFile(first, 0, a);
    await raw.next('file-verified', first);
    await p.receiver.next('done', (e) => e.type === 'done' && e.transfer.id === first);

    raw.sendFile(second, 1, b2);
    const ended = await Promise.race([
      raw.next('file-verified', second, (m) => m.index === 1).then(() => 'verified'),
      raw.next('file-cancel', second).then((m) => `cancelled: ${m.code} ${m.reason}`),
    ]);
    assert.equal(ended, 'verified');
    await p.receiver.next('done', (e) => e.type === 'done' && e.transfer.id === second);
    for (const [name, data] of [['a.txt', a], ['b1.txt', b1], ['b2.txt', b2]] as const) {
      assert.deepEqual(await readFile(join(downloads, name)), data, name);
    }
    assert.deepEqual(await partialFiles(downloads), []);
  });
});
