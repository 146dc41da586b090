// The three ways a chat talks to its user: an interactive prompt (TTY), plain pipes (message text
// on stdout, status on stderr) and --json (one NDJSON event per line on stdout).

import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { DEFAULTS } from '../defaults.js';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';
import { topNames } from '../app/files/transfer.js';
import { formatMessage, formatNotice, shortId } from './event-format.js';
import { ProgressBars } from './progress-bars.js';
import { TerminalUi, type TerminalUiHandlers } from './terminal-ui.js';
import { completeInput, readDirectory } from './tab-completion.js';

export interface Frontend {
  show(event: AppEvent): void;
  /** A line for the local user only (command output, help). */
  info(text: string): void;
  setPrompt(name: string): void;
  close(): void;
  /**
   * Least time between two file-progress events this front end wants per transfer. The node
   * reports progress at this rate (ChatNode's fileProgressIntervalMs), the only throttle.
   */
  readonly progressIntervalMs: number;
}

/** How often a pipe shows a transfer's progress line, and --json its file-progress event (README states both). */
export const PIPE_PROGRESS_INTERVAL_MS = 5_000;
export const JSON_PROGRESS_INTERVAL_MS = 1_000;

export function promptFor(name: string): string {
  return `${pc.bold(name)}> `;
}

/** What the prompt needs from the conversation, beyond the events it is shown. */
export interface InteractiveOptions {
  /** Nicknames of the people in the conversation: Tab completes them. */
  roster(): readonly string[];
  /** Nicknames seen on the LAN: Tab completes them after /connect. */
  lanNames(): readonly string[];
}

export class InteractiveFrontend implements Frontend {
  readonly progressIntervalMs = DEFAULTS.fileProgressIntervalMs;
  readonly #ui: TerminalUi;
  readonly #bars = new ProgressBars();
  readonly #labels = new TransferLabels(true);

  constructor(name: string, handlers: TerminalUiHandlers, options: InteractiveOptions) {
    const complete = (line: string) =>
      completeInput(line, {
        nicknames: () => options.roster().map(sanitizeName),
        lanNames: () => options.lanNames().map(sanitizeName),
        listDirectory: readDirectory,
      });
    this.#ui = new TerminalUi(process.stdin, process.stdout, promptFor(name), handlers, { complete });
  }

  show(event: AppEvent): void {
    this.#labels.note(event);
    if (event.type === 'file-progress') {
      // A live bar instead of a line; finished transfers print their line and lose their bar.
      this.#bars.update(event, this.#labels.label(event.id));
      this.#ui.setStatus(this.#bars.rows(this.#ui.columns));
      return;
    }
    if ((event.type === 'file-done' || event.type === 'file-error') && this.#bars.remove(event.id)) {
      this.#ui.setStatus(this.#bars.rows(this.#ui.columns));
    }
    const line = formatMessage(event) ?? formatNotice(event);
    if (line !== null) this.#ui.print(line);
  }

  info(text: string): void {
    this.#ui.print(text);
  }

  setPrompt(name: string): void {
    this.#ui.setPrompt(promptFor(name));
  }

  close(): void {
    this.#ui.close();
  }
}

/**
 * Pipes: stdout carries exactly the received message texts, one per line; the rest goes to
 * stderr, transfer progress as a plain line every few seconds.
 */
export class PipeFrontend implements Frontend {
  readonly progressIntervalMs = PIPE_PROGRESS_INTERVAL_MS;

  show(event: AppEvent): void {
    if (event.type === 'message') {
      process.stdout.write(sanitizeText(event.text) + '\n');
      return;
    }
    const line = formatNotice(event);
    if (line !== null) process.stderr.write(line + '\n');
  }

  info(text: string): void {
    process.stderr.write(text + '\n');
  }

  setPrompt(): void {}

  close(): void {}
}

export class JsonFrontend implements Frontend {
  readonly progressIntervalMs = JSON_PROGRESS_INTERVAL_MS;

  show(event: AppEvent): void {
    process.stdout.write(JSON.stringify(event) + '\n');
  }

  info(text: string): void {
    process.stderr.write(text + '\n');
  }

  setPrompt(): void {}

  close(): void {}
}

/**
 * What each transfer's bar is called: its files, and with `withPeer` the peer (`a.txt → desk`),
 * learned from its offer.
 */
export class TransferLabels {
  readonly #labels = new Map<string, string>();
  readonly #withPeer: boolean;

  constructor(withPeer = false) {
    this.#withPeer = withPeer;
  }

  note(event: AppEvent): void {
    if (event.type === 'file-offer') {
      const arrow = event.direction === 'send' ? '→' : '←';
      const names = topNames(event.files).join(', ');
      this.#labels.set(event.id, this.#withPeer ? `${names} ${arrow} ${event.peer}` : names);
    }
    if (event.type === 'file-done' || event.type === 'file-error') this.#labels.delete(event.id);
  }

  label(id: string): string {
    return this.#labels.get(id) ?? shortId(id);
  }
}
