// Loaded into a benchmarked CLI process with `node --import`: on exit, one line on stderr with its
// peak RSS and CPU time (exit-report.ts). Written synchronously: nothing asynchronous runs after 'exit'.

import { readFileSync, writeSync } from 'node:fs';
import { EXIT_REPORT_MARKER, type ExitReport } from './exit-report.js';

process.once('exit', () => {
  try {
    const hwm = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    const cpu = process.cpuUsage();
    const report: ExitReport = { vmHwmKiB: Number(hwm?.[1] ?? NaN), userMs: cpu.user / 1000, systemMs: cpu.system / 1000 };
    writeSync(2, `${EXIT_REPORT_MARKER}${JSON.stringify(report)}\n`);
  } catch {
    // stderr closed, or no /proc: the benchmark falls back to its own samples
  }
});
