// The three ways a chat talks to its user: an interactive prompt (TTY), plain pipes (message text
// on stdout, status on stderr) and --json (one NDJSON event per line on stdout).

import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { sanitizeText } from '../session/sanitize.js';
import { formatMessage, formatNotice } from './event-format.js';
import { TerminalUi, type TerminalUiHandlers } from './terminal-ui.js';

export interface Frontend {
  show(event: AppEvent): void;
  /** A line for the local user only (command output, help). */
  info(text: string): void;
  setPrompt(name: string): void;
  close(): void;
}

export function promptFor(name: string): string {
  return `${pc.bold(name)}> `;
}

export class InteractiveFrontend implements Frontend {
  readonly #ui: TerminalUi;

  constructor(name: string, handlers: TerminalUiHandlers) {
    this.#ui = new TerminalUi(process.stdin, process.stdout, promptFor(name), handlers);
  }

  show(event: AppEvent): void {
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

/** Pipes: stdout carries exactly the received message texts, one per line; the rest goes to stderr. */
export class PipeFrontend implements Frontend {
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
  show(event: AppEvent): void {
    process.stdout.write(JSON.stringify(event) + '\n');
  }

  info(text: string): void {
    process.stderr.write(text + '\n');
  }

  setPrompt(): void {}

  close(): void {}
}
