// The front end of `p2p-chat send`: no prompt, so on a terminal the transfer's progress is a
// cli-progress bar on stderr with every other line logged above it; piped, it is plain progress
// lines every few seconds. A message the peer sends meanwhile goes to stdout.

import type cliProgress from 'cli-progress';
import type { AppEvent } from '../app/app-events.js';
import { SYSTEM_CLOCK } from '../clock.js';
import { sanitizeText } from '../session/sanitize.js';
import { doneRate, formatNotice } from './event-format.js';
import { DEFAULTS } from '../defaults.js';
import { PIPE_PROGRESS_INTERVAL_MS, TransferLabels, type Frontend } from './frontends.js';
import { BAR_FORMAT, BAR_SIZE, barPayload, loadCliProgress } from './progress-bars.js';

export class SendFrontend implements Frontend {
  readonly #bars: cliProgress.MultiBar | undefined;
  readonly #bar = new Map<string, cliProgress.SingleBar>();
  readonly #labels = new TransferLabels();
  readonly progressIntervalMs: number;

  constructor(tty: boolean = process.stderr.isTTY === true) {
    this.progressIntervalMs = tty ? DEFAULTS.fileProgressIntervalMs : PIPE_PROGRESS_INTERVAL_MS;
    const cliProgressModule = tty ? loadCliProgress() : undefined;
    this.#bars = cliProgressModule
      ? new cliProgressModule.MultiBar(
          {
            stream: process.stderr,
            format: BAR_FORMAT,
            barsize: BAR_SIZE,
            hideCursor: true,
            autopadding: true,
            etaBuffer: 50,
          },
          cliProgressModule.Presets.shades_classic,
        )
      : undefined;
  }

  show(event: AppEvent): void {
    if (event.type === 'message') {
      process.stdout.write(`${sanitizeText(event.from)}: ${sanitizeText(event.text)}\n`);
      return;
    }
    if (event.type === 'file-progress' && this.#bars) {
      const payload = barPayload(event, this.#labels.label(event.id));
      const bar = this.#bar.get(event.id);
      if (bar) bar.update(event.bytes, payload);
      else this.#bar.set(event.id, this.#bars.create(event.total, event.bytes, payload));
      return;
    }
    if (event.type === 'file-done') {
      // The last progress event may be up to an interval old: the bar ends full, at the average speed.
      const payload = barPayload({ bytes: event.total, total: event.total, bytesPerSecond: doneRate(event) }, this.#labels.label(event.id));
      this.#bar.get(event.id)?.update(event.total, payload);
    }
    this.#labels.note(event); // after the bar's last update: a file-done forgets the label
    const line = formatNotice(event, SYSTEM_CLOCK.now());
    if (line !== null) this.info(line);
  }

  info(text: string): void {
    if (this.#bars && this.#bar.size > 0) this.#bars.log(text + '\n');
    else process.stderr.write(text + '\n');
  }

  setPrompt(): void {}

  close(): void {
    // Lines logged since the last redraw wait in the MultiBar's buffer, which stop() drops: draw
    // once more so the last of them (the verified line, or what went wrong) is not lost.
    if (this.#bar.size > 0) this.#bars?.update();
    this.#bars?.stop();
  }
}
