// The process's soft limit on open files, read once when the relay starts: every connection is a
// file descriptor, and a relay that runs out cannot even accept a connection to say it is full.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Assumed when the limit cannot be read: the common Linux default, so we err on the safe side. */
export const FALLBACK_FD_LIMIT = 1024;

export function softFdLimit(): number {
  return fromProc() ?? fromShell() ?? FALLBACK_FD_LIMIT;
}

/** Linux: "Max open files  <soft>  <hard>  files" in /proc/self/limits, no process spawned. */
function fromProc(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    return parseLimit(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
}

/** Elsewhere (macOS, BSD): the shell's `ulimit -n`, which reports the soft limit. */
function fromShell(): number | undefined {
  try {
    const result = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2_000 });
    return result.status === 0 ? parseLimit(result.stdout.trim()) : undefined;
  } catch {
    return undefined;
  }
}

export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
