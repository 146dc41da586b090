// The words on a command line that cac would only call "Unused args" or "Unknown option": a
// mistyped command or option gets ERR_USAGE with the word it was most likely meant as, and an
// option of another command says which commands take it.

import type { CAC, Command } from 'cac';
import { chatError, type P2PChatError } from '../errors.js';
import { suggest } from './suggest.js';

/** The default command's name, which cac knows only as an optional first argument. */
const DEFAULT_COMMAND = 'listen';

/**
 * After `cli.parse(argv, { run: false })`: throws ERR_USAGE for an unknown command or an option the
 * matched command does not take. The command is checked first: an unknown one makes every option
 * after it look foreign.
 */
export function checkWords(cli: CAC, argv: readonly string[]): void {
  const command = cli.matchedCommand;
  if (!command) return;
  const first = cli.args[0];
  if (command.name === '' && first !== undefined && first !== DEFAULT_COMMAND) throw unknownCommand(String(first), cli);
  const unknown = Object.keys(cli.options).find((key) => key !== '--' && !command.hasOption(key) && !cli.globalCommand.hasOption(key));
  if (unknown !== undefined) throw unknownOption(unknown, command, cli, argv);
}

export function commandName(command: Command): string {
  return command.name === '' ? DEFAULT_COMMAND : command.name;
}

function unknownCommand(word: string, cli: CAC): P2PChatError {
  const names = cli.commands.map(commandName);
  const meant = suggest(word, names);
  if (meant !== undefined) return chatError('ERR_USAGE', `unknown command '${word}' — did you mean '${meant}'?`);
  return chatError('ERR_USAGE', `unknown command '${word}' (commands: ${names.join(', ')}); see p2p-chat --help`);
}

function unknownOption(key: string, command: Command, cli: CAC, argv: readonly string[]): P2PChatError {
  const typed = typedAs(key, argv);
  const name = commandName(command);
  const takers = cli.commands.filter((other) => other.hasOption(key)).map(commandName);
  if (takers.length > 0) {
    return chatError('ERR_USAGE', `option '${typed}' does not apply to '${name}' (it is for ${takers.join(', ')}); see p2p-chat ${name} --help`);
  }
  const known = [...command.options, ...cli.globalCommand.options].flatMap((option) => longNames(option.rawName));
  const meant = suggest(typed, known);
  if (meant !== undefined) return chatError('ERR_USAGE', `unknown option '${typed}' — did you mean '${meant}'?`);
  return chatError('ERR_USAGE', `unknown option '${typed}' for '${name}'; see p2p-chat ${name} --help`);
}

/** "-h, --help" → ["--help"]; "--home <dir>" → ["--home"]. */
function longNames(rawName: string): string[] {
  return rawName.split(',').map((part) => part.trim().split(/[\s<[]/, 1)[0]!).filter((name) => name.startsWith('--'));
}

/** The option as the user wrote it (cac hands back camelCase keys without dashes or "no-"). */
function typedAs(key: string, argv: readonly string[]): string {
  const end = argv.indexOf('--');
  for (const token of end === -1 ? argv : argv.slice(0, end)) {
    if (!token.startsWith('-')) continue;
    const name = token.replace(/^-+/, '').split('=', 1)[0]!;
    if (camelcase(name) === key || (name.startsWith('no-') && camelcase(name.slice(3)) === key)) return token.split('=', 1)[0]!;
  }
  return key.length === 1 ? `-${key}` : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** cac's own spelling of an option key ("download-dir" → "downloadDir"). */
function camelcase(name: string): string {
  return name.replaceAll(/([a-z])-([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase());
}
