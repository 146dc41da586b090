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
  | { kind: 'help' }
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string };

export const COMMAND_HELP: readonly (readonly [string, string])[] = Object.freeze([
  ['/help', 'show this help'],
  ['/who', 'list connected peers: nickname, fingerprint, address, path'],
  ['/peers', 'list peers seen on the LAN (mDNS)'],
  ['/connect PEER', 'dial a LAN peer by nickname or fingerprint prefix, or an address'],
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
    case 'help':
    case '?':
      return { kind: 'help' };
    default:
      return { kind: 'invalid', message: `unknown command /${name}; type /help (or //text to send it as a message)` };
  }
}
