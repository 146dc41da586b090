// The help a user reads first: every command's --help exits 0 and lists exactly the options that
// command takes (a peer's --name, --no-mdns and --relay only where a peer runs), none of them with
// cac's implied "(default: true)", which read as if `--no-mdns` were on unless asked otherwise.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENER_OPTIONS } from '../../src/cli/listener-options.js';
import { RELAY_OPTIONS } from '../../src/cli/relay-command.js';
import { runCommand } from '../helpers/run-command.js';
import { CLI_PATH } from '../helpers/repo-root.js';

/** Every command has a home and speaks JSON; -h is everywhere, -v only on the top level. */
const GLOBAL = ['--home', '--json', '--help'];
const PEER = ['--name', '--no-mdns', '--relay', '--no-color'];
const FILES = ['--accept-files', '--download-dir'];
const DIAL = ['--expect', '--direct-only', '--relay-only'];
const flags = (options: readonly { flag: string }[]) => options.map((o) => o.flag.split(' ')[0]!);
const LISTEN = [...PEER, '--port', '--host', ...FILES, ...flags(LISTENER_OPTIONS), '--version'];

const APPLY: ReadonlyArray<[command: string[], options: string[]]> = [
  [[], LISTEN],
  [['listen'], LISTEN],
  [['connect'], [...PEER, ...DIAL, ...FILES, '--handshake-timeout-ms']],
  [['send'], [...PEER, ...DIAL]],
  [['discover'], ['--no-color', '--timeout', '--watch']],
  [['relay'], flags(RELAY_OPTIONS)],
  [['id'], ['--no-color']],
];

/** The long option names on the help's option lines. */
function optionsShown(help: string): string[] {
  const section = help.split(/^Options:$/m)[1]!.split(/^\S/m)[0]!;
  return section.split('\n').flatMap((line) => /^\s+(?:-\w, )?(--[\w-]+)/.exec(line)?.[1] ?? []);
}

describe('p2p-chat --help', () => {
  for (const [command, own] of APPLY) {
    it(`${['p2p-chat', ...command, '--help'].join(' ')} lists exactly the options that apply, none with a misleading default`, async () => {
      const help = await runCommand(process.execPath, [CLI_PATH, ...command, '--help']);
      assert.match(help, /--help\s+Display this message/);
      assert.deepEqual(optionsShown(help).sort(), [...own, ...GLOBAL].sort());
      const negated = help.split('\n').filter((line) => /^\s*--no-/.test(line));
      for (const line of negated) assert.doesNotMatch(line, /\(default: true\)/, line);
    });
  }
});
