// Child processes the benchmarks start (relays, socat, memory hosts, peer swarms). Each is tracked
// by its pid until it exits, so a benchmark that fails never leaves one behind: stopChild() asks
// with a signal, then kills, and whatever is still tracked when this process exits is killed.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './deadline.js';

/** The repository root, from dist/bench/ where this file runs. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI entry point, as a user runs it. */
export const CLI = join(REPO_ROOT, 'bin', 'p2p-chat.js');

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  // A child that cannot be spawned reports through 'error'; callers see it as an early exit.
  child.once('error', () => live.delete(child));
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Send `signal`, wait up to `graceMs` for the exit, then SIGKILL. Never throws. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = once(child, 'exit').catch(() => undefined);
  child.kill(signal);
  try {
    await withTimeout(exited, graceMs, `process ${child.pid} exiting`);
  } catch {
    child.kill('SIGKILL');
    await withTimeout(exited, 2_000, `process ${child.pid} exiting after SIGKILL`).catch(() => undefined);
  }
}

/** Exit status of the `sh` wrapper that could not raise the open-file limit. */
export const ULIMIT_FAILED_STATUS = 97;

export interface NodeChildOptions {
  readonly execArgv?: readonly string[];
  readonly stdio: StdioOptions;
  /**
   * Open files the child needs. When this process's soft limit is lower, the child is started
   * through `sh -c 'ulimit -n N && exec node ...'`: allowed up to the hard limit (beyond it only
   * with CAP_SYS_RESOURCE); otherwise the child exits with ULIMIT_FAILED_STATUS.
   */
  readonly openFiles?: number;
}

/** Start `node [execArgv] script args` as a tracked child; its pid is node's own, even through sh. */
export function spawnNode(script: string, args: readonly string[], options: NodeChildOptions): ChildProcess {
  const argv = [...(options.execArgv ?? []), script, ...args];
  const soft = openFileLimits().soft;
  if (options.openFiles !== undefined && soft < options.openFiles) {
    const raise = `ulimit -n ${options.openFiles} || exit ${ULIMIT_FAILED_STATUS}; exec "$0" "$@"`;
    return track(spawn('sh', ['-c', raise, process.execPath, ...argv], { stdio: options.stdio }));
  }
  return track(spawn(process.execPath, argv, { stdio: options.stdio }));
}

/** This process's open-file limits (Infinity when unlimited), from /proc/self/limits. */
export function openFileLimits(): { soft: number; hard: number } {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line?.slice('Max open files'.length).trim().split(/\s+/) ?? [];
    const parse = (t: string | undefined) => (t === 'unlimited' ? Number.POSITIVE_INFINITY : Number(t));
    const limits = { soft: parse(soft), hard: parse(hard) };
    if (!Number.isNaN(limits.soft) && !Number.isNaN(limits.hard)) return limits;
  } catch {
    // not Linux: assume the common default
  }
  return { soft: 1024, hard: 1024 };
}

/** Resident set size of `pid` in KiB (VmRSS from /proc/<pid>/status). */
export function vmRssKiB(pid: number): number {
  return procStatusKiB(pid, 'VmRSS');
}

/**
 * A memory figure of `pid` in KiB from /proc/<pid>/status: VmRSS (resident now), VmHWM (its peak) or
 * RssAnon (the resident part that is the process's own: not the node binary's pages, which every
 * node process shares, nor files').
 */
export function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** CPU time `pid` has used so far in user space and in the kernel, in ms, from /proc/<pid>/stat. */
export function cpuTimeMs(pid: number): { user: number; system: number } {
  const fields = procStatFields(pid);
  return { user: ticksToMs(fields[11]), system: ticksToMs(fields[12]) }; // utime, stime: fields 14 and 15
}

/** /proc/<pid>/stat's fields from the third (state) on, so index i is field i + 3. */
function procStatFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function ticksToMs(ticks: string | undefined): number {
  return (Number(ticks) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time, in ms, of this process's children that have exited and been reaped so far (cutime and
 * cstime of /proc/self/stat): the only way to read an exited child's CPU time from Node.
 */
export function reapedChildrenCpuTimeMs(): { user: number; system: number } {
  const fields = procStatFields('self');
  return { user: ticksToMs(fields[13]), system: ticksToMs(fields[14]) }; // cutime, cstime: fields 16 and 17
}
