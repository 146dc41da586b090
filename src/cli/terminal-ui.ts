// The interactive prompt. Incoming lines are printed above the prompt without clobbering what
// the user is typing: we move to the start of the prompt (which may span several wrapped rows),
// clear downwards, print, then let readline redraw the prompt with the half-typed line intact.
// Status rows (transfer progress bars) sit between the printed lines and the prompt and are
// redrawn the same way; each must fit in one terminal row.

import { createInterface, cursorTo, moveCursor, clearScreenDown, type Interface } from 'node:readline';

export interface TerminalUiHandlers {
  line(text: string): void;
  interrupt(): void;
  end(): void;
}

export class TerminalUi {
  readonly #rl: Interface;
  readonly #output: NodeJS.WriteStream;
  #closed = false;
  #status: readonly string[] = [];
  /** Status rows currently on screen above the prompt. */
  #statusDrawn = 0;

  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: string, handlers: TerminalUiHandlers) {
    this.#output = output;
    this.#rl = createInterface({ input, output, prompt, terminal: true, historySize: 200 });
    this.#rl.on('line', (line) => {
      handlers.line(line);
      if (!this.#closed) this.#rl.prompt();
    });
    this.#rl.on('SIGINT', () => handlers.interrupt());
    this.#rl.on('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      handlers.end();
    });
    this.#rl.prompt();
  }

  setPrompt(prompt: string): void {
    this.#rl.setPrompt(prompt);
    this.#redraw(() => undefined);
  }

  /** Replace the status rows above the prompt (none: `[]`). */
  setStatus(rows: readonly string[]): void {
    if (this.#closed) return;
    this.#status = rows;
    this.#redraw(() => undefined);
  }

  /** Columns of the terminal, for fitting status rows. */
  get columns(): number {
    return this.#output.columns || 80;
  }

  print(text: string): void {
    this.#redraw(() => this.#output.write(text + '\n'));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Leave the cursor on a fresh line below the prompt.
    this.#redraw(() => undefined, false);
    this.#rl.close();
  }

  #redraw(write: () => void, reprompt = true): void {
    if (this.#closed && reprompt) {
      write();
      return;
    }
    const { rows } = this.#rl.getCursorPos();
    moveCursor(this.#output, 0, -(rows + this.#statusDrawn));
    cursorTo(this.#output, 0);
    clearScreenDown(this.#output);
    write();
    this.#statusDrawn = 0;
    if (reprompt) {
      for (const row of this.#status) this.#output.write(row + '\n');
      this.#statusDrawn = this.#status.length;
    }
    // readline's redraw first moves up by the cursor row it last drew (`prevRows`, not in its
    // typings). We are already on a fresh row below the printed text, so without this reset a
    // wrapped prompt would be drawn that many rows too high, over the lines just printed.
    (this.#rl as Interface & { prevRows?: number }).prevRows = 0;
    if (reprompt) this.#rl.prompt(true);
  }
}
