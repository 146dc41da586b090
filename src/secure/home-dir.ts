// Where a peer keeps its identity key and known peers: --home, else $P2P_CHAT_HOME, else the XDG
// config dir. Only file-system plumbing lives here; what the files mean lives in their modules.

import { linkSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errnoCode } from '../errno-words.js';
import { P2PChatError } from '../errors.js';

export function resolveHomeDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.P2P_CHAT_HOME) return env.P2P_CHAT_HOME;
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'p2p-chat');
}

export function ensureHomeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw P2PChatError.from(err, 'ERR_HOME_UNUSABLE', `cannot create home directory ${dir}`);
  }
}

/** Write through a temporary file and rename, so a crash never leaves a half-written file. */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, path);
  } catch (err) {
    throw P2PChatError.from(err, 'ERR_HOME_UNUSABLE', `cannot write ${path}`);
  }
}

/**
 * Create `path` with complete contents, only if it does not exist yet. Returns false when another
 * process created it first (its file stands).
 */
export function publishFileExclusive(path: string, data: string, mode: number): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw P2PChatError.from(err, 'ERR_HOME_UNUSABLE', `cannot write ${path}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}
