// What `/send` and `p2p-chat send` offer: the paths given, each a file or a whole directory,
// expanded into regular files with the relative names the peer will see (a directory keeps its
// own name as the first component). Symlinks and special files inside a directory are skipped,
// so a send never leaks what lies outside the tree or loops.

import { constants } from 'node:fs';
import { access, lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { chatError, P2PChatError } from '../../errors.js';
import { MAX_OFFER_FILES, type OfferedFile } from '../../session/file-messages.js';
import { validateOffer } from '../../session/file-names.js';

export interface LocalFile extends OfferedFile {
  readonly absolutePath: string;
}

export interface FileList {
  readonly files: readonly LocalFile[];
  /** Symlinks and special files found inside directories and left out... */
  readonly skipped: number;
  /** ...under these of the paths given (as given), so the user can be told where. */
  readonly skippedUnder: readonly string[];
}

export async function listFiles(paths: readonly string[]): Promise<FileList> {
  if (paths.length === 0) throw chatError('ERR_USAGE', 'name at least one file or directory to send');
  const files: LocalFile[] = [];
  const state = { skipped: 0 };
  const skippedUnder: string[] = [];
  for (const path of paths) {
    const absolute = resolve(path);
    const info = await stat(absolute).catch((err: unknown) => {
      throw unreadable(path, err);
    });
    const name = basename(absolute);
    if (info.isFile()) {
      files.push(await readable(absolute, name, info.size, path));
    } else if (info.isDirectory()) {
      const before = state.skipped;
      await walk(absolute, name, files, state);
      if (state.skipped > before) skippedUnder.push(path);
    } else {
      throw chatError('ERR_FILE_UNREADABLE', `cannot send ${path}: not a regular file or directory`);
    }
    if (files.length > MAX_OFFER_FILES) {
      throw chatError('ERR_FILE_UNREADABLE', `cannot send more than ${MAX_OFFER_FILES} files in one offer; send an archive instead`);
    }
  }
  if (files.length === 0) throw chatError('ERR_FILE_UNREADABLE', `nothing to send: ${paths.join(', ')} holds no regular files`);
  try {
    validateOffer(files); // names the peer would refuse, or two top-level entries of the same name
  } catch (err) {
    throw chatError('ERR_FILE_UNREADABLE', `cannot send: ${(err as Error).message.replace(/^refused the offered name/, 'the name')}`);
  }
  return { files, skipped: state.skipped, skippedUnder };
}

async function walk(dir: string, relative: string, out: LocalFile[], state: { skipped: number }): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw unreadable(dir, err);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (out.length > MAX_OFFER_FILES) return;
    const path = join(dir, entry.name);
    const rel = `${relative}/${entry.name}`;
    if (entry.isDirectory()) await walk(path, rel, out, state);
    else if (entry.isFile()) out.push(await readable(path, rel, (await lstat(path)).size, path));
    else state.skipped++;
  }
}

async function readable(absolutePath: string, path: string, size: number, shown: string): Promise<LocalFile> {
  await access(absolutePath, constants.R_OK).catch((err: unknown) => {
    throw unreadable(shown, err);
  });
  return { absolutePath, path, size };
}

/** Why a file cannot be sent, as the one line both sides see. */
export function unreadable(path: string, err: unknown): P2PChatError {
  return P2PChatError.from(err, 'ERR_FILE_UNREADABLE', `cannot send ${path}`);
}
