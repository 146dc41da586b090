// Being called and being away, at the interactive prompt: whether a message names you (the line is
// highlighted and the terminal bell rings), how many messages came while you were away (counted in
// the window title), and the title's text. Pure: the front end writes what these decide.

import pc from 'picocolors';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';

/** Characters that continue a word: a nickname inside a longer word (`bobby` for `bob`) is no mention. */
const WORD_CHAR = '[\\p{L}\\p{M}\\p{N}_]';

/** The pattern for the last nickname asked about: it changes only with /nick. */
let lastPattern: { name: string; pattern: RegExp } | undefined;

/** `text` names `name` as a whole word, in any case, as the text is shown (sanitised). */
export function mentions(text: string, name: string): boolean {
  if (lastPattern?.name !== name) {
    const escaped = sanitizeName(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    lastPattern = { name, pattern: new RegExp(`(?<!${WORD_CHAR})${escaped}(?!${WORD_CHAR})`, 'iu') };
  }
  return lastPattern.pattern.test(sanitizeText(text));
}

/** A mentioning line in reverse video (nothing with --no-color or NO_COLOR). */
export function highlight(line: string): string {
  return pc.inverse(line);
}

/** Names the title lists before `and N more`. */
const TITLE_NAMES = 3;

/**
 * `p2p-chat: bob with alice, carol`, led by `(3) ` while 3 messages are unread. Every name is
 * sanitised: the title is an escape sequence, and a peer's name must not end it early.
 */
export function windowTitle(self: string, peers: readonly string[], unread: number): string {
  // Only the names shown are sanitised: a host may list a thousand members.
  const names = [...new Set(peers)];
  const more = names.length > TITLE_NAMES ? ` and ${names.length - TITLE_NAMES} more` : '';
  const shown = names.slice(0, TITLE_NAMES).map(sanitizeName);
  const company = names.length === 0 ? ' (nobody connected)' : ` with ${shown.join(', ')}${more}`;
  return `${unread > 0 ? `(${unread}) ` : ''}p2p-chat: ${sanitizeName(self)}${company}`;
}

/** What the terminal tells us about its user: a key pressed, or (xterm focus reports) the window left or entered. */
export type PresenceEvent = 'typed' | 'focus-in' | 'focus-out';

/**
 * Whether you are away, and what arrived meanwhile. Once the terminal has reported losing focus,
 * its reports are trusted: away means the window is not focused. Until then (many terminals never
 * report; tmux only with `focus-events on`), away means you have not typed since the message came.
 * The bell rings for the first mention, and not again until you have typed or come back to the
 * window, so a flood of mentions rings once.
 */
export class Attention {
  #unread = 0;
  #focusReported = false;
  #focused = true;
  #rang = false;

  get unread(): number {
    return this.#unread;
  }

  /** Someone else's message arrived; true when it should ring the bell. */
  message(mention: boolean): boolean {
    if (!this.#focusReported || !this.#focused) this.#unread++;
    if (!mention || this.#rang) return false;
    this.#rang = true;
    return true;
  }

  note(event: PresenceEvent): void {
    if (event === 'focus-out') {
      this.#focusReported = true;
      this.#focused = false;
      return;
    }
    if (event === 'focus-in') this.#focused = true;
    this.#unread = 0;
    this.#rang = false;
  }
}
