// The front end of `p2p-chat send`: no prompt, so on a terminal the transfer's progress is a
// cli-progress bar on stderr with every other line logged above it; piped, it is plain progress
// lines every few seconds. A message the peer sends meanwhile goes to stdout.

import type cliProgress from 'cli-progress';
import type { AppEvent } from '../app/app-events.js';
import { doneRate, formatMessage } from './event-format.js';
import { NoticeLines } from './notice-lines.js';
import { DEFAULTS } from '../defaults.js';
import { PIPE_PROGRESS_INTERVAL_MS, TransferLabels, type Frontend } from './frontends.js';
import { BAR_FORMAT, BAR_SIZE, barPayload, loadCliProgress } from './progress-bars.js';

export class SendFrontend implements Frontend {
  /** Progress as bars (on a terminal), else as lines. */
  readonly #tty: boolean;
  /** The bars being drawn: made with the first bar, stopped (drawn for good) when the last ends. */
  #bars: cliProgress.MultiBar | undefined;
  readonly #bar = new Map<string, cliProgress.SingleBar>();
  readonly #labels = new TransferLabels();
  readonly #notices = new NoticeLines();
  readonly progressIntervalMs: number;

  constructor(tty: boolean = process.stderr.isTTY === true) {
    this.progressIntervalMs = tty ? DEFAULTS.fileProgressIntervalMs : PIPE_PROGRESS_INTERVAL_MS;
    this.#tty = tty;
  }

  show(event: AppEvent): void {
    if (event.type === 'message') {
      // In the one form every message line has (a peer's message needs no name of ours).
      process.stdout.write(`${formatMessage(event, '')}\n`);
      return;
    }
    if (event.type === 'file-progress' && this.#tty) {
      const payload = barPayload(event, this.#labels.label(event.id));
      const bar = this.#bar.get(event.id);
      if (bar) bar.update(event.bytes, payload);
      else this.#bar.set(event.id, this.#multiBar().create(event.total, event.bytes, payload));
      return;
    }
    if (event.type === 'file-done' || event.type === 'file-error') this.#endBar(event);
    this.#labels.note(event); // after the bar's last update: a file-done forgets the label
    const line = this.#notices.line(event);
    if (line !== null) this.info(line);
  }

  info(text: string): void {
    if (this.#bars) this.#bars.log(text + '\n');
    else process.stderr.write(text + '\n');
  }

  setPrompt(): void {}

  close(): void {
    this.#stopBars();
  }

  #multiBar(): cliProgress.MultiBar {
    const module = loadCliProgress();
    return (this.#bars ??= new module.MultiBar(
      { stream: process.stderr, format: BAR_FORMAT, barsize: BAR_SIZE, hideCursor: true, autopadding: true, etaBuffer: 50 },
      module.Presets.shades_classic,
    ));
  }

  /**
   * A transfer ended: its bar is drawn one last time (full, at the average speed, when it is done),
   * before the line that says how it ended. The last bar stops the drawing, so that line and
   * anything after it come below the bar, never above a redraw of it.
   */
  #endBar(event: Extract<AppEvent, { type: 'file-done' | 'file-error' }>): void {
    const bar = this.#bar.get(event.id);
    if (!bar) return;
    if (event.type === 'file-done') {
      // The last progress event may be up to an interval old.
      bar.update(event.total, barPayload({ bytes: event.total, total: event.total, bytesPerSecond: doneRate(event) }, this.#labels.label(event.id)));
    }
    this.#bar.delete(event.id);
    if (this.#bar.size === 0) this.#stopBars();
    else this.#bars?.remove(bar);
  }

  /** Draw the bars and the lines logged since the last redraw (which stop() alone would drop), and stop. */
  #stopBars(): void {
    this.#bars?.update();
    this.#bars?.stop();
    this.#bars = undefined;
    this.#bar.clear();
  }
}
