// A process's minor page faults so far, from /proc (Linux): what the heap-trim tests count.

import { readFileSync } from 'node:fs';

export function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]); // minflt, field 10
}
