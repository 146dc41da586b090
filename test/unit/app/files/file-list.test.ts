// What a send offers, on real temporary directories: a single file, a directory expanded into
// its regular files with relative names (symlinks and special files inside it skipped and
// counted), and clear one-line refusals for missing paths, empty directories, names the peer
// would refuse, and no paths at all.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { listFiles } from '../../../../src/app/files/file-list.js';
import { rejectsCode } from '../../../helpers/assert-code.js';
import { MAX_OFFER_FILES } from '../../../../src/session/file-messages.js';


function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('listFiles', () => {
  let root: string;
  let outside: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'p2p-chat-file-list-'));
    outside = await mkdtemp(join(tmpdir(), 'p2p-chat-file-list-outside-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  async function file(path: string, content: string | Buffer = ''): Promise<string> {
    const absolute = join(root, path);
    await mkdir(join(absolute, '..'), { recursive: true });
    await writeFile(absolute, content);
    return absolute;
  }

  it('offers a single file under its base name, with its size and absolute path', async () => {
    const path = await file('some/where/report.pdf', 'x'.repeat(1234));
    const list = await listFiles([path]);
    assert.deepEqual(list, { files: [{ absolutePath: path, path: 'report.pdf', size: 1234 }], skipped: 0, skippedUnder: [] });
  });

  it('offers an empty file', async () => {
    const path = await file('empty.txt');
    assert.deepEqual((await listFiles([path])).files, [{ absolutePath: path, path: 'empty.txt', size: 0 }]);
  });

  it('resolves a relative path against the working directory', async () => {
    const path = await file('rel.txt', 'abc');
    const list = await listFiles([relative(process.cwd(), path)]);
    assert.deepEqual(list.files, [{ absolutePath: path, path: 'rel.txt', size: 3 }]);
  });

  it('expands a directory into its files, named below the directory, in sorted walk order', async () => {
    await file('dir/b.txt', 'bb');
    await file('dir/a.txt', 'a');
    await file('dir/sub/x', 'xxx');
    await file('dir/sub/deeper/y', 'yyyy');
    await file('dir/C-upper.txt', 'C');
    await mkdir(join(root, 'dir', 'empty-subdir'));
    const list = await listFiles([join(root, 'dir')]);
    assert.deepEqual(
      list.files.map((f) => [f.path, f.size]),
      [
        ['dir/C-upper.txt', 1],
        ['dir/a.txt', 1],
        ['dir/b.txt', 2],
        ['dir/sub/deeper/y', 4],
        ['dir/sub/x', 3],
      ],
    );
    for (const f of list.files) assert.equal(f.absolutePath, join(root, f.path));
    assert.equal(list.skipped, 0);
  });

  it('names a directory given with a trailing slash by its own name', async () => {
    await file('dir/a.txt', 'a');
    const list = await listFiles([join(root, 'dir') + '/']);
    assert.deepEqual(list.files.map((f) => f.path), ['dir/a.txt']);
  });

  it('combines several paths in the order given', async () => {
    const single = await file('single.txt', 's');
    await file('tree/one', '1');
    await file('tree/two', '22');
    const list = await listFiles([join(root, 'tree'), single]);
    assert.deepEqual(list.files.map((f) => f.path), ['tree/one', 'tree/two', 'single.txt']);
  });

  it('skips and counts symlinks inside a directory, never listing what they point to', async () => {
    await file('dir/real.txt', 'real');
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await mkdir(join(outside, 'secrets'));
    await writeFile(join(outside, 'secrets', 'key'), 'key');
    await symlink(join(outside, 'secret.txt'), join(root, 'dir', 'link-to-file'));
    await symlink(join(outside, 'secrets'), join(root, 'dir', 'link-to-dir'));
    await symlink(join(outside, 'missing'), join(root, 'dir', 'dangling'));
    await symlink(join(root, 'dir'), join(root, 'dir', 'loop')); // would recurse forever if followed
    const list = await listFiles([join(root, 'dir')]);
    assert.deepEqual(list.files.map((f) => f.path), ['dir/real.txt']);
    assert.equal(list.skipped, 4);
    assert.deepEqual(list.skippedUnder, [join(root, 'dir')]);
    for (const f of list.files) assert.ok(!f.absolutePath.startsWith(outside));
  });

  it('names, of several directories given, only those something was skipped under', async () => {
    await file('plain/a.txt', 'a');
    await file('links/b.txt', 'b');
    await symlink(join(root, 'plain', 'a.txt'), join(root, 'links', 'to-a'));
    const list = await listFiles([join(root, 'plain'), join(root, 'links')]);
    assert.equal(list.skipped, 1);
    assert.deepEqual(list.skippedUnder, [join(root, 'links')]);
  });

  it('skips and counts special files inside a directory', { skip: !hasMkfifo() && 'no mkfifo' }, async () => {
    await file('dir/real.txt', 'real');
    execFileSync('mkfifo', [join(root, 'dir', 'pipe')]);
    const list = await listFiles([join(root, 'dir')]);
    assert.deepEqual(list.files.map((f) => f.path), ['dir/real.txt']);
    assert.equal(list.skipped, 1);
  });

  it('refuses a special file named directly', { skip: !hasMkfifo() && 'no mkfifo' }, async () => {
    const pipe = join(root, 'pipe');
    execFileSync('mkfifo', [pipe]);
    const err = await rejectsCode(listFiles([pipe]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /not a regular file or directory/);
    assert.ok(err.message.includes(pipe));
  });

  it('follows a symlink named directly (the user chose it), offering it under the link name', async () => {
    await writeFile(join(outside, 'target.txt'), 'target');
    const link = join(root, 'shortcut.txt');
    await symlink(join(outside, 'target.txt'), link);
    const list = await listFiles([link]);
    assert.deepEqual(list.files, [{ absolutePath: link, path: 'shortcut.txt', size: 6 }]);
  });

  it('refuses a missing path (ERR_FILE_UNREADABLE, one line naming the path)', async () => {
    const missing = join(root, 'no-such-file.txt');
    const err = await rejectsCode(listFiles([missing]), 'ERR_FILE_UNREADABLE');
    assert.equal(err.message, `cannot send ${missing}: no such file or directory`);
  });

  it('refuses a missing path among good ones', async () => {
    const good = await file('good.txt', 'g');
    const missing = join(root, 'missing');
    const err = await rejectsCode(listFiles([good, missing]), 'ERR_FILE_UNREADABLE');
    assert.ok(err.message.includes(missing));
  });

  it('refuses an empty directory: nothing to send', async () => {
    const dir = join(root, 'empty');
    await mkdir(join(dir, 'also-empty'), { recursive: true });
    const err = await rejectsCode(listFiles([dir]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /^nothing to send/);
    assert.ok(err.message.includes(dir));
  });

  it('refuses a directory that holds only symlinks: nothing to send', async () => {
    await writeFile(join(outside, 'x'), 'x');
    await mkdir(join(root, 'links'));
    await symlink(join(outside, 'x'), join(root, 'links', 'x'));
    const err = await rejectsCode(listFiles([join(root, 'links')]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /nothing to send/);
  });

  it('refuses two paths with the same base name (the peer would see one name twice)', async () => {
    const one = await file('one/x.txt', '1');
    const two = await file('two/x.txt', '2');
    const err = await rejectsCode(listFiles([one, two]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /^cannot send: the name "x\.txt": listed twice$/);
  });

  it('refuses two directories with the same base name holding the same file', async () => {
    await file('a/photos/1.jpg', '1');
    await file('b/photos/1.jpg', '2');
    const err = await rejectsCode(listFiles([join(root, 'a', 'photos'), join(root, 'b', 'photos')]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /listed twice/);
  });

  it('refuses a file and a directory of the same base name', async () => {
    const single = await file('a/data', 'file');
    await file('b/data/inner', 'inner');
    const err = await rejectsCode(listFiles([single, join(root, 'b', 'data')]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /both a file and a directory/);
  });

  it('refuses the same path given twice', async () => {
    const path = await file('dup.txt', 'd');
    await rejectsCode(listFiles([path, path]), 'ERR_FILE_UNREADABLE');
  });

  it('refuses a name the peer would refuse (a backslash) rather than offering it', async () => {
    await file('dir/ok.txt', 'ok');
    await file('dir/back\\slash.txt', 'b');
    const err = await rejectsCode(listFiles([join(root, 'dir')]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, /^cannot send: the name .*backslash/);
  });

  it('refuses no paths with ERR_USAGE', async () => {
    await rejectsCode(listFiles([]), 'ERR_USAGE');
  });

  it(`refuses more than ${MAX_OFFER_FILES} files`, async () => {
    const dir = join(root, 'many');
    await mkdir(dir);
    for (let i = 0; i <= MAX_OFFER_FILES; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, MAX_OFFER_FILES + 1 - i) }, (_, j) => writeFile(join(dir, `f${i + j}`), '')),
      );
    }
    const err = await rejectsCode(listFiles([dir]), 'ERR_FILE_UNREADABLE');
    assert.match(err.message, new RegExp(`more than ${MAX_OFFER_FILES} files`));
  });
});
