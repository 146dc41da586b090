// A `p2p-chat` command as a user runs it (relay, listen, send), in its own process with --json:
// every stdout line is parsed as it comes (an unread pipe would block the CLI's writes) and can be
// awaited, with the time it arrived; an exit or a spawn failure fails every wait, naming the
// command and the end of its stderr. Started with the exit report preloaded, a process also says
// on exit what it used (see exit-report.ts).

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { CLI, hasExited, spawnNode, stopChild } from './children.js';
import { withTimeout } from './deadline.js';
import { EXIT_REPORT_MODULE, parseExitReport, type ExitReport } from './exit-report.js';

export interface CliEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** An event with performance.now() at the moment its line was read. */
export interface TimedEvent {
  readonly event: CliEvent;
  readonly at: number;
}

interface Waiter {
  readonly match: (event: CliEvent) => boolean;
  readonly resolve: (timed: TimedEvent) => void;
  readonly reject: (error: Error) => void;
}

export class CliProcess {
  readonly label: string;
  /** performance.now() just before the spawn. */
  readonly startedAt: number;
  readonly events: TimedEvent[] = [];
  /** Resolves with the exit status and performance.now() at the exit; never rejects. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null; readonly at: number }>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter>();
  #stderr = '';
  #exitReport: ExitReport | undefined;
  #failure: Error | undefined;

  private constructor(child: ChildProcess, label: string, startedAt: number) {
    this.#child = child;
    this.label = label;
    this.startedAt = startedAt;
    createInterface({ input: child.stdout! }).on('line', (line) => this.#onLine(line, performance.now()));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const report = parseExitReport(line);
      if (report) this.#exitReport = report;
      else this.#stderr = (this.#stderr + line + '\n').slice(-2_000);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const at = performance.now();
        // The pipes may still hold the last lines (events, the exit report): read them to the end first.
        const ended = [child.stdout!, child.stderr!].map((pipe) => (pipe.closed ? undefined : once(pipe, 'close').catch(() => undefined)));
        void Promise.all(ended).then(() => {
          this.#fail(new Error(`${label} exited (${signal ?? `status ${code}`})${this.#whatWentWrong()}`));
          resolve({ code, signal, at });
        });
      });
      child.once('error', (err) => {
        this.#fail(new Error(`${label} could not be started: ${err.message}`));
        resolve({ code: null, signal: null, at: performance.now() });
      });
    });
  }

  /**
   * `p2p-chat ARGS...`; `report`: preload the exit report (peak RSS and CPU time at exit); `cli`:
   * another checkout's bin/p2p-chat.js instead of this one's (ab-transfer.ts).
   */
  static start(label: string, args: readonly string[], options: { report?: boolean; cli?: string } = {}): CliProcess {
    const startedAt = performance.now();
    const execArgv = options.report ? ['--import', EXIT_REPORT_MODULE] : [];
    const child = spawnNode(options.cli ?? CLI, args, { execArgv, stdio: ['ignore', 'pipe', 'pipe'] });
    return new CliProcess(child, label, startedAt);
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw this.#failure ?? new Error(`${this.label} has no pid`);
    return this.#child.pid;
  }

  /** What the process reported about itself on exit, once it has exited (with the report preloaded). */
  get exitReport(): ExitReport | undefined {
    return this.#exitReport;
  }

  /** The first event (already read, or still to come) of `type` that `match` accepts, within `ms`. */
  waitFor(type: string, ms: number, match: (event: CliEvent) => boolean = () => true): Promise<TimedEvent> {
    const fits = (event: CliEvent) => event.type === type && match(event);
    const seen = this.events.find((timed) => fits(timed.event));
    if (seen) return Promise.resolve(seen);
    const arrival = new Promise<TimedEvent>((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      this.#waiters.add({ match: fits, resolve, reject });
    });
    return withTimeout(arrival, ms, `${this.label}: a ${type} event`).catch((err: Error) => {
      throw new Error(`${err.message}${this.#whatWentWrong()}`);
    });
  }

  /** The exit, within `ms`; the exit status must be 0. */
  async succeeded(ms: number): Promise<number> {
    const { code, signal, at } = await withTimeout(this.exited, ms, `${this.label} exiting`);
    if (code !== 0) throw new Error(`${this.label} exited (${signal ?? `status ${code}`})${this.#whatWentWrong()}`);
    return at;
  }

  /** SIGTERM (the CLI's own graceful stop), then SIGKILL if it lingers; resolves once it is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!hasExited(this.#child)) await stopChild(this.#child, 'SIGTERM', graceMs);
    await this.exited;
  }

  #onLine(line: string, at: number): void {
    let event: CliEvent;
    try {
      event = JSON.parse(line) as CliEvent;
    } catch {
      return; // not an event line
    }
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') return;
    const timed = { event, at };
    this.events.push(timed);
    for (const waiter of [...this.#waiters]) {
      if (!waiter.match(event)) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(timed);
    }
  }

  /** What the process said went wrong: its last error event (--json puts errors on stdout), and its stderr. */
  #whatWentWrong(): string {
    const error = [...this.events].reverse().find((timed) => timed.event.type === 'error')?.event;
    const text = [error ? `${String(error.code)}: ${String(error.message)}` : '', this.#stderr.trim()].filter(Boolean).join('; ');
    return text ? `: ${text}` : '';
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters) waiter.reject(this.#failure);
    this.#waiters.clear();
  }
}
