// What a typed line means in the interactive chat: a message, or a slash command. Pure.
// "//text" sends "/text" literally.

export type InputCommand =
  | { kind: 'say'; text: string }
  | { kind: 'me'; text: string }
  | { kind: 'quit'; reason: string }
  | { kind: 'nick'; name: string }
  | { kind: 'who' }
  | { kind: 'peers' }
  | { kind: 'connect'; target: string }
  | { kind: 'send'; paths: string[] }
  | { kind: 'accept'; id?: string }
  | { kind: 'decline'; id?: string }
  | { kind: 'cancel'; id?: string }
  | { kind: 'transfers'; id?: string }
  | { kind: 'help' }
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string };

export const COMMAND_HELP: readonly (readonly [string, string])[] = Object.freeze([
  ['/help', 'show this help'],
  ['/who', 'list everyone in the conversation: nickname, fingerprint, how reached'],
  ['/peers', 'list peers seen on the LAN (mDNS)'],
  ['/connect PEER', 'dial a LAN peer by nickname or fingerprint prefix, or an address'],
  ['/send PATH...', 'offer files or directories to the peers (quote paths with spaces)'],
  ['/accept [ID]', 'accept a file offer (the only one, or by its id)'],
  ['/decline [ID]', 'decline a file offer'],
  ['/cancel [ID]', 'stop a transfer; offering the same files again resumes it'],
  ['/transfers [ID]', 'list offers and transfers in progress; with an id, every file of one'],
  ['/me ACTION', 'send an action, shown as "* you ACTION"'],
  ['/nick NAME', 'change your nickname (peers are told)'],
  ['/quit [REASON]', 'leave; peers see the reason (also Ctrl-C, Ctrl-D)'],
  ['//text', 'send a message that starts with "/"'],
]);

export function parseInput(line: string): InputCommand {
  if (line.trim() === '') return { kind: 'empty' };
  if (line.startsWith('//')) return { kind: 'say', text: line.slice(1) };
  if (!line.startsWith('/')) return { kind: 'say', text: line };
  const match = /^\/(\S+)\s*(.*)$/s.exec(line);
  // "/" alone or "/ text": no command name to look up.
  if (match === null) return { kind: 'invalid', message: 'type a command after "/" (see /help), or //text to send "/text"' };
  const name = match[1]!.toLowerCase();
  const rest = match[2]!.trim();
  switch (name) {
    case 'quit':
    case 'exit':
      return { kind: 'quit', reason: rest };
    case 'nick':
      return rest ? { kind: 'nick', name: rest } : { kind: 'invalid', message: 'usage: /nick NAME' };
    case 'me':
      return rest ? { kind: 'me', text: rest } : { kind: 'invalid', message: 'usage: /me ACTION' };
    case 'who':
      return { kind: 'who' };
    case 'peers':
      return { kind: 'peers' };
    case 'connect':
      return rest ? { kind: 'connect', target: rest } : { kind: 'invalid', message: 'usage: /connect NAME|FINGERPRINT|HOST[:PORT]' };
    case 'send': {
      const paths = splitArguments(rest);
      if (paths === undefined) return { kind: 'invalid', message: 'unbalanced quote in /send' };
      return paths.length > 0 ? { kind: 'send', paths } : { kind: 'invalid', message: 'usage: /send PATH... (quote paths with spaces)' };
    }
    case 'accept':
    case 'decline':
    case 'cancel':
    case 'transfers':
      if (/\s/.test(rest)) return { kind: 'invalid', message: `usage: /${name} [ID]` };
      return rest ? { kind: name, id: rest } : { kind: name };
    case 'help':
    case '?':
      return { kind: 'help' };
    default:
      return { kind: 'invalid', message: `unknown command /${name}; type /help (or //text to send it as a message)` };
  }
}

/**
 * Split a command's arguments as a shell would for plain words: whitespace separates, "double"
 * and 'single' quotes keep spaces, a backslash escapes the next character (outside single quotes).
 * Undefined for an unbalanced quote.
 */
export function splitArguments(text: string): string[] | undefined {
  const scan = scanArguments(text);
  return scan.quote ? undefined : scan.args.map((arg) => arg.value);
}

/** Arguments as splitArguments reads them, with where each starts in the text. */
export interface ArgumentScan {
  readonly args: readonly { readonly start: number; readonly value: string }[];
  /** The last argument runs to the end of the text (no whitespace after it). */
  readonly open: boolean;
  /** The quote still open at the end of the text. */
  readonly quote?: '"' | "'";
}

/** splitArguments' reading of `text`, kept for a half-typed line (Tab completes its last argument). */
export function scanArguments(text: string): ArgumentScan {
  const args: { start: number; value: string }[] = [];
  let current = '';
  let start = -1;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (start >= 0) args.push({ start, value: current });
      current = '';
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\' && i + 1 < text.length) current += text[++i];
    else current += ch;
  }
  if (start >= 0) args.push({ start, value: current });
  return { args, open: start >= 0, ...(quote ? { quote } : {}) };
}
