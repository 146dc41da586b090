// Tab at the chat prompt: a slash command at the start of the line, a nickname in a message, a
// LAN nickname after /connect, a file or directory after /send. Choosing what to offer is pure
// (completeInput is given its candidates); only readDirectory touches the disk.

import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sanitizeText } from '../session/sanitize.js';
import { expandHome } from './file-commands.js';
import { COMMAND_HELP, scanArguments } from './input-commands.js';

/**
 * What Tab does: `word`, the end of the text before the cursor, becomes `replacement` (the same
 * when Tab cannot decide), and `choices` are what a second Tab lists when there are several.
 */
export interface Completion {
  readonly word: string;
  readonly replacement: string;
  readonly choices: readonly string[];
}

export interface DirectoryEntry {
  readonly name: string;
  readonly directory: boolean;
}

export interface CompletionSources {
  /** Nicknames of the people in the conversation, as shown. */
  nicknames(): readonly string[];
  /** Nicknames seen on the LAN (what /connect can dial by name). */
  lanNames(): readonly string[];
  /** A directory's entries; `dir` as typed (`''` the current one, `~/` not yet expanded). */
  listDirectory(dir: string): Promise<readonly DirectoryEntry[]>;
}

/** The slash commands, as /help lists them. */
export const COMMAND_NAMES: readonly string[] = Object.freeze(
  COMMAND_HELP.map(([usage]) => usage.split(' ')[0]!).filter((name) => /^\/\w+$/.test(name)),
);

/** What the word before the cursor is, read from the line up to the cursor. */
export type CompletionTarget =
  | { readonly kind: 'command'; readonly word: string }
  /** `suffix` follows a single match: `alice: ` at the start of a message, `alice ` inside it. */
  | { readonly kind: 'nickname'; readonly word: string; readonly suffix: string }
  | { readonly kind: 'lan-name'; readonly word: string }
  /** `word` as typed (quotes, backslashes), `value` as /send will read it, `quote` it opened with. */
  | { readonly kind: 'path'; readonly word: string; readonly value: string; readonly quote?: '"' | "'" }
  | { readonly kind: 'none' };

export function completionTarget(line: string): CompletionTarget {
  if (/^\/[^/\s]*$/.test(line)) return { kind: 'command', word: line };
  const command = line.startsWith('//') ? null : /^\/(\S+)\s+/.exec(line);
  if (command) {
    const rest = line.slice(command[0].length);
    switch (command[1]!.toLowerCase()) {
      case 'send':
        return pathTarget(rest);
      case 'connect':
        return /\s/.test(rest) ? { kind: 'none' } : { kind: 'lan-name', word: rest };
      case 'me':
      case 'quit':
      case 'exit':
        return nicknameTarget(rest, ' ');
      default:
        return { kind: 'none' };
    }
  }
  return nicknameTarget(line, ': ');
}

/** The last word of free text; `first` follows a nickname that starts the text. */
function nicknameTarget(text: string, first: string): CompletionTarget {
  const word = /\S*$/.exec(text)![0];
  if (word === '') return { kind: 'none' };
  return { kind: 'nickname', word, suffix: word.length === text.length ? first : ' ' };
}

function pathTarget(args: string): CompletionTarget {
  const scan = scanArguments(args);
  const last = scan.open ? scan.args.at(-1) : undefined;
  if (!last) return { kind: 'path', word: '', value: '' };
  const word = args.slice(last.start);
  const quote = word[0] === '"' || word[0] === "'" ? word[0] : undefined;
  return { kind: 'path', word, value: last.value, ...(quote ? { quote } : {}) };
}

/** What Tab does with `line` (the text before the cursor). */
export async function completeInput(line: string, sources: CompletionSources): Promise<Completion> {
  const target = completionTarget(line);
  switch (target.kind) {
    case 'command':
      return completeWord(target.word, COMMAND_NAMES, ' ');
    case 'nickname':
      return completeWord(target.word, sources.nicknames(), target.suffix);
    case 'lan-name':
      return completeWord(target.word, sources.lanNames(), '');
    case 'path':
      return completePath(target, await sources.listDirectory(directoryPart(target.value)));
    case 'none':
      return { word: '', replacement: '', choices: [] };
  }
}

/**
 * Candidates that start with `word`, ignoring case. A single match replaces the word as it is
 * spelt, followed by `suffix`; several extend the word as typed by what they all continue with.
 */
export function completeWord(word: string, candidates: readonly string[], suffix: string): Completion {
  const lower = word.toLowerCase();
  const hits = [...new Set(candidates)].filter((c) => c.toLowerCase().startsWith(lower));
  hits.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()) || a.localeCompare(b));
  return choose(word, word.length, hits, (hit, single) => (single ? hit + suffix : word + hit.slice(word.length)), true);
}

/**
 * Entries of the typed path's directory that start with its last part (case matters, as in a
 * shell; dot files only when the part starts with a dot). A directory gets `/` and stays open for
 * the next Tab; a file is finished with its closing quote and a space. Names with control or
 * invisible characters are never offered: they would reach the terminal as typed text.
 */
export function completePath(target: Extract<CompletionTarget, { kind: 'path' }>, entries: readonly DirectoryEntry[]): Completion {
  const dir = directoryPart(target.value);
  const base = target.value.slice(dir.length);
  const render = (hit: string, single: boolean) => quotePath(dir + hit, target.quote, single);
  if (target.value === '~') return choose(target.word, 1, ['~/'], render, false);
  const hits = entries
    .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
    .filter((e) => sanitizeText(e.name) === e.name)
    .map((e) => e.name + (e.directory ? '/' : ''))
    .sort();
  return choose(target.word, base.length, hits, render, false);
}

/** `dir/` of `dir/na`, `''` for a bare name. */
function directoryPart(value: string): string {
  return value.slice(0, value.lastIndexOf('/') + 1);
}

/**
 * A path as /send reads it back (splitArguments): bare when it can be, else in the quotes it was
 * begun with (double quotes when single ones cannot hold it). `single`: the only match, finished
 * unless it is a directory.
 */
export function quotePath(value: string, quote: '"' | "'" | undefined, single: boolean): string {
  const done = single && !value.endsWith('/');
  if (quote === undefined && !/[\s"'\\]/.test(value)) return done ? value + ' ' : value;
  const q = quote === "'" && !value.includes("'") ? "'" : '"';
  const body = q === '"' ? value.replace(/["\\]/g, '\\$&') : value;
  return q + body + (done ? q + ' ' : '');
}

/**
 * One match: it (rendered as final). Several: their longest common beginning, if longer than
 * what was typed (`typed` characters of the matched part), and the list for a second Tab.
 */
function choose(
  word: string,
  typed: number,
  hits: readonly string[],
  render: (hit: string, single: boolean) => string,
  ignoreCase: boolean,
): Completion {
  if (hits.length === 0) return { word, replacement: word, choices: [] };
  if (hits.length === 1) return { word, replacement: render(hits[0]!, true), choices: hits };
  const common = commonPrefix(hits, ignoreCase);
  return { word, replacement: common.length > typed ? render(common, false) : word, choices: hits };
}

function commonPrefix(texts: readonly string[], ignoreCase: boolean): string {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  const first = texts[0]!;
  let end = first.length;
  for (const text of texts) {
    let i = 0;
    while (i < end && i < text.length && fold(text[i]!) === fold(first[i]!)) i++;
    end = i;
  }
  return first.slice(0, end);
}

/**
 * readline's completer answer, `[completions, substring]`: the replacement alone, which readline
 * puts in place of the word, or nothing (readline's own listing is not used; see TerminalUi).
 */
export function readlineAnswer({ word, replacement }: Completion): [string[], string] {
  return replacement !== word && !word.startsWith(replacement) ? [[replacement], word] : [[], word];
}

/** A directory's entries for completePath, a symlink to a directory counted as one; [] when unreadable. */
export async function readDirectory(dir: string): Promise<DirectoryEntry[]> {
  const path = resolve(expandHome(dir === '' ? '.' : dir));
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return await Promise.all(
      entries.map(async (e) => ({
        name: e.name,
        directory: e.isDirectory() || (e.isSymbolicLink() && (await stat(join(path, e.name)).then((s) => s.isDirectory(), () => false))),
      })),
    );
  } catch {
    return [];
  }
}
