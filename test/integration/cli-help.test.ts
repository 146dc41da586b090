// The help a user reads first: every command's --help exits 0 and lists exactly the options that
// command takes (a peer's --name, --no-mdns and --relay only where a peer runs), none of them with
// cac's implied "(default: true)", which read as if `--no-mdns` were on unless asked otherwise.
// And a mistyped command or option is answered with the word it was most likely meant as.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { LISTENER_OPTIONS } from '../../src/cli/listener-options.js';
import { RELAY_OPTIONS } from '../../src/cli/relay-command.js';
import { CLUSTER_FLAGS } from '../../src/cli/cluster-flags.js';
import { runCommand } from '../helpers/run-command.js';
import { CLI_PATH } from '../helpers/repo-root.js';

/** Every command has a home and speaks JSON; -h is everywhere, -v only on the top level. */
const GLOBAL = ['--home', '--json', '--help'];
const PEER = ['--name', '--no-mdns', '--no-udp', '--no-upgrade', '--relay', '--resume-window', '--keepalive', '--no-color'];
const FILES = ['--accept-files', '--download-dir'];
const DIAL = ['--expect', '--direct-only', '--relay-only', '--transport'];
const flags = (options: readonly { flag: string }[]) => options.map((o) => o.flag.split(' ')[0]!);
const LISTEN = [...PEER, '--port', '--host', ...FILES, '--format', '--no-bell', ...flags(LISTENER_OPTIONS), '--version'];

const APPLY: ReadonlyArray<[command: string[], options: string[]]> = [
  [[], LISTEN],
  [['listen'], LISTEN],
  [['connect'], [...PEER, ...DIAL, ...FILES, '--format', '--no-bell', '--handshake-timeout-ms']],
  [['send'], [...PEER, ...DIAL]],
  [['discover'], ['--no-color', '--timeout', '--watch']],
  [['relay'], flags([...RELAY_OPTIONS, ...CLUSTER_FLAGS])],
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

/** Run the CLI to its end: exit code, stdout and stderr. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI_PATH, ...args], { timeout: 10_000, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (_, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe('p2p-chat with a mistyped word', () => {
  const cases: Array<[args: string[], stderr: RegExp]> = [
    [['conect', '192.0.2.7'], /^p2p-chat: unknown command 'conect' — did you mean 'connect'\?\n$/],
    [['sned', 'laptop', 'a.txt', '--expect', 'X'], /^p2p-chat: unknown command 'sned' — did you mean 'send'\?\n$/],
    [['chat'], /^p2p-chat: unknown command 'chat' \(commands: listen, connect, send, discover, relay, id\); see p2p-chat --help\n$/],
    [['connect', '192.0.2.7', '--expct', 'X'], /^p2p-chat: unknown option '--expct' — did you mean '--expect'\?\n$/],
    [['--nmae', 'laptop'], /^p2p-chat: unknown option '--nmae' — did you mean '--name'\?\n$/],
    [['discover', '--no-mdns'], /^p2p-chat: option '--no-mdns' does not apply to 'discover' \(it is for listen, connect, send\); see p2p-chat discover --help\n$/],
    [['discover', '--tiemout', '3'], /^p2p-chat: unknown option '--tiemout' — did you mean '--timeout'\?\n$/],
    [['id', '--frobnicate'], /^p2p-chat: unknown option '--frobnicate' for 'id'; see p2p-chat id --help\n$/],
    [['id', '--name', 'x'], /^p2p-chat: option '--name' does not apply to 'id' \(it is for listen, connect, send\); see p2p-chat id --help\n$/],
    [['relay', '--no-color'], /^p2p-chat: option '--no-color' does not apply to 'relay' \(it is for listen, connect, send, discover, id\)/],
    [['id', 'extra'], /^p2p-chat: unexpected argument for 'id': 'extra'; see p2p-chat id --help\n$/],
  ];
  for (const [args, stderr] of cases) {
    it(`p2p-chat ${args.join(' ')}: exit 2 with one line`, async () => {
      const result = await run(args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, stderr);
      assert.equal(result.stdout, '');
    });
  }

  it('says it as ERR_USAGE in --json mode', async () => {
    const result = await run(['conect', '192.0.2.7', '--json']);
    assert.equal(result.code, 2);
    assert.deepEqual(JSON.parse(result.stdout), {
      type: 'error',
      code: 'ERR_USAGE',
      message: "unknown command 'conect' — did you mean 'connect'?",
    });
  });
});
