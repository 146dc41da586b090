// Hostile names from a sender speaking the protocol itself: nothing is written outside the
// download directory, nothing there is overwritten or written through a planted symlink, names
// that climb out are declined with a reason, and no name the user sees carries a control character.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { PARTIAL_DIR } from '../../src/app/files/download-dir.js';
import { FileEventReporter } from '../../src/app/files/file-events.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { IncomingTransfer } from '../../src/app/files/incoming-transfer.js';
import { RawFileSender } from '../helpers/raw-file-sender.js';
import { TransferFixture } from '../helpers/transfer-fixture.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

/** Controls, C1, bidi embeddings/overrides/isolates, and the marks the name check neutralises. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1)).sort();
}

describe('hostile names in a file offer', () => {
  it('declines names that climb out, neutralises the rest, and never overwrites or follows a link', { timeout: 30_000 }, async () => {
    // root/a/b/downloads: '../../x' from there would be root/x.
    const root = await fx.tempDir('names');
    const downloads = join(root, 'a', 'b', 'downloads');
    const outside = join(root, 'outside');
    const empty = join(root, 'empty');
    for (const dir of [downloads, outside, empty]) await mkdir(dir, { recursive: true });
    await writeFile(join(downloads, 'report.txt'), 'mine');
    await writeFile(join(outside, 'target.txt'), 'outside');
    await symlink(join(outside, 'target.txt'), join(downloads, 'planted.txt'));
    await symlink(join(empty, 'ghost.txt'), join(downloads, 'ghost.txt'));
    await symlink(empty, join(downloads, 'linked-dir'));
    const before = await tree(root);

    const p = await fx.pair(downloads, { rawSender: true, receiver: { acceptFiles: 'any' } });
    const raw = new RawFileSender(p.sender);

    const unsafe: [string, RegExp][] = [
      ['../../x', /relative path component/],
      ['/etc/passwd', /absolute path/],
      ['a/../../b', /relative path component/],
      ['C:/Windows/x', /absolute path/],
      ['..\\..\\x', /backslash/],
      ['', /empty/],
    ];
    for (const [name, why] of unsafe) {
      const id = raw.offer([{ path: name, size: 4 }]);
      const decline = await raw.next('file-decline', id);
      assert.match(decline.reason, why, `${JSON.stringify(name)} declined with a reason`);
      const refused = await p.receiver.next('refused', (e) => e.type === 'refused' && e.id === id);
      assert.equal(refused.type === 'refused' && refused.error.code, 'ERR_FILE_UNSAFE_NAME');
    }
    assert.equal(p.receiver.transfers.list().length, 0, 'no transfer for an unsafe offer');

    const accepted: [string, string][] = [
      ['\u001b[2J', '_[2J'],
      ['\u001b]0;title\u0007', '_]0;title_'],
      ['invoice\u202Efdp.exe', 'invoice_fdp.exe'],
      ['\u2066name\u2069.txt', '_name_.txt'],
      ['report.txt', 'report (1).txt'],
      ['planted.txt', 'planted (1).txt'],
      ['ghost.txt', 'ghost (1).txt'],
      ['linked-dir/inner.txt', 'linked-dir (1)/inner.txt'],
    ];
    for (const [name, savedAs] of accepted) {
      const data = randomBytes(1000);
      const id = raw.offer([{ path: name, size: data.length }]);
      await raw.next('file-accept', id);
      raw.sendFile(id, 0, data);
      await raw.next('file-verified', id);
      const done = await p.receiver.next('done', (e) => e.type === 'done' && e.transfer.id === id);
      assert.ok(done.type === 'done' && done.transfer instanceof IncomingTransfer);
      assert.equal(done.transfer.savedAs(0), savedAs);
      assert.deepEqual(await readFile(join(downloads, savedAs)), data, `${JSON.stringify(name)} saved as ${savedAs}`);
    }

    // Nothing outside the download directory changed; nothing in it was overwritten.
    const added = accepted.map(([, savedAs]) => join('a', 'b', 'downloads', savedAs));
    const after = (await tree(root)).filter((path) => !path.includes(PARTIAL_DIR));
    const expected = [...before, ...added, join('a', 'b', 'downloads', 'linked-dir (1)')].sort();
    assert.deepEqual(after, expected);
    assert.deepEqual(await readdir(empty), []);
    assert.equal(await readFile(join(outside, 'target.txt'), 'utf8'), 'outside');
    assert.equal(await readFile(join(downloads, 'report.txt'), 'utf8'), 'mine');
    assert.equal(await readlink(join(downloads, 'planted.txt')), join(outside, 'target.txt'));

    // Every name and message the user is shown is free of controls.
    const reporter = new FileEventReporter(SYSTEM_CLOCK);
    const shown = p.receiver.events.flatMap((e) => strings(reporter.toAppEvent(e)));
    assert.ok(shown.includes('_]0;title_') && shown.some((s) => s.includes('refused the offered name "/etc/passwd"')), 'offers and refusals are among them');
    for (const text of shown) assert.doesNotMatch(text, CONTROL, JSON.stringify(text));
    for (const m of raw.received) assert.doesNotMatch(strings(m).join(' '), CONTROL, 'what the sender is told');
  });
});
