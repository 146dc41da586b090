// Where received files land, and how nothing outside that directory is ever written or
// overwritten. Data first goes to `<dir>/.p2p-chat-partial/<key>.part` (key: sender, path, size),
// which a later offer of the same file resumes. A finished file or directory is then moved to a
// name created exclusively in the download directory (`name (1).ext` when taken), so neither an
// existing file nor a symlink planted there is followed or replaced.

import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../errno-words.js';
import { chatError, P2PChatError } from '../../errors.js';
import { numberedName } from '../../session/file-names.js';

/** The hidden folder in the download directory that holds partly received files. */
export const PARTIAL_DIR = '.p2p-chat-partial';
/** How many `name (n)` alternatives are tried before giving up. */
const MAX_NUMBERED = 1000;

export interface ResumableData {
  readonly have: number;
  /** The SHA-256 of those bytes so far, to be continued with what follows. */
  readonly hash: Hash;
}

export class DownloadDir {
  readonly path: string;
  readonly #partial: string;

  protected constructor(path: string) {
    this.path = path;
    this.#partial = join(path, PARTIAL_DIR);
  }

  /**
   * Create the directory (and its partial folder) if needed. The directory itself may be a
   * symlink the user chose (say to another disk); the partial folder inside it may not. Called on
   * a subclass (a test's, that holds moves), it makes one of those.
   */
  static async open(path: string): Promise<DownloadDir> {
    const dir = new this(path);
    try {
      await mkdir(path, { recursive: true });
      await dir.#ensurePartialDir();
    } catch (err) {
      throw writeError(err, path);
    }
    return dir;
  }

  /**
   * The partial folder exists and is a real directory, never a symlink: made if missing (at the
   * first transfer, or after another transfer's tidy() removed it), checked every time.
   */
  async #ensurePartialDir(): Promise<void> {
    const info = await lstat(this.#partial).catch(async (err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await mkdir(this.#partial, { mode: 0o700 }).catch((e: unknown) => {
        if (errnoCode(e) !== 'EEXIST') throw e;
      });
      return lstat(this.#partial);
    });
    if (!info.isDirectory()) throw chatError('ERR_FILE_WRITE', `${this.#partial} is not a directory (a symlink?); refusing to write through it`);
  }

  /** The partial file for one offered file from one sender. */
  partPath(senderFingerprint: string, path: string, size: number): string {
    const key = createHash('sha256').update(`${senderFingerprint}\n${path}\n${size}`).digest('hex').slice(0, 32);
    return join(this.#partial, `${key}.part`);
  }

  /** The partial files in the folder, by path: one readdir tells which offered files may resume. */
  async partsPresent(): Promise<ReadonlySet<string>> {
    const entries = await readdir(this.#partial, { withFileTypes: true }).catch(() => []);
    return new Set(entries.filter((e) => e.isFile()).map((e) => join(this.#partial, e.name)));
  }

  /** What an earlier, interrupted transfer left of this file: its length and hash, if usable. */
  async resumable(partPath: string, size: number): Promise<ResumableData | undefined> {
    const info = await lstat(partPath).catch(() => undefined);
    if (!info?.isFile() || info.size === 0 || info.size > size) return undefined;
    const hash = createHash('sha256');
    const stream = createReadStream(partPath, { highWaterMark: 1024 * 1024, flags: (constants.O_RDONLY | constants.O_NOFOLLOW) as unknown as string });
    let have = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        have += chunk.length;
      }
    } catch {
      return undefined;
    }
    return have === info.size ? { have, hash } : undefined;
  }

  /**
   * Open a partial file for writing at `offset`, never through a symlink: from scratch at 0, else
   * cut to `offset` (nothing past the resume point stays). Its mode is the usual 0666 less the
   * umask, which the finished file keeps; the partial folder (0700) keeps unfinished data private.
   */
  async openPart(partPath: string, offset: number): Promise<FileHandle> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (offset === 0 ? constants.O_TRUNC : 0);
    try {
      // O_NOFOLLOW guards only the file's own name: the folder is looked at again before each
      // file (one lstat), so one swapped for a symlink mid-transfer is refused, not written through.
      await this.#ensurePartialDir();
      const handle = await open(partPath, flags, 0o666);
      if (offset > 0) {
        await handle.truncate(offset).catch(async (err: unknown) => {
          await handle.close().catch(() => undefined);
          throw err;
        });
      }
      return handle;
    } catch (err) {
      throw writeError(err, partPath);
    }
  }

  /**
   * Move finished files into the download directory under a new top-level name: `top` is the
   * first component of every file's path; `files` maps each remaining path (components after
   * `top`, empty for a single file) to its partial file. Returns the name used.
   */
  async place(top: string, files: readonly { readonly rest: readonly string[]; readonly part: string }[]): Promise<string> {
    try {
      const single = files.length === 1 && files[0]!.rest.length === 0;
      if (single) {
        const name = await this.#reserve(top, async (path) => (await open(path, 'wx', 0o600)).close());
        await rename(files[0]!.part, join(this.path, name)).catch(async (err: unknown) => {
          await unlink(join(this.path, name)).catch(() => undefined); // give the reserved name back
          throw err;
        });
        return name;
      }
      const name = await this.#reserve(top, (path) => mkdir(path));
      try {
        const made = new Set<string>();
        for (const file of files) {
          const target = join(this.path, name, ...file.rest);
          const parent = join(target, '..');
          if (!made.has(parent)) await mkdir(parent, { recursive: true });
          made.add(parent);
          await rename(file.part, target);
        }
      } catch (err) {
        await this.#putBack(name, files);
        throw err;
      }
      return name;
    } catch (err) {
      throw writeError(err, this.path);
    }
  }

  /** After a failed directory placement: files already moved go back to partial, the directory goes. */
  async #putBack(name: string, files: readonly { readonly rest: readonly string[]; readonly part: string }[]): Promise<void> {
    for (const file of files) await rename(join(this.path, name, ...file.rest), file.part).catch(() => undefined);
    await rm(join(this.path, name), { recursive: true, force: true }).catch(() => undefined);
  }

  /** Remove the partial folder if nothing is left in it (after a successful transfer). */
  async tidy(): Promise<void> {
    await rmdir(this.#partial).catch(() => undefined);
  }

  /** Create `name`, or `name (1)`, `name (2)`... with `create`, which must fail with EEXIST if taken. */
  async #reserve(name: string, create: (path: string) => Promise<unknown>): Promise<string> {
    for (const candidate of candidateNames(name)) {
      try {
        await create(join(this.path, candidate));
        return candidate;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
    }
    throw chatError('ERR_FILE_WRITE', `${name} and ${MAX_NUMBERED} numbered alternatives already exist in ${this.path}`);
  }
}

/** `name`, then `name (1)`, `name (2)`... : the names `place` tries, in order. */
function* candidateNames(name: string): Generator<string> {
  yield name;
  for (let n = 1; n < MAX_NUMBERED; n++) yield numberedName(name, n);
}

/**
 * The names `place` would give each top-level name of an offer in `dir` if it were placed now, in
 * order, without creating anything: the offer says so before it is accepted. A name counts as
 * taken if something is there (a file, a directory, a symlink) or an earlier name of the same
 * offer would take it. A prediction, not a reservation: what is placed meanwhile can change it.
 * Names whose place cannot be told (the directory unreadable) are left out.
 */
export async function predictNames(dir: string, tops: readonly string[]): Promise<Map<string, string>> {
  /** Whether something is at `name`; undefined when that cannot be told. */
  const present = (name: string) => lstat(join(dir, name)).then(() => true, (err: unknown) => (errnoCode(err) === 'ENOENT' ? false : undefined));
  const claimed = new Set<string>();
  const firstFree = async (top: string) => {
    for (const candidate of candidateNames(top)) {
      if (claimed.has(candidate)) continue;
      const taken = await present(candidate);
      if (taken !== true) return taken === false ? candidate : undefined;
    }
    return undefined;
  };
  // Most names are free: one look at each, all at once; only the taken ones are looked at in turn.
  const free = await Promise.all(tops.map(async (top) => (await present(top)) === false));
  const names = new Map<string, string>();
  for (const [i, top] of tops.entries()) {
    const name = free[i] && !claimed.has(top) ? top : await firstFree(top);
    if (name === undefined) continue;
    names.set(top, name);
    claimed.add(name);
  }
  return names;
}

/** A file-system error as the one line both sides see. */
export function writeError(err: unknown, path: string): P2PChatError {
  return P2PChatError.from(err, 'ERR_FILE_WRITE', `cannot write ${path}`);
}
