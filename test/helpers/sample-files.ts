// Files for transfer tests: a multi-MiB file and a directory with nested and empty files, written
// under a temporary root, and the check that a download directory holds exactly them.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** What a test sends: `file` and `album` are the paths to give `send`. */
export interface SampleFiles {
  readonly file: string;
  readonly album: string;
  /** Relative path as the receiver should save it → content, in the order they are offered. */
  readonly contents: ReadonlyMap<string, Buffer>;
  readonly total: number;
}

/** Write `big.bin` (4 MiB + 3 bytes) and `album/` (three files, one empty, two levels deep) under `root`. */
export function writeSampleFiles(root: string): SampleFiles {
  const contents = new Map<string, Buffer>([
    ['big.bin', randomBytes(4 * 1024 * 1024 + 3)],
    ['album/cover.jpg', randomBytes(1000)],
    ['album/day 1/a.jpg', randomBytes(70_000)],
    ['album/day 1/raw/empty.raw', Buffer.alloc(0)],
  ]);
  for (const [path, bytes] of contents) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
  const total = [...contents.values()].reduce((sum, b) => sum + b.length, 0);
  return { file: join(root, 'big.bin'), album: join(root, 'album'), contents, total };
}

/** Every regular file under `dir`, as sorted relative paths. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The download directory holds exactly the sent files, byte for byte, and no partial folder. */
export function assertReceived(downloads: string, sent: SampleFiles): void {
  assert.deepEqual(filesUnder(downloads), [...sent.contents.keys()].sort());
  for (const [path, bytes] of sent.contents) {
    assert.ok(readFileSync(join(downloads, path)).equals(bytes), `${path} is byte-identical`);
  }
  assert.equal(existsSync(join(downloads, '.p2p-chat-partial')), false, 'the partial folder is tidied away');
}
