// The interactive prompt. Incoming lines are printed above the prompt without clobbering what
// the user is typing: we move to the start of the prompt (which may span several wrapped rows),
// clear downwards, print, then let readline redraw the prompt with the half-typed line intact.
// Status rows (transfer progress bars) sit between the printed lines and the prompt and are
// redrawn the same way; each must fit in one terminal row. A line just entered can be replaced by
// its formatted form (our own chat line, with its time, as everyone else's read). It also owns the
// terminal's other channels: Tab completion, the bell, the window title, and focus reports.

import { createInterface, cursorTo, moveCursor, clearScreenDown, type Interface } from 'node:readline';
import { sanitizeText } from '../session/sanitize.js';
import type { PresenceEvent } from './mentions.js';
import { readlineAnswer, type Completion } from './tab-completion.js';

export interface TerminalUiHandlers {
  line(text: string): void;
  interrupt(): void;
  end(): void;
  /** A key was pressed, or the terminal reported its window gaining or losing focus. */
  presence?(event: PresenceEvent): void;
}

export interface TerminalUiOptions {
  /** What Tab does with the text before the cursor. */
  readonly complete?: (line: string) => Promise<Completion>;
}

/** xterm focus reporting (also tmux with `focus-events on`): CSI I and CSI O arrive as keys. */
const FOCUS_REPORTS_ON = '\x1b[?1004h';
const FOCUS_REPORTS_OFF = '\x1b[?1004l';
const FOCUS_IN = '\x1b[I';
const FOCUS_OUT = '\x1b[O';
/** xterm's title stack (XTWINOPS 22 and 23): the user's own title is kept and given back on exit. */
const TITLE_PUSH = '\x1b[22;0t';
const TITLE_POP = '\x1b[23;0t';
const BEL = '\x07';
/** Ctrl-Z stops the process (readline sends it SIGTSTP; not on Windows). */
const CTRL_Z_SUSPENDS = process.platform !== 'win32';
/** Completion choices a second Tab lists at most. */
const MAX_CHOICES = 60;

export class TerminalUi {
  readonly #rl: Interface;
  readonly #input: NodeJS.ReadStream;
  readonly #output: NodeJS.WriteStream;
  readonly #handlers: TerminalUiHandlers;
  readonly #complete: TerminalUiOptions['complete'];
  /** Title, bell and focus reports only when the output is a terminal (not `listen > file`). */
  readonly #decorate: boolean;
  #closed = false;
  #title: string | undefined;
  #restored = false;
  /** Tab presses in a row, counting this one: the second lists the choices. */
  #tabs = 0;
  #status: readonly string[] = [];
  /** Status rows currently on screen above the prompt. */
  #statusDrawn = 0;
  /** Rows of the line just entered, still right above the cursor while its handler runs (else 0). */
  #entered = 0;

  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: string, handlers: TerminalUiHandlers, options: TerminalUiOptions = {}) {
    this.#input = input;
    this.#output = output;
    this.#handlers = handlers;
    this.#complete = options.complete;
    this.#decorate = output.isTTY === true;
    const completer = this.#complete ? { completer: this.#completer } : {};
    this.#rl = createInterface({ input, output, prompt, terminal: true, historySize: 200, ...completer });
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
    this.#rl.on('SIGCONT', this.#resumed);
    this.#rl.on('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      handlers.end();
    });
    if (this.#decorate) {
      output.write(FOCUS_REPORTS_ON);
      // A crash must not leave the shell receiving focus reports or showing our title.
      process.on('exit', this.#restoreTerminal);
    }
    this.#rl.prompt();
  }

  readonly #beforeKey = (_text: string | undefined, key: { name?: string; sequence?: string; ctrl?: boolean } | undefined): void => {
    // Focus reports are no keys: readline ignores them, and so does the Tab count.
    if (key?.sequence === FOCUS_IN || key?.sequence === FOCUS_OUT) {
      this.#handlers.presence?.(key.sequence === FOCUS_IN ? 'focus-in' : 'focus-out');
      return;
    }
    // Ctrl-Z: readline stops the process next; the shell must not receive our focus reports.
    // Our title goes with us too, and comes back with `fg`.
    if (key?.ctrl && key.name === 'z' && CTRL_Z_SUSPENDS && this.#decorate) {
      this.#output.write(FOCUS_REPORTS_OFF + (this.#title !== undefined ? TITLE_POP : ''));
    }
    this.#tabs = key?.name === 'tab' ? this.#tabs + 1 : 0;
    this.#handlers.presence?.('typed');
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

  /**
   * readline's completer. readline itself would list several choices below the line, under any
   * status rows; instead a second Tab prints them above the prompt like any other line.
   */
  readonly #completer = (line: string, done: (err: null, result: [string[], string]) => void): void => {
    this.#complete!(line).then(
      (completion) => {
        const answer = readlineAnswer(completion);
        if (answer[0].length === 0 && completion.choices.length > 1 && this.#tabs > 1) this.#listChoices(completion.choices);
        done(null, answer);
      },
      () => done(null, [[], line]),
    );
  };

  #listChoices(choices: readonly string[]): void {
    const more = choices.length > MAX_CHOICES ? `  (and ${choices.length - MAX_CHOICES} more)` : '';
    this.print(choices.slice(0, MAX_CHOICES).map(sanitizeText).join('  ') + more);
  }

  /** Ring the terminal bell. */
  bell(): void {
    if (this.#decorate && !this.#closed) this.#output.write(BEL);
  }

  /** Set the window title (sanitised here: a title is an escape sequence). */
  setTitle(title: string): void {
    if (!this.#decorate || this.#closed || title === this.#title) return;
    if (this.#title === undefined) this.#output.write(TITLE_PUSH);
    this.#title = title;
    this.#output.write(`\x1b]2;${sanitizeText(title)}${BEL}`);
  }

  /**
   * Back from Ctrl-Z (`fg`). readline leaves its input paused for this listener to resume. The
   * shell has written below our screen, so the status rows and the prompt are drawn afresh there.
   */
  readonly #resumed = (): void => {
    if (this.#decorate) {
      const title = this.#title !== undefined ? `${TITLE_PUSH}\x1b]2;${sanitizeText(this.#title)}${BEL}` : '';
      this.#output.write(FOCUS_REPORTS_ON + title);
    }
    this.#statusDrawn = 0;
    this.#drawPrompt(this.#status);
  };

  readonly #restoreTerminal = (): void => {
    if (!this.#decorate || this.#restored) return;
    this.#restored = true;
    this.#output.write(FOCUS_REPORTS_OFF + (this.#title !== undefined ? TITLE_POP : ''));
  };

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
    this.#restoreTerminal();
    process.off('exit', this.#restoreTerminal);
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
    if (reprompt) this.#drawPrompt(status);
    else this.#forgetPromptRows();
  }

  /** Status rows and the prompt, from the cursor's row (a fresh one) down. */
  #drawPrompt(status: readonly string[]): void {
    for (const row of status) this.#output.write(row + '\n');
    this.#statusDrawn = status.length;
    this.#forgetPromptRows();
    this.#rl.prompt(true);
  }

  /**
   * readline's redraw first moves up by the cursor row it last drew (`prevRows`, not in its
   * typings). We are already on a fresh row below the printed text, so without this reset a
   * wrapped prompt would be drawn that many rows too high, over the lines just printed.
   */
  #forgetPromptRows(): void {
    (this.#rl as Interface & { prevRows?: number }).prevRows = 0;
  }
}
