// What a benchmarked CLI process says about itself as it exits: its peak resident set (VmHWM,
// read from /proc/self/status at the last moment, when /proc/PID of an exited child is gone) and
// the CPU time it used. exit-report-preload.ts writes it, as one marked line on stderr; the
// benchmark loads that module into the child with `node --import`.

export interface ExitReport {
  readonly vmHwmKiB: number;
  readonly userMs: number;
  readonly systemMs: number;
}

/** Starts the stderr line, so it can never be taken for the CLI's own output. */
export const EXIT_REPORT_MARKER = 'p2p-chat-bench-exit-report ';

/** The preload, compiled (it sits next to this file in dist/bench), as `node --import` takes it. */
export const EXIT_REPORT_MODULE = new URL('./exit-report-preload.js', import.meta.url).href;

export function parseExitReport(line: string): ExitReport | undefined {
  if (!line.startsWith(EXIT_REPORT_MARKER)) return undefined;
  try {
    return JSON.parse(line.slice(EXIT_REPORT_MARKER.length)) as ExitReport;
  } catch {
    return undefined;
  }
}
