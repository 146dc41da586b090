// The status lines the terminal and pipe front ends print, as formatNotice words them, less the
// repetition: a relay that keeps failing the same way is one line, then at most one "still
// retrying" line a minute, where --json reports every try as its own event.

import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { SYSTEM_CLOCK, type Clock } from '../clock.js';
import { sanitizeText } from '../session/sanitize.js';
import { clock, formatNotice, notice } from './event-format.js';

/** Least time between two "still retrying" lines about the same relay failure. */
export const STILL_RETRYING_EVERY_MS = 60_000;

type RelayEvent = Extract<AppEvent, { type: 'relay' }>;

export class NoticeLines {
  readonly #clock: Clock;
  /** The relay failure last shown: what it was, how many tries since, and when a line was printed. */
  #failing: { key: string; tries: number; shownAt: number } | undefined;

  constructor(clock: Clock = SYSTEM_CLOCK) {
    this.#clock = clock;
  }

  /** The line for `event`, or null when there is nothing (new) to say. */
  line(event: AppEvent): string | null {
    return event.type === 'relay' ? this.#relay(event) : formatNotice(event, this.#clock.now());
  }

  #relay(event: RelayEvent): string | null {
    const now = this.#clock.now();
    if (event.state === 'registered') {
      this.#failing = undefined;
      return formatNotice(event, now);
    }
    const key = `${event.state} ${event.code} ${event.message}`;
    const failing = this.#failing;
    if (failing?.key !== key) {
      this.#failing = { key, tries: 1, shownAt: now };
      return formatNotice(event, now);
    }
    failing.tries++;
    if (now - failing.shownAt < STILL_RETRYING_EVERY_MS) return null;
    failing.shownAt = now;
    const next = Math.ceil(event.retryInMs / 1000);
    return `${pc.dim(clock(now))} ` + notice(
      pc.yellow(`relay ${event.relay}: still retrying after ${failing.tries} tries (${sanitizeText(event.message)}); next in ${next} s`),
    );
  }
}
