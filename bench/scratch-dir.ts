// Where the file-transfer benchmarks put their big files: a fresh directory in tmpfs (/dev/shm)
// when it has room, so that what is measured is the transfer and not the disk; else the system's
// temporary directory, which the result then names. The source files are made here: random
// bytes written out (not sparse, so reading them costs what reading a real file costs), or a
// sparse file whose reads are free. Everything is removed by remove().

import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync, ftruncateSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TMPFS = '/dev/shm';
/** statfs f_type of tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
/** Random bytes are made and written this much at a time. */
const FILL_BYTES = 16 * 1024 * 1024;

export class ScratchDir {
  readonly path: string;
  /** True when the directory is in tmpfs (memory), false when on whatever tmpdir() is. */
  readonly inMemory: boolean;

  private constructor(path: string, inMemory: boolean) {
    this.path = path;
    this.inMemory = inMemory;
  }

  /** A new directory with room for `bytes`, in tmpfs if it has that much free. */
  static create(label: string, bytes: number): ScratchDir {
    if (freeBytes(TMPFS, TMPFS_MAGIC) >= bytes) return new ScratchDir(mkdtempSync(join(TMPFS, `p2p-chat-bench-${label}-`)), true);
    return new ScratchDir(mkdtempSync(join(tmpdir(), `p2p-chat-bench-${label}-`)), false);
  }

  /** Where the result says the files were: `tmpfs (/dev/shm)` or the directory's parent. */
  describe(): string {
    return this.inMemory ? `tmpfs (${TMPFS})` : `${tmpdir()} (not tmpfs: /dev/shm missing or too small)`;
  }

  /** A new directory inside this one. */
  subdir(name: string): string {
    return mkdtempSync(join(this.path, `${name}-`));
  }

  /** `size` random bytes, written out in full. */
  randomFile(name: string, size: number): string {
    const path = join(this.path, name);
    const fd = openSync(path, 'w');
    try {
      const block = Buffer.allocUnsafe(Math.min(FILL_BYTES, size));
      for (let written = 0; written < size; ) {
        const n = Math.min(block.length, size - written);
        randomFillSync(block, 0, n);
        written += writeSync(fd, block, 0, n);
      }
    } finally {
      closeSync(fd);
    }
    return path;
  }

  /** A file of `size` bytes with nothing allocated: it reads as zeros, at no cost to memory or disk. */
  sparseFile(name: string, size: number): string {
    const path = join(this.path, name);
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, size);
    } finally {
      closeSync(fd);
    }
    return path;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Bytes free to us on `dir` if it is a file system of type `magic`, else 0. */
function freeBytes(dir: string, magic: number): number {
  try {
    const fs = statfsSync(dir);
    return fs.type === magic ? fs.bavail * fs.bsize : 0;
  } catch {
    return 0;
  }
}
