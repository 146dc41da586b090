// The download directory, on real temporary directories: its partial folder (refused when it is a
// symlink), stable partial-file names, resumable data, partial files never opened through a
// symlink, and finished files placed under a fresh name so that nothing existing is overwritten
// and no planted symlink is followed.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { chatError } from '../../../../src/errors.js';
import { DownloadDir, PARTIAL_DIR, predictNames, writeError } from '../../../../src/app/files/download-dir.js';
import { fingerprintOf } from '../../../../src/secure/fingerprint.js';
import { rejectsCode } from '../../../helpers/assert-code.js';

const FP = fingerprintOf(Buffer.alloc(32, 1));
const OTHER_FP = fingerprintOf(Buffer.alloc(32, 2));

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}


async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

describe('DownloadDir', () => {
  let root: string;
  /** A second temp dir standing for "somewhere outside the download directory". */
  let outside: string;
  let downloads: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'p2p-chat-download-'));
    outside = await mkdtemp(join(tmpdir(), 'p2p-chat-outside-'));
    downloads = join(root, 'Downloads', 'p2p');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  /** Write a finished partial file for `path` and return its location. */
  async function part(dir: DownloadDir, path: string, content: string): Promise<string> {
    const location = dir.partPath(FP, path, Buffer.byteLength(content));
    await writeFile(location, content);
    return location;
  }

  describe('open', () => {
    it('creates the directory (with its parents) and its private partial folder', async () => {
      const dir = await DownloadDir.open(downloads);
      assert.equal(dir.path, downloads);
      assert.ok((await stat(downloads)).isDirectory());
      const partial = await lstat(join(downloads, PARTIAL_DIR));
      assert.ok(partial.isDirectory());
      assert.equal(partial.mode & 0o077, 0, 'the partial folder is private');
      assert.equal(PARTIAL_DIR, '.p2p-chat-partial');
    });

    it('opens an existing directory again without touching what is in it', async () => {
      await DownloadDir.open(downloads);
      await writeFile(join(downloads, 'keep.txt'), 'keep');
      await writeFile(join(downloads, PARTIAL_DIR, 'x.part'), 'partial');
      const dir = await DownloadDir.open(downloads);
      assert.equal(dir.path, downloads);
      assert.equal(await readFile(join(downloads, 'keep.txt'), 'utf8'), 'keep');
      assert.equal(await readFile(join(downloads, PARTIAL_DIR, 'x.part'), 'utf8'), 'partial');
    });

    it('refuses (ERR_FILE_WRITE) a partial folder that is a symlink, and writes nothing through it', async () => {
      await mkdir(downloads, { recursive: true });
      await symlink(outside, join(downloads, PARTIAL_DIR));
      const err = await rejectsCode(DownloadDir.open(downloads), 'ERR_FILE_WRITE');
      assert.match(err.message, /symlink/);
      assert.deepEqual(await readdir(outside), [], 'nothing was written to the symlink target');
      assert.equal(await readlink(join(downloads, PARTIAL_DIR)), outside, 'the symlink is left as it was');
    });

    it('refuses a partial folder swapped for a symlink after the transfer began, writing nothing through it', async () => {
      const dir = await DownloadDir.open(downloads);
      await rm(join(downloads, PARTIAL_DIR), { recursive: true });
      await symlink(outside, join(downloads, PARTIAL_DIR));
      const err = await rejectsCode(dir.openPart(dir.partPath('FP', 'a.txt', 1), 0), 'ERR_FILE_WRITE');
      assert.match(err.message, /symlink/);
      assert.deepEqual(await readdir(outside), [], 'nothing was written to the symlink target');
    });

    it('makes the partial folder again when it was removed after the transfer began', async () => {
      const dir = await DownloadDir.open(downloads);
      await rm(join(downloads, PARTIAL_DIR), { recursive: true });
      const handle = await dir.openPart(dir.partPath('FP', 'a.txt', 1), 0);
      await handle.close();
      assert.ok((await lstat(join(downloads, PARTIAL_DIR))).isDirectory());
    });

    it('refuses a partial folder that is a dangling symlink, without creating its target', async () => {
      await mkdir(downloads, { recursive: true });
      const target = join(outside, 'not-yet');
      await symlink(target, join(downloads, PARTIAL_DIR));
      await rejectsCode(DownloadDir.open(downloads), 'ERR_FILE_WRITE');
      assert.equal(await exists(target), false);
    });

    it('refuses a partial "folder" that is a regular file', async () => {
      await mkdir(downloads, { recursive: true });
      await writeFile(join(downloads, PARTIAL_DIR), 'not a directory');
      await rejectsCode(DownloadDir.open(downloads), 'ERR_FILE_WRITE');
      assert.equal(await readFile(join(downloads, PARTIAL_DIR), 'utf8'), 'not a directory');
    });

    it('refuses a download path whose parent is a file', async () => {
      await writeFile(join(root, 'file'), 'x');
      await rejectsCode(DownloadDir.open(join(root, 'file', 'sub')), 'ERR_FILE_WRITE');
    });
  });

  describe('partPath', () => {
    it('is stable for the same sender, path and size, inside the partial folder', async () => {
      const dir = await DownloadDir.open(downloads);
      const a = dir.partPath(FP, 'photos/x.jpg', 1234);
      assert.equal(dir.partPath(FP, 'photos/x.jpg', 1234), a);
      assert.equal(dirname(a), join(downloads, PARTIAL_DIR));
      assert.match(basename(a), /^[0-9a-f]{32}\.part$/);
      // Another DownloadDir for the same directory names the same file (a later offer resumes it).
      assert.equal((await DownloadDir.open(downloads)).partPath(FP, 'photos/x.jpg', 1234), a);
    });

    it('differs when the sender, the path or the size differs', async () => {
      const dir = await DownloadDir.open(downloads);
      const names = new Set([
        dir.partPath(FP, 'photos/x.jpg', 1234),
        dir.partPath(OTHER_FP, 'photos/x.jpg', 1234),
        dir.partPath(FP, 'photos/y.jpg', 1234),
        dir.partPath(FP, 'Photos/x.jpg', 1234),
        dir.partPath(FP, 'photos/x.jpg', 1235),
        dir.partPath(FP, 'photos/x.jpg', 0),
        dir.partPath(FP, 'photos/x.jpg\n1234', 1234),
      ]);
      assert.equal(names.size, 7);
    });
  });

  describe('resumable', () => {
    it('returns the length and SHA-256 of an existing partial file, ready to be continued', async () => {
      const dir = await DownloadDir.open(downloads);
      const path = dir.partPath(FP, 'big.bin', 100);
      await writeFile(path, 'first forty bytes of the file, more or l');
      const data = await dir.resumable(path, 100);
      assert.ok(data);
      assert.equal(data.have, 40);
      assert.equal(data.hash.copy().digest('hex'), sha256('first forty bytes of the file, more or l'));
      data.hash.update('ess, and the rest');
      assert.equal(data.hash.digest('hex'), sha256('first forty bytes of the file, more or less, and the rest'));
    });

    it('hashes a partial file larger than one read', async () => {
      const dir = await DownloadDir.open(downloads);
      const path = dir.partPath(FP, 'big.bin', 10_000_000);
      const content = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < content.length; i += 4096) content[i] = i & 0xff;
      await writeFile(path, content);
      const data = await dir.resumable(path, 10_000_000);
      assert.ok(data);
      assert.equal(data.have, content.length);
      assert.equal(data.hash.digest('hex'), sha256(content));
    });

    it('accepts a partial file exactly as long as the file', async () => {
      const dir = await DownloadDir.open(downloads);
      const path = dir.partPath(FP, 'a', 5);
      await writeFile(path, '12345');
      const data = await dir.resumable(path, 5);
      assert.equal(data?.have, 5);
    });

    it('is undefined for a missing, empty or over-long partial file', async () => {
      const dir = await DownloadDir.open(downloads);
      const path = dir.partPath(FP, 'a', 10);
      assert.equal(await dir.resumable(path, 10), undefined, 'missing');
      await writeFile(path, '');
      assert.equal(await dir.resumable(path, 10), undefined, 'empty');
      await writeFile(path, '12345678901');
      assert.equal(await dir.resumable(path, 10), undefined, 'larger than the file');
    });

    it('is undefined for a symlink, even to a real file', async () => {
      const dir = await DownloadDir.open(downloads);
      const secret = join(outside, 'secret');
      await writeFile(secret, 'private data');
      const path = dir.partPath(FP, 'a', 100);
      await symlink(secret, path);
      assert.equal(await dir.resumable(path, 100), undefined);
    });

    it('is undefined for a directory in its place', async () => {
      const dir = await DownloadDir.open(downloads);
      const path = dir.partPath(FP, 'a', 100);
      await mkdir(path);
      assert.equal(await dir.resumable(path, 100), undefined);
    });
  });

  describe('partsPresent', () => {
    it('lists the regular files in the partial folder, by path, and nothing else', async () => {
      const dir = await DownloadDir.open(downloads);
      const file = await part(dir, 'a', 'xyz');
      await mkdir(dir.partPath(FP, 'b', 1));
      await symlink(join(outside, 'x'), dir.partPath(FP, 'c', 1));
      assert.deepEqual([...(await dir.partsPresent())], [file]);
    });

    it('is empty when the partial folder is gone', async () => {
      const dir = await DownloadDir.open(downloads);
      await dir.tidy();
      assert.equal((await dir.partsPresent()).size, 0);
    });
  });

  describe('openPart', () => {
    it('creates a partial file (0666 less the umask) in the private 0700 folder, kept up to the offset', async () => {
      const dir = await DownloadDir.open(downloads);
      const path = dir.partPath(FP, 'a', 100);
      const created = await dir.openPart(path, 0);
      await created.write(Buffer.from('hello world'));
      await created.close();
      assert.equal(await readFile(path, 'utf8'), 'hello world');
      assert.equal((await stat(path)).mode & 0o777, 0o666 & ~process.umask());
      assert.equal((await stat(dirname(path))).mode & 0o777, 0o700);

      const kept = await dir.openPart(path, 11);
      await kept.write(Buffer.from('HELLO'), 0, 5, 0);
      await kept.close();
      assert.equal(await readFile(path, 'utf8'), 'HELLO world', 'at its length: earlier bytes stay');

      await (await dir.openPart(path, 5)).close();
      assert.equal(await readFile(path, 'utf8'), 'HELLO', 'at an offset: cut there');

      await (await dir.openPart(path, 0)).close();
      assert.equal(await readFile(path, 'utf8'), '', 'at 0: from scratch');
    });

    it('refuses a partial path that is a symlink (ELOOP → ERR_FILE_WRITE), leaving the target alone', async () => {
      const dir = await DownloadDir.open(downloads);
      const victim = join(outside, 'victim.txt');
      await writeFile(victim, 'do not touch');
      const path = dir.partPath(FP, 'a', 100);
      await symlink(victim, path);
      for (const offset of [0, 5]) {
        const err = await rejectsCode(dir.openPart(path, offset), 'ERR_FILE_WRITE');
        assert.match(err.message, /refusing to follow a symlink/);
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'ELOOP');
      }
      assert.equal(await readFile(victim, 'utf8'), 'do not touch');
    });

    it('refuses a dangling symlink without creating its target', async () => {
      const dir = await DownloadDir.open(downloads);
      const target = join(outside, 'created-through-link');
      const path = dir.partPath(FP, 'a', 100);
      await symlink(target, path);
      await rejectsCode(dir.openPart(path, 0), 'ERR_FILE_WRITE');
      assert.equal(await exists(target), false);
    });

    it('re-creates the private partial folder when another transfer tidied it away', async () => {
      const dir = await DownloadDir.open(downloads);
      await dir.tidy();
      const path = dir.partPath(FP, 'a', 100);
      await (await dir.openPart(path, 0)).close();
      assert.equal(await exists(path), true);
      assert.equal((await stat(dirname(path))).mode & 0o777, 0o700);
    });
  });

  describe('place', () => {
    it('moves a single file to its own name when free', async () => {
      const dir = await DownloadDir.open(downloads);
      const p = await part(dir, 'a.txt', 'new content');
      assert.equal(await dir.place('a.txt', [{ rest: [], part: p }]), 'a.txt');
      assert.equal(await readFile(join(downloads, 'a.txt'), 'utf8'), 'new content');
      assert.equal(await exists(p), false, 'the partial file was moved, not copied');
    });

    it('never overwrites an existing file: a.txt exists → a (1).txt, then a (2).txt', async () => {
      const dir = await DownloadDir.open(downloads);
      await writeFile(join(downloads, 'a.txt'), 'original');
      assert.equal(await dir.place('a.txt', [{ rest: [], part: await part(dir, 'a.txt', 'first copy') }]), 'a (1).txt');
      // Different content so the partial file is a different one.
      assert.equal(await dir.place('a.txt', [{ rest: [], part: await part(dir, 'a.txt', 'second copy!') }]), 'a (2).txt');
      assert.equal(await readFile(join(downloads, 'a.txt'), 'utf8'), 'original');
      assert.equal(await readFile(join(downloads, 'a (1).txt'), 'utf8'), 'first copy');
      assert.equal(await readFile(join(downloads, 'a (2).txt'), 'utf8'), 'second copy!');
    });

    it('keeps a double extension: archive.tar.gz exists → archive (1).tar.gz', async () => {
      const dir = await DownloadDir.open(downloads);
      await writeFile(join(downloads, 'archive.tar.gz'), 'old');
      assert.equal(await dir.place('archive.tar.gz', [{ rest: [], part: await part(dir, 'archive.tar.gz', 'gz') }]), 'archive (1).tar.gz');
    });

    it('never follows a symlink planted at the target name', async () => {
      const dir = await DownloadDir.open(downloads);
      const victim = join(outside, 'victim.txt');
      await writeFile(victim, 'outside content');
      await symlink(victim, join(downloads, 'b.txt'));
      const name = await dir.place('b.txt', [{ rest: [], part: await part(dir, 'b.txt', 'received') }]);
      assert.equal(name, 'b (1).txt');
      assert.equal(await readFile(victim, 'utf8'), 'outside content', 'the symlink target is unchanged');
      assert.ok((await lstat(join(downloads, 'b.txt'))).isSymbolicLink(), 'the planted symlink is left in place');
      const placed = await lstat(join(downloads, 'b (1).txt'));
      assert.ok(placed.isFile() && !placed.isSymbolicLink());
      assert.equal(await readFile(join(downloads, 'b (1).txt'), 'utf8'), 'received');
    });

    it('never creates the target of a dangling symlink planted at the target name', async () => {
      const dir = await DownloadDir.open(downloads);
      const target = join(outside, 'would-be-created');
      await symlink(target, join(downloads, 'c.txt'));
      assert.equal(await dir.place('c.txt', [{ rest: [], part: await part(dir, 'c.txt', 'data') }]), 'c (1).txt');
      assert.equal(await exists(target), false);
      assert.deepEqual(await readdir(outside), []);
    });

    it('places a directory group under a fresh name with its nested paths', async () => {
      const dir = await DownloadDir.open(downloads);
      await mkdir(join(downloads, 'photos'));
      await writeFile(join(downloads, 'photos', 'mine.jpg'), 'my photo');
      const files = [
        { rest: ['2024', 'summer', 'beach.jpg'], part: await part(dir, 'photos/2024/summer/beach.jpg', 'beach') },
        { rest: ['2024', 'city.jpg'], part: await part(dir, 'photos/2024/city.jpg', 'city!') },
        { rest: ['mine.jpg'], part: await part(dir, 'photos/mine.jpg', 'their photo') },
      ];
      assert.equal(await dir.place('photos', files), 'photos (1)');
      assert.equal(await readFile(join(downloads, 'photos (1)', '2024', 'summer', 'beach.jpg'), 'utf8'), 'beach');
      assert.equal(await readFile(join(downloads, 'photos (1)', '2024', 'city.jpg'), 'utf8'), 'city!');
      assert.equal(await readFile(join(downloads, 'photos (1)', 'mine.jpg'), 'utf8'), 'their photo');
      // The existing directory is untouched.
      assert.deepEqual(await readdir(join(downloads, 'photos')), ['mine.jpg']);
      assert.equal(await readFile(join(downloads, 'photos', 'mine.jpg'), 'utf8'), 'my photo');
      for (const f of files) assert.equal(await exists(f.part), false);
    });

    it('places a directory group under its own name when free', async () => {
      const dir = await DownloadDir.open(downloads);
      const name = await dir.place('docs', [{ rest: ['a.txt'], part: await part(dir, 'docs/a.txt', 'A') }]);
      assert.equal(name, 'docs');
      assert.equal(await readFile(join(downloads, 'docs', 'a.txt'), 'utf8'), 'A');
    });

    it('does not write into a directory symlink planted at the group name', async () => {
      const dir = await DownloadDir.open(downloads);
      await symlink(outside, join(downloads, 'docs'));
      const name = await dir.place('docs', [{ rest: ['sub', 'a.txt'], part: await part(dir, 'docs/sub/a.txt', 'A') }]);
      assert.equal(name, 'docs (1)');
      assert.deepEqual(await readdir(outside), []);
      assert.equal(await readFile(join(downloads, 'docs (1)', 'sub', 'a.txt'), 'utf8'), 'A');
    });

    it('reports a failure to move as ERR_FILE_WRITE', async () => {
      const dir = await DownloadDir.open(downloads);
      const missing = dir.partPath(FP, 'gone.txt', 5);
      await rejectsCode(dir.place('gone.txt', [{ rest: [], part: missing }]), 'ERR_FILE_WRITE');
    });
  });

  describe('place: review findings', () => {
    it('leaves no empty reserved file behind when the move fails', async () => {
      const dir = await DownloadDir.open(downloads);
      const missing = dir.partPath(FP, 'gone.txt', 5);
      await rejectsCode(dir.place('gone.txt', [{ rest: [], part: missing }]), 'ERR_FILE_WRITE');
      assert.deepEqual(await readdir(downloads), [PARTIAL_DIR]);
    });

    it('finds a free name for a taken name of 255 bytes', async () => {
      const dir = await DownloadDir.open(downloads);
      const long = `${'a'.repeat(251)}.txt`;
      await writeFile(join(downloads, long), 'original');
      const name = await dir.place(long, [{ rest: [], part: await part(dir, long, 'new') }]);
      assert.notEqual(name, long);
      assert.ok(Buffer.byteLength(name) <= 255);
      assert.equal(await readFile(join(downloads, long), 'utf8'), 'original');
    });
  });

  describe('predictNames', () => {
    it('predicts the names place would use, creating nothing (not even the directory)', async () => {
      assert.deepEqual(await predictNames(downloads, ['a.txt', 'photos']), new Map([['a.txt', 'a.txt'], ['photos', 'photos']]));
      assert.equal(await exists(downloads), false, 'nothing created before an accept');
    });

    it('names a taken name as place would number it, also past a symlink or a taken number', async () => {
      const dir = await DownloadDir.open(downloads);
      await writeFile(join(downloads, 'a.txt'), 'original');
      await writeFile(join(downloads, 'a (1).txt'), 'copy');
      await symlink(join(outside, 'nowhere'), join(downloads, 'archive.tar.gz'));
      await mkdir(join(downloads, 'photos'));
      const predicted = await predictNames(downloads, ['a.txt', 'archive.tar.gz', 'photos', 'free.bin']);
      assert.deepEqual(predicted, new Map([['a.txt', 'a (2).txt'], ['archive.tar.gz', 'archive (1).tar.gz'], ['photos', 'photos (1)'], ['free.bin', 'free.bin']]));
      assert.deepEqual((await readdir(downloads)).sort(), [PARTIAL_DIR, 'a (1).txt', 'a.txt', 'archive.tar.gz', 'photos'], 'nothing created');
      assert.equal(await dir.place('a.txt', [{ rest: [], part: await part(dir, 'a.txt', 'new') }]), predicted.get('a.txt'), 'place agrees');
    });

    it('an earlier name of the same offer takes its prediction from a later one', async () => {
      await mkdir(downloads, { recursive: true });
      await writeFile(join(downloads, 'a.txt'), 'original');
      assert.deepEqual(await predictNames(downloads, ['a.txt', 'a (1).txt']), new Map([['a.txt', 'a (1).txt'], ['a (1).txt', 'a (1) (1).txt']]));
    });
  });

  describe('tidy', () => {
    it('removes an empty partial folder', async () => {
      const dir = await DownloadDir.open(downloads);
      await dir.tidy();
      assert.equal(await exists(join(downloads, PARTIAL_DIR)), false);
      assert.ok((await stat(downloads)).isDirectory(), 'the download directory itself stays');
      await dir.tidy(); // already gone: no error
    });

    it('leaves a partial folder that still holds partial files', async () => {
      const dir = await DownloadDir.open(downloads);
      const p = await part(dir, 'a', 'half');
      await dir.tidy();
      assert.equal(await readFile(p, 'utf8'), 'half');
    });

    it('does not remove anything else in the download directory', async () => {
      const dir = await DownloadDir.open(downloads);
      await writeFile(join(downloads, 'a.txt'), 'a');
      await dir.tidy();
      assert.deepEqual(await readdir(downloads), ['a.txt']);
    });
  });
});

describe('writeError', () => {
  function errno(code: string): NodeJS.ErrnoException {
    return Object.assign(new Error(`${code}: something`), { code });
  }

  it('turns file-system errors into one ERR_FILE_WRITE line, keeping the cause', () => {
    const cases: Array<[string, RegExp]> = [
      ['ENOSPC', /^cannot write \/x\/y: disk full$/],
      ['EDQUOT', /: disk full$/],
      ['EACCES', /: permission denied$/],
      ['EPERM', /: permission denied$/],
      ['EROFS', /: read-only file system$/],
      ['ELOOP', /: refusing to follow a symlink$/],
      ['EIO', /: input\/output error \(a failing disk or device\)$/],
      ['EWEIRD', /: EWEIRD: something$/],
    ];
    for (const [code, message] of cases) {
      const cause = errno(code);
      const err = writeError(cause, '/x/y');
      assert.equal(err.code, 'ERR_FILE_WRITE', code);
      assert.match(err.message, message, code);
      assert.equal(err.cause, cause);
    }
    assert.match(writeError('weird', '/p').message, /^cannot write \/p: weird$/);
  });

  it('passes a coded error through unchanged', () => {
    const original = chatError('ERR_FILE_CANCELLED', 'stopped');
    assert.equal(writeError(original, '/x'), original);
  });
});
