// The p2p-chat command line (cac). Parses argv, turns every failure into one line and an exit
// code (0 ok, 1 runtime failure, 2 usage error), and is the only place that exits the process.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { cac } from 'cac';
import pc from 'picocolors';
import { DEFAULTS } from '../defaults.js';
import { chatError, P2PChatError, type ErrorCode } from '../errors.js';
import { parsePort, parseTarget } from '../net/target.js';
import { normalizeFingerprint } from '../secure/fingerprint.js';
import { ensureHomeDir, resolveHomeDir } from '../secure/home-dir.js';
import { loadOrCreateIdentity } from '../secure/identity-store.js';
import { KnownPeers } from '../secure/known-peers.js';
import { runChat } from './run-chat.js';

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_USAGE', 'ERR_BAD_PORT', 'ERR_BAD_TARGET', 'ERR_BAD_FINGERPRINT']);
const COMMANDS = new Set(['listen', 'connect', 'id']);

interface GlobalFlags {
  home?: string;
  json?: boolean;
  name?: string;
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const crash = (err: unknown) => {
    process.exitCode = report(err, json);
    process.exit();
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const code = await run(argv).catch((err: unknown) => report(err, json));
  await flushStdout();
  process.exit(code);
}

async function run(argv: string[]): Promise<number> {
  const cli = cac('p2p-chat');
  let action: Promise<number> | undefined;
  const start = (p: Promise<number>) => (action = p);

  cli
    .option('--home <dir>', 'where the identity and known peers live (env P2P_CHAT_HOME)', {
      default: undefined,
    })
    .option('--name <name>', 'nickname shown to peers (default: this host name)')
    .option('--json', 'print every event as one JSON line (NDJSON) on stdout')
    .option('--no-color', 'no colours (also NO_COLOR=1)');

  cli
    .command('[listen]', 'wait for peers to connect (the default command)')
    .option('--port <port>', `TCP port to listen on; the next free one if ${DEFAULTS.port} is busy; 0 = any`, {
      default: undefined,
    })
    .option('--host <addr>', `address to listen on (default ${DEFAULTS.host}: all, IPv6 and IPv4)`)
    .example('p2p-chat listen --name laptop')
    .action((first: string | undefined, flags: GlobalFlags & { port?: unknown; host?: string }) => {
      if (first !== undefined && first !== 'listen') {
        throw chatError('ERR_USAGE', `unknown command '${first}' (commands: ${[...COMMANDS].join(', ')})`);
      }
      start(listenCommand(flags));
    });

  cli
    .command('connect <target>', 'dial a peer: host, host:port, [IPv6]:port, or FINGERPRINT@host')
    .option('--expect <fingerprint>', "refuse the peer unless its key has this fingerprint")
    .example('p2p-chat connect 192.0.2.7')
    .example('p2p-chat connect [2001:db8::7]:5050 --expect ABCDEFG-...')
    .action((target: string, flags: GlobalFlags & { expect?: string }) => start(connectCommand(target, flags)));

  cli.command('id', 'print your nickname and full fingerprint (creates the identity if needed)').action(
    (flags: GlobalFlags) => start(idCommand(flags)),
  );

  cli.help();
  cli.version(packageVersion());
  try {
    cli.parse(argv);
  } catch (err) {
    if (err instanceof P2PChatError) throw err;
    // cac's own errors: unknown option, missing argument, ...
    throw chatError('ERR_USAGE', `${(err as Error).message.replace(/`/g, "'")}; see p2p-chat --help`);
  }
  return action ?? 0;
}

async function listenCommand(flags: GlobalFlags & { port?: unknown; host?: string }): Promise<number> {
  const explicitPort = flags.port !== undefined;
  const port = explicitPort ? portFlag(flags.port) : DEFAULTS.port;
  const context = openHome(flags);
  return runChat({
    ...context,
    json: flags.json === true,
    listen: { host: stringFlag(flags.host, '--host') ?? DEFAULTS.host, port, fallback: !explicitPort },
  });
}

async function connectCommand(targetText: string, flags: GlobalFlags & { expect?: string }): Promise<number> {
  const target = parseTarget(String(targetText), DEFAULTS.port);
  const expectText = stringFlag(flags.expect, '--expect') ?? target.expect;
  const expect = expectText !== undefined ? normalizeFingerprint(expectText) : undefined;
  const context = openHome(flags);
  return runChat({
    ...context,
    json: flags.json === true,
    connect: { host: target.host, port: target.port, ...(expect ? { expect } : {}) },
  });
}

async function idCommand(flags: GlobalFlags): Promise<number> {
  const { identity, name, home } = openHome(flags);
  if (flags.json) {
    const event = { type: 'identity', name, fingerprint: identity.fingerprint, created: identity.created, home };
    process.stdout.write(JSON.stringify(event) + '\n');
  } else {
    process.stdout.write(`nickname:    ${pc.bold(name)}\nfingerprint: ${pc.bold(identity.fingerprint)}\n`);
    process.stdout.write(pc.dim(`identity:    ${identity.path}${identity.created ? ' (new)' : ''}`) + '\n');
  }
  return 0;
}

function openHome(flags: GlobalFlags) {
  const home = resolveHomeDir(stringFlag(flags.home, '--home'), process.env);
  ensureHomeDir(home);
  const identity = loadOrCreateIdentity(home);
  const name = stringFlag(flags.name, '--name') ?? (hostname().split('.')[0] || 'anonymous');
  if (name.trim() === '') throw chatError('ERR_USAGE', '--name must not be empty');
  return { home, identity, knownPeers: KnownPeers.load(home), name };
}

function portFlag(value: unknown): number {
  const text = String(value);
  return text === '0' ? 0 : parsePort(text);
}

function stringFlag(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw chatError('ERR_USAGE', `${flag} needs a value`);
  }
  return String(value);
}

function report(err: unknown, json: boolean): number {
  if (!(err instanceof P2PChatError)) {
    // A bug, not a user error: still one line, but say where to look.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`p2p-chat: internal error: ${message} (set P2P_CHAT_DEBUG=1 for details)\n`);
    if (process.env.P2P_CHAT_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return 1;
  }
  if (json) process.stdout.write(JSON.stringify({ type: 'error', code: err.code, message: err.message }) + '\n');
  else process.stderr.write(`p2p-chat: ${err.message}\n`);
  return USAGE_CODES.has(err.code) ? 2 : 1;
}

function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()));
}
