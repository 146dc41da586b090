// The three ways a chat talks to its user: an interactive prompt (TTY), plain pipes (message text
// on stdout, status on stderr) and --json (one NDJSON event per line on stdout).

import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { SYSTEM_CLOCK, type Clock } from '../clock.js';
import { DEFAULTS } from '../defaults.js';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';
import { topNames } from '../app/files/transfer.js';
import { formatMessage, shortId } from './event-format.js';
import { fillMessageTemplate, type MessageTemplate } from './message-template.js';
import { NoticeLines } from './notice-lines.js';
import { ProgressBars } from './progress-bars.js';
import { TerminalUi, type TerminalUiHandlers } from './terminal-ui.js';
import { Attention, highlight, mentions, windowTitle } from './mentions.js';
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
  /** Ring the terminal bell when a message mentions you (false: --no-bell). */
  readonly bell: boolean;
  /** Nicknames of the people in the conversation: Tab completes them, the window title lists them. */
  roster(): readonly string[];
  /** Nicknames seen on the LAN: Tab completes them after /connect. */
  lanNames(): readonly string[];
}

/** Events after which the window title's list of people may read differently. */
const ROSTER_EVENTS: ReadonlySet<AppEvent['type']> = new Set(['connected', 'joined', 'left', 'lost', 'renamed']);

export class InteractiveFrontend implements Frontend {
  readonly progressIntervalMs = DEFAULTS.fileProgressIntervalMs;
  readonly #ui: TerminalUi;
  readonly #bars = new ProgressBars();
  readonly #labels = new TransferLabels(true);
  readonly #notices = new NoticeLines();
  readonly #options: InteractiveOptions;
  readonly #attention = new Attention();
  /** Our nickname, for our own chat lines and as mentions are matched against it. */
  #name: string;

  constructor(name: string, handlers: TerminalUiHandlers, options: InteractiveOptions) {
    this.#name = name;
    this.#options = options;
    // Retitled only when the count changes: not on every key (the title lists the room).
    const presence: TerminalUiHandlers['presence'] = (event) => {
      const unread = this.#attention.unread;
      this.#attention.note(event);
      if (this.#attention.unread !== unread) this.#showTitle();
    };
    const complete = (line: string) =>
      completeInput(line, {
        nicknames: () => options.roster().map(sanitizeName),
        lanNames: () => options.lanNames().map(sanitizeName),
        listDirectory: readDirectory,
      });
    this.#ui = new TerminalUi(process.stdin, process.stdout, promptFor(name), { ...handlers, presence }, { complete });
    // Nobody yet (and the conversation that knows who is built after its front end).
    this.#ui.setTitle(windowTitle(name, [], 0));
  }

  show(event: AppEvent): void {
    this.#labels.note(event);
    if (event.type === 'nick') this.setPrompt(event.name);
    if (event.type === 'sent') {
      // In place of the line as typed after the prompt: our lines read like everyone else's.
      this.#ui.replaceEntered(formatMessage(event, this.#name)!);
      return;
    }
    // Title and bell first: once the line is on screen, they are done too.
    const mentioned = this.#attend(event);
    if (event.type === 'file-progress') {
      // A live bar instead of a line; finished transfers print their line and lose their bar.
      this.#bars.update(event, this.#labels.label(event.id));
      this.#ui.setStatus(this.#bars.rows(this.#ui.columns));
      return;
    }
    if ((event.type === 'file-done' || event.type === 'file-error') && this.#bars.remove(event.id)) {
      this.#ui.setStatus(this.#bars.rows(this.#ui.columns));
    }
    const line = formatMessage(event, this.#name) ?? this.#notices.line(event);
    if (line !== null) this.#ui.print(mentioned ? highlight(line) : line);
  }

  /** Count an unread message, ring for a mention, retitle; true when `event` mentions us. */
  #attend(event: AppEvent): boolean {
    if (event.type === 'message') {
      const mentioned = mentions(event.text, this.#name);
      const unread = this.#attention.unread;
      if (this.#attention.message(mentioned) && this.#options.bell) this.#ui.bell();
      if (this.#attention.unread !== unread) this.#showTitle();
      return mentioned;
    }
    if (ROSTER_EVENTS.has(event.type)) this.#showTitle();
    return false;
  }

  #showTitle(): void {
    this.#ui.setTitle(windowTitle(this.#name, this.#options.roster(), this.#attention.unread));
  }

  info(text: string): void {
    this.#ui.print(text);
  }

  setPrompt(name: string): void {
    this.#name = name;
    this.#ui.setPrompt(promptFor(name));
    this.#showTitle();
  }

  close(): void {
    this.#ui.close();
  }
}

/**
 * Pipes: stdout carries exactly the received messages, one per line (their text alone, or as
 * --format's template says); the rest goes to stderr, transfer progress as a plain line every few
 * seconds.
 */
export class PipeFrontend implements Frontend {
  readonly progressIntervalMs = PIPE_PROGRESS_INTERVAL_MS;
  readonly #notices: NoticeLines;
  readonly #template: MessageTemplate | undefined;

  constructor(template?: MessageTemplate, clock: Clock = SYSTEM_CLOCK) {
    this.#template = template;
    this.#notices = new NoticeLines(clock);
  }

  show(event: AppEvent): void {
    if (event.type === 'message') {
      const line = this.#template ? fillMessageTemplate(this.#template, event, event.receivedAt) : sanitizeText(event.text);
      process.stdout.write(line + '\n');
      return;
    }
    const line = this.#notices.line(event);
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
