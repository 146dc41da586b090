// The help a user reads first: every command's --help exits 0, and a negated flag does not carry
// cac's implied "(default: true)", which read as if `--no-mdns` were on unless asked otherwise.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../helpers/run-command.js';
import { CLI_PATH } from '../helpers/repo-root.js';

const COMMANDS = [[], ['listen'], ['connect'], ['send'], ['discover'], ['relay'], ['id']];

describe('p2p-chat --help', () => {
  for (const command of COMMANDS) {
    it(`${['p2p-chat', ...command, '--help'].join(' ')} lists its options, none of them with a misleading default`, async () => {
      const help = await runCommand(process.execPath, [CLI_PATH, ...command, '--help']);
      assert.match(help, /^Options:$/m);
      assert.match(help, /--help\s+Display this message/);
      const negated = help.split('\n').filter((line) => /^\s*--no-/.test(line));
      for (const line of negated) assert.doesNotMatch(line, /\(default: true\)/, line);
      if (command.length === 0 || command[0] === 'connect') {
        assert.ok(negated.some((line) => line.includes('--no-mdns')), 'lists --no-mdns');
      }
    });
  }
});
