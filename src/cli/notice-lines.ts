// The status lines the terminal and pipe front ends print, as formatNotice words them, less the
// repetition: a relay that keeps failing the same way is one line, then at most one "still
// retrying" line a minute (each relay of a list counted apart, as passes over the list try them
// in turn), where --json reports every try as its own event.

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
  /** Per relay, the failure last shown: what it was, how many tries since, and when a line was printed. */
  readonly #failing = new Map<string, { key: string; tries: number; shownAt: number }>();

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
      this.#failing.clear();
      return formatNotice(event, now);
    }
    const key = `${event.state} ${event.code} ${event.message} ${event.next ?? ''}`;
    const failing = this.#failing.get(event.relay);
    if (failing?.key !== key) {
      this.#failing.set(event.relay, { key, tries: 1, shownAt: now });
      return formatNotice(event, now);
    }
    failing.tries++;
    if (now - failing.shownAt < STILL_RETRYING_EVERY_MS) return null;
    failing.shownAt = now;
    const then = event.next !== undefined ? `then relay ${event.next}` : `next in ${Math.ceil(event.retryInMs / 1000)} s`;
    return `${pc.dim(clock(now))} ` + notice(
      pc.yellow(`relay ${event.relay}: still retrying after ${failing.tries} tries (${sanitizeText(event.message)}); ${then}`),
    );
  }
}
