// Progress bars for file transfers in the interactive terminal: one row per active transfer,
// rendered by cli-progress's formatter (bar, percentage, ETA) with our own size and speed fields,
// and cut to the terminal width so a row never wraps. The terminal UI draws the rows above the
// prompt (terminal-ui.ts), so the chat stays usable during a transfer.

import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { AppEvent } from '../app/app-events.js';
import { sanitizeText } from '../session/sanitize.js';
import { formatRate, formatSize } from './byte-format.js';

type Progress = Extract<AppEvent, { type: 'file-progress' }>;

/**
 * cli-progress (CommonJS), loaded with the first bar: a chat that never moves a file, and every
 * piped or --json run, skips its start-up time and memory.
 */
export function loadCliProgress(): typeof cliProgress {
  return (cliProgressModule ??= createRequire(import.meta.url)('cli-progress') as typeof cliProgress);
}
let cliProgressModule: typeof cliProgress | undefined;

export const BAR_SIZE = 20;
/** One bar row; `send`'s MultiBar (send-frontend.ts) uses it too. */
export const BAR_FORMAT = '{label} {bar} {percentage}% {done}/{size} {speed} ETA {eta_formatted}';
const OPTIONS: cliProgress.Options = {
  format: BAR_FORMAT,
  barsize: BAR_SIZE,
  barCompleteString: '█'.repeat(BAR_SIZE),
  barIncompleteString: '░'.repeat(BAR_SIZE),
  barGlue: '',
  autopadding: true,
  autopaddingChar: ' ',
};

export class ProgressBars {
  readonly #bars = new Map<string, { label: string; event: Progress; startTime: number }>();

  /** Start (or update) the bar of a transfer; `label` names it (e.g. `trip.tar → desk`). */
  update(event: Progress, label: string, now: number = Date.now()): void {
    const bar = this.#bars.get(event.id);
    if (bar) bar.event = event;
    else this.#bars.set(event.id, { label: sanitizeText(label), event, startTime: now });
  }

  remove(id: string): boolean {
    return this.#bars.delete(id);
  }

  /** The rows to draw, each at most `width - 1` characters. */
  rows(width: number, now: number = Date.now()): string[] {
    return [...this.#bars.values()].map(({ label, event, startTime }) => {
      const progress = event.total > 0 ? Math.min(1, event.bytes / event.total) : 1;
      const params: cliProgress.Params = {
        progress,
        eta: event.etaSeconds ?? 0,
        startTime,
        stopTime: now,
        total: event.total,
        value: event.bytes,
        maxWidth: width,
      };
      const payload = barPayload(event, shorten(label, 24));
      let row = loadCliProgress().Format.Formatter(OPTIONS, params, payload);
      if (event.etaSeconds === undefined) row = row.replace(/ ETA .*$/, '');
      return shorten(row, Math.max(10, width - 1));
    });
  }
}

/** The fields of BAR_FORMAT that cli-progress does not compute itself. */
export function barPayload(event: Pick<Progress, 'bytes' | 'total' | 'bytesPerSecond'>, label: string) {
  return { label, done: formatSize(event.bytes), size: formatSize(event.total), speed: formatRate(event.bytesPerSecond) };
}

function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
