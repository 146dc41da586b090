// The interactive prompt. Incoming lines are printed above the prompt without clobbering what
// the user is typing: we move to the start of the prompt (which may span several wrapped rows),
// clear downwards, print, then let readline redraw the prompt with the half-typed line intact.
// Status rows (transfer progress bars) sit between the printed lines and the prompt and are
// redrawn the same way; each must fit in one terminal row. A line just entered can be replaced by
// its formatted form (our own chat line, with its time, as everyone else's read).

import { createInterface, cursorTo, moveCursor, clearScreenDown, type Interface } from 'node:readline';

export interface TerminalUiHandlers {
  line(text: string): void;
  interrupt(): void;
  end(): void;
}

export class TerminalUi {
  readonly #rl: Interface;
  readonly #input: NodeJS.ReadStream;
  readonly #output: NodeJS.WriteStream;
  #closed = false;
  #status: readonly string[] = [];
  /** Status rows currently on screen above the prompt. */
  #statusDrawn = 0;
  /** Rows of the line just entered, still right above the cursor while its handler runs (else 0). */
  #entered = 0;

  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: string, handlers: TerminalUiHandlers) {
    this.#input = input;
    this.#output = output;
    this.#rl = createInterface({ input, output, prompt, terminal: true, historySize: 200 });
    // readline ends a line by leaving it on screen and moving below it. With status rows above the
    // prompt, the next redraw would then start at the entered line, erase it and leave a stale copy
    // of the rows above. So just before readline takes the Enter, the rows come off the screen (the
    // prompt moves up in their place), and they are drawn again below the entered line.
    input.prependListener('keypress', this.#beforeKey);
    this.#rl.on('line', (line) => {
      handlers.line(line);
      this.#entered = 0;
      if (!this.#closed) this.#redraw(() => undefined);
    });
    this.#rl.on('SIGINT', () => handlers.interrupt());
    this.#rl.on('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      handlers.end();
    });
    this.#rl.prompt();
  }

  readonly #beforeKey = (_text: string, key: { name?: string } | undefined): void => {
    if (key?.name !== 'return' && key?.name !== 'enter') return;
    if (this.#statusDrawn > 0) this.#redraw(() => undefined, true, []);
    this.#entered = this.#enteredRows();
  };

  /**
   * How many rows readline leaves the entered line on: the prompt and the whole line (not only up
   * to the cursor), wrapped at the terminal's width; readline then moves to the row below.
   */
  #enteredRows(): number {
    const rl = this.#rl as Interface & { _getDisplayPos?: (text: string) => { rows: number } };
    const end = rl._getDisplayPos?.(rl.getPrompt() + rl.line) ?? rl.getCursorPos();
    return end.rows + 1;
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
    this.#entered = 0; // no longer right above the cursor
  }

  /** Print `text` in place of the line just entered (while its handler runs); else as print(). */
  replaceEntered(text: string): void {
    const rows = this.#entered;
    this.#entered = 0;
    if (rows === 0 || this.#closed) return this.print(text);
    moveCursor(this.#output, 0, -rows);
    this.print(text);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Leave the cursor on a fresh line below the prompt.
    this.#redraw(() => undefined, false);
    this.#input.off('keypress', this.#beforeKey);
    this.#rl.close();
  }

  #redraw(write: () => void, reprompt = true, status: readonly string[] = this.#status): void {
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
      for (const row of status) this.#output.write(row + '\n');
      this.#statusDrawn = status.length;
    }
    // readline's redraw first moves up by the cursor row it last drew (`prevRows`, not in its
    // typings). We are already on a fresh row below the printed text, so without this reset a
    // wrapped prompt would be drawn that many rows too high, over the lines just printed.
    (this.#rl as Interface & { prevRows?: number }).prevRows = 0;
    if (reprompt) this.#rl.prompt(true);
  }
}
