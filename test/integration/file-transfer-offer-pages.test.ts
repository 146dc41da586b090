// An offer too long for one message travels as several file-offer pages over a real connection;
// the receiver joins them into one offer and every file arrives as it was sent.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { listFiles } from '../../src/app/files/file-list.js';
import { MAX_OFFER_PAGE_BYTES, offerPages } from '../../src/session/file-messages.js';
import { assertReceived, type SampleFiles } from '../helpers/sample-files.js';
import { sendAndAccept, TransferFixture } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

/** `count` small files (0 to 96 bytes, each its own content) with long names, in `root/many/`. */
async function writeManyFiles(root: string, count: number): Promise<SampleFiles> {
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const sub = `part ${String(i % 7)}`;
    const name = `${String(i).padStart(5, '0')} a rather long file name to fill the offer quickly ✓.txt`;
    contents.set(`many/${sub}/${name}`, Buffer.from(`file ${i} `.repeat(i % 13)));
  }
  for (let i = 0; i < 7; i++) await mkdir(join(root, 'many', `part ${i}`), { recursive: true });
  for (const [path, bytes] of contents) await writeFile(join(root, path), bytes);
  const total = [...contents.values()].reduce((sum, b) => sum + b.length, 0);
  return { file: '', album: join(root, 'many'), contents, total };
}

describe('a multi-page offer over loopback', () => {
  it('sends 1,500 files whose names take several offer pages; each arrives intact', { timeout: 120_000 }, async () => {
    const source = await fx.tempDir('src');
    const downloads = await fx.tempDir('dl');
    const sent = await writeManyFiles(source, 1500);
    const offered = (await listFiles([sent.album])).files.map((f) => ({ path: f.path, size: f.size }));
    const expectedPages = offerPages('0'.repeat(16), offered).length;
    assert.ok(expectedPages >= 3, `the names should need several pages of ${MAX_OFFER_PAGE_BYTES} bytes, got ${expectedPages}`);

    const p = await fx.pair(downloads);
    const pages: { files: number; more: boolean }[] = [];
    p.receiver.conn.on('message', (message) => {
      if (message.type === 'file-offer') pages.push({ files: message.files.length, more: message.more });
    });
    const { received } = await sendAndAccept(p, [sent.album]);

    assert.equal(pages.length, expectedPages, 'the offer arrived in as many pages as offerPages makes');
    assert.deepEqual(pages.map((page) => page.more), pages.map((_, i) => i < pages.length - 1), 'every page but the last says more follow');
    assert.equal(pages.reduce((sum, page) => sum + page.files, 0), 1500, 'the pages list every file once');
    assert.equal(p.receiver.events.filter((e) => e.type === 'offer').length, 1, 'the pages make one offer');
    assert.equal(received.type === 'done' && received.transfer.files.length, 1500, 'one transfer of all the files');
    assertReceived(downloads, sent);
  });
});
