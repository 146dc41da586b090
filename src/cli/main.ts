// The p2p-chat command line (cac). Parses argv, turns every failure into one line and an exit
// code (0 ok, 1 runtime failure, 2 usage error), and is the only place that exits the process.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { AcceptPolicy } from '../app/files/transfers.js';
import { listFiles } from '../app/files/file-list.js';
import { cac } from 'cac';
import pc from 'picocolors';
import { DEFAULTS, type Settings } from '../defaults.js';
import { wholeNumberFlag } from './numeric-flags.js';
import { chatError, P2PChatError, type ErrorCode } from '../errors.js';
import { parsePort, parseTarget } from '../net/target.js';
import { type CipherOffer, parseCipherOffer } from '../secure/cipher-offer.js';
import { normalizeFingerprint } from '../secure/fingerprint.js';
import { ensureHomeDir, resolveHomeDir } from '../secure/home-dir.js';
import { loadOrCreateIdentity } from '../secure/identity-store.js';
import { KnownPeers } from '../secure/known-peers.js';
import { TRANSPORT_MODES, type PathMode, type TransportMode } from '../app/connect-strategy.js';
import { isAddressTarget } from '../app/dial-plan.js';
import type { RelayEntry } from '../app/relay-client.js';
import { parseRelayList } from '../net/relay-address.js';
import { readConfigFile, type ConfigFile } from './config-file.js';
import { discover } from './discover-command.js';
import { LISTENER_OPTIONS, parseListenerSettings } from './listener-options.js';
import { parseRelayLimits, RELAY_OPTIONS, relayCommand } from './relay-command.js';
import { CLUSTER_FLAGS, parseClusterFlags } from './cluster-flags.js';
import { RELAY_DEFAULTS } from '../relay/relay-defaults.js';
import { runChat } from './run-chat.js';
import { checkWords, commandName } from './usage-suggest.js';
import { parseMessageTemplate, type MessageTemplate } from './message-template.js';

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'ERR_USAGE',
  'ERR_BAD_PORT',
  'ERR_BAD_TARGET',
  'ERR_BAD_FINGERPRINT',
  'ERR_AMBIGUOUS_PEER',
]);

interface GlobalFlags {
  home?: string;
  json?: boolean;
}
/** PEER_OPTIONS, under cac's keys. */
type PeerFlags = GlobalFlags & { name?: string; mdns?: boolean; udp?: boolean; upgrade?: boolean; relay?: unknown };

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

  // Global: every command has an identity in a home and can speak JSON. The rest are per command,
  // so that each command's --help shows only what it takes.
  cli
    .option('--home <dir>', 'where the identity and known peers live (env P2P_CHAT_HOME)', {
      default: undefined,
    })
    .option('--json', 'print every event as one JSON line (NDJSON) on stdout');

  const listen = cli.command('[listen]', 'wait for peers to connect (the default command)');
  for (const [flag, help] of PEER_OPTIONS) listen.option(flag, help);
  listen
    .option('--port <port>', `TCP port to listen on; the next free one if ${DEFAULTS.port} is busy; 0 = any`, {
      default: undefined,
    })
    .option('--host <addr>', `address to listen on (default ${DEFAULTS.host}, every IPv6 and IPv4 address)`)
    .option('--accept-files [who]', ACCEPT_FILES_HELP)
    .option('--download-dir <dir>', DOWNLOAD_DIR_HELP)
    .option('--format <template>', FORMAT_HELP)
    .option('--no-bell', BELL_HELP)
    .example('p2p-chat listen --name laptop')
    .example('p2p-chat listen --accept-files --download-dir ~/inbox')
    .action((_listen: string | undefined, flags: ListenFlags) => start(listenCommand(flags)));
  for (const option of LISTENER_OPTIONS) listen.option(option.flag, `${option.description} (default ${option.default})`);

  const connect = cli.command('connect <target>', 'dial a peer: nickname or fingerprint prefix (LAN), host[:port], [IPv6]:port, FP@host');
  for (const [flag, help] of [...PEER_OPTIONS, ...DIAL_OPTIONS]) connect.option(flag, help);
  connect
    .option('--accept-files [who]', ACCEPT_FILES_HELP)
    .option('--download-dir <dir>', DOWNLOAD_DIR_HELP)
    .option('--format <template>', FORMAT_HELP)
    .option('--no-bell', BELL_HELP)
    .example('p2p-chat connect laptop')
    .example('p2p-chat connect 192.0.2.7')
    .example('p2p-chat connect [2001:db8::7]:5050 --expect ABCDEFG-...')
    .action((target: string, flags: ConnectFlags) => start(connectCommand(target, flags)));
  // A dialler does not listen: of the node's settings, only the handshake deadline applies to it.
  for (const option of LISTENER_OPTIONS.filter((o) => o.key === 'handshakeTimeoutMs')) {
    connect.option(option.flag, `${option.description} (default ${option.default})`);
  }

  const send = cli.command('send <target> [...paths]', 'connect to a peer, offer it files or directories, exit when they are delivered');
  for (const [flag, help] of [...PEER_OPTIONS, ...DIAL_OPTIONS]) send.option(flag, help);
  send
    .example('p2p-chat send laptop ~/photos/trip.tar')
    .example('p2p-chat send 192.0.2.7 notes.txt src/')
    .action((target: string, paths: string[], flags: ConnectFlags) => {
      if (paths.length === 0) throw chatError('ERR_USAGE', 'send needs at least one file or directory after the target');
      start(connectCommand(target, flags, paths.map(String)));
    });

  cli
    .command('discover', 'list p2p-chat peers on the LAN (mDNS)')
    .option(...NO_COLOR_OPTION)
    .option('--timeout <seconds>', `how long to listen (default ${DEFAULTS.discoverTimeoutMs / 1000})`)
    .option('--watch', 'keep listening and show peers appearing and leaving until Ctrl-C')
    .action((flags: DiscoverFlags) => start(discoverCommand(flags)));

  const relay = cli.command('relay', 'run a rendezvous and relay server (on a public host)');
  for (const option of [...RELAY_OPTIONS, ...CLUSTER_FLAGS]) relay.option(option.flag, `${option.description} (default ${option.default})`);
  relay.action((flags: GlobalFlags & Record<string, unknown>) => start(relayServerCommand(flags)));

  cli
    .command('id', 'print your nickname and full fingerprint (creates the identity if needed)')
    .option(...NO_COLOR_OPTION)
    .action((flags: GlobalFlags) => start(idCommand(flags)));

  // cac shows a negated flag's implied default ("--no-mdns ... (default: true)"), which reads as if
  // discovery were off by default: drop it from those lines.
  cli.help((sections) =>
    sections.map((section) => ({ ...section, body: section.body.replace(/^(\s*--no-\S+.*?) \(default: true\)$/gm, '$1') })),
  );
  cli.version(packageVersion());
  try {
    cli.parse(argv, { run: false }); // --help and --version are answered here
    checkWords(cli, argv.slice(2));
    cli.runMatchedCommand();
  } catch (err) {
    if (err instanceof P2PChatError) throw err;
    // cac's own errors: a missing argument or option value, arguments left over.
    const name = cli.matchedCommand ? commandName(cli.matchedCommand) : undefined;
    const message = (err as Error).message.replace(/`/g, "'").replace(/^Unused args: /, `unexpected argument for '${name}': `);
    throw chatError('ERR_USAGE', `${message}; see p2p-chat${name ? ` ${name}` : ''} --help`);
  }
  return action ?? 0;
}

type FileFlags = { acceptFiles?: unknown; downloadDir?: unknown; bell?: boolean };
/** The node's settings from LISTENER_OPTIONS, under cac's camelCase keys. */
type SettingFlags = Record<string, unknown>;
type ListenFlags = PeerFlags & FileFlags & SettingFlags & { port?: unknown; host?: string; format?: unknown };
type ConnectFlags = PeerFlags & FileFlags & SettingFlags & { expect?: string; directOnly?: boolean; relayOnly?: boolean; transport?: unknown; format?: unknown };

/** picocolors reads it from argv itself; the relay, which prints no colours, does not take it. */
const NO_COLOR_OPTION = ['--no-color', 'no colours (also NO_COLOR=1)'] as const;

/** Options of the commands that run a peer (listen, connect, send), and of no other. */
const PEER_OPTIONS = [
  ['--name <name>', 'nickname shown to peers (default: this host name)'],
  ['--no-mdns', 'no LAN discovery: do not announce, do not look up names on the LAN'],
  ['--no-udp', 'TCP only: do not listen on UDP, do not dial over it'],
  ['--no-upgrade', 'keep relayed conversations relayed: never move them to a direct path (hole punching)'],
  ['--relay <host[:port][#fp][,...]>', 'rendezvous and relay server to register with and fall back to; several, comma-separated, are tried in order (env P2P_CHAT_RELAY)'],
  [
    '--resume-window <seconds>',
    `keep a conversation this long for a lost peer to come back, and wait as long at the end of piped input for every line to be acknowledged; 0: never (default ${DEFAULTS.resumeWindowMs / 1000})`,
  ],
  ['--keepalive <seconds>', `ping a quiet peer this often; one silent for three times as long is lost (default ${DEFAULTS.keepaliveIntervalMs / 1000})`],
  NO_COLOR_OPTION,
] as const;

/** How `connect` and `send` reach their target (the same dial for both). */
const DIAL_OPTIONS = [
  ['--expect <fingerprint>', 'refuse the peer unless its key has this fingerprint'],
  ['--direct-only', 'never use the relay for this connection'],
  ['--relay-only', 'connect through the relay only (needs --relay)'],
  ['--transport <mode>', `direct dials over auto (TCP and UDP raced, TCP first), tcp or udp (default auto)`],
] as const;
const ACCEPT_FILES_HELP = 'accept file offers without asking: from known peers (declining others), or =any from anyone';
const DOWNLOAD_DIR_HELP = 'where received files are saved (default: the current directory; created if missing)';
const FORMAT_HELP = "pipe mode: how each received message is written on stdout, e.g. '{time} {name}: {text}' (default: the text alone)";

/** --format, read before anything starts: a bad template is a usage error. */
function formatOption(flags: { format?: unknown; json?: boolean }): { format?: MessageTemplate } {
  const text = stringFlag(flags.format, '--format');
  if (text === undefined) return {};
  if (flags.json) throw chatError('ERR_USAGE', '--format is for pipe mode; --json already prints every field of a message');
  return { format: parseMessageTemplate(text) };
}
const BELL_HELP = 'do not ring the terminal bell when a message mentions your nickname';

/** --accept-files[=any] and --download-dir. */
function fileOptions(flags: FileFlags): { downloadDir: string; acceptFiles: AcceptPolicy } {
  const downloadDir = resolve(stringFlag(flags.downloadDir, '--download-dir') ?? '.');
  const value = flags.acceptFiles;
  let acceptFiles: AcceptPolicy = 'ask';
  if (value === true || value === '' || value === 'known') acceptFiles = 'known';
  else if (value === 'any') acceptFiles = 'any';
  else if (value !== undefined && value !== false) {
    throw chatError('ERR_USAGE', `--accept-files takes no value or =any, not ${JSON.stringify(String(value))}`);
  }
  return { downloadDir, acceptFiles };
}
type DiscoverFlags = GlobalFlags & { timeout?: unknown; watch?: boolean };

async function listenCommand(flags: ListenFlags): Promise<number> {
  const explicitPort = flags.port !== undefined;
  const port = explicitPort ? portFlag(flags.port) : DEFAULTS.port;
  const format = formatOption(flags);
  const cipher = cipherOption();
  const { config, ...context } = openHome(flags);
  return runChat({
    ...format,
    ...context,
    ...cipher,
    json: flags.json === true,
    debug: debugOn(),
    mdns: flags.mdns !== false,
    udp: flags.udp !== false,
    upgrade: flags.upgrade !== false,
    listen: { host: stringFlag(flags.host, '--host') ?? DEFAULTS.host, port, fallback: !explicitPort },
    timing: { ...parseListenerSettings(flags), ...peerSettings(flags) },
    files: fileOptions(flags),
    bell: flags.bell !== false,
    ...relayOption(flags.relay, config),
  });
}

async function connectCommand(targetText: string, flags: ConnectFlags, send?: string[]): Promise<number> {
  const target = String(targetText);
  if (isAddressTarget(target)) parseTarget(target, DEFAULTS.port); // a usage error before anything starts
  const expectText = stringFlag(flags.expect, '--expect');
  const expect = expectText !== undefined ? normalizeFingerprint(expectText) : undefined;
  if (flags.directOnly && flags.relayOnly) throw chatError('ERR_USAGE', '--direct-only and --relay-only exclude each other');
  const format = formatOption(flags);
  const cipher = cipherOption();
  const { config, ...context } = openHome(flags);
  const relay = relayOption(flags.relay, config);
  if (flags.relayOnly && !relay.relays) throw chatError('ERR_USAGE', '--relay-only needs --relay HOST (or P2P_CHAT_RELAY)');
  // A path that cannot be sent fails here, before the peer is bothered with a connection.
  const offer = send ? await listFiles(send) : undefined;
  const mode: PathMode = flags.directOnly ? 'direct-only' : flags.relayOnly ? 'relay-only' : 'auto';
  const transport = transportOption(flags);
  return runChat({
    ...context,
    json: flags.json === true,
    debug: debugOn(),
    mdns: flags.mdns !== false,
    udp: flags.udp !== false,
    upgrade: flags.upgrade !== false,
    connect: { target, mode, transport, ...(expect ? { expect } : {}) },
    timing: { ...parseListenerSettings(flags), ...peerSettings(flags) },
    files: fileOptions(flags),
    bell: flags.bell !== false,
    ...(offer ? { send: offer } : {}),
    ...relay,
    ...format,
    ...cipher,
  });
}

/** --transport auto|tcp|udp; udp cannot go with --no-udp. Throws ERR_USAGE. */
function transportOption(flags: ConnectFlags): TransportMode {
  const text = stringFlag(flags.transport, '--transport') ?? 'auto';
  const mode = TRANSPORT_MODES.find((m) => m === text);
  if (!mode) throw chatError('ERR_USAGE', `--transport takes ${TRANSPORT_MODES.join(', ')}, not ${JSON.stringify(text)}`);
  if (mode === 'udp' && flags.udp === false) throw chatError('ERR_USAGE', '--transport udp and --no-udp exclude each other');
  return mode;
}

/** --resume-window and --keepalive, in seconds on the command line. Throws ERR_USAGE naming the flag. */
function peerSettings(flags: SettingFlags): Partial<Settings> {
  const resume = wholeNumberFlag(flags, 'resumeWindow', 0);
  const keepalive = wholeNumberFlag(flags, 'keepalive', 1);
  return {
    ...(resume !== undefined ? { resumeWindowMs: resume * 1000 } : {}),
    ...(keepalive !== undefined ? { keepaliveIntervalMs: keepalive * 1000, keepaliveTimeoutMs: 3 * keepalive * 1000 } : {}),
  };
}

/** P2P_CHAT_DEBUG set (to anything but empty): show debug events and internal errors' stacks. */
function debugOn(): boolean {
  return Boolean(process.env.P2P_CHAT_DEBUG);
}

/** $P2P_CHAT_CIPHER: aesgcm or chachapoly, what this end offers for the transport; unset: a probe decides. */
function cipherOption(): { cipher?: CipherOffer } {
  const cipher = parseCipherOffer(process.env.P2P_CHAT_CIPHER, 'P2P_CHAT_CIPHER');
  return cipher ? { cipher } : {};
}

/** --relay, else $P2P_CHAT_RELAY, else config.json: the relays' addresses, in order, each with its optional pinned key. */
function relayOption(flag: unknown, config: ConfigFile): { relays?: RelayEntry[] } {
  const text = stringFlag(flag, '--relay') ?? process.env.P2P_CHAT_RELAY ?? config.relay;
  if (!text) return {};
  const relays = parseRelayList(text).map((address) => {
    const pin = address.pin !== undefined ? normalizeFingerprint(address.pin) : undefined;
    return { address, ...(pin ? { pin } : {}) };
  });
  return { relays };
}

async function relayServerCommand(flags: GlobalFlags & Record<string, unknown>): Promise<number> {
  const port = flags.port === undefined ? RELAY_DEFAULTS.port : portFlag(flags.port);
  const host = stringFlag(flags.host, '--host') ?? RELAY_DEFAULTS.host;
  const limits = parseRelayLimits(flags);
  const home = resolveHomeDir(stringFlag(flags.home, '--home'), process.env);
  ensureHomeDir(home);
  const cluster = parseClusterFlags(flags, port);
  return relayCommand({ home, host, port, json: flags.json === true, limits, ...(cluster ? { cluster } : {}) });
}

async function discoverCommand(flags: DiscoverFlags): Promise<number> {
  const seconds = flags.timeout === undefined ? DEFAULTS.discoverTimeoutMs / 1000 : Number(flags.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw chatError('ERR_USAGE', `--timeout ${String(flags.timeout)} is not a number of seconds from 0 to 3600`);
  }
  const { identity, knownPeers } = openHome(flags);
  return discover({
    knownPeers,
    selfFingerprint: identity.fingerprint,
    timeoutMs: Math.round(seconds * 1000),
    watch: flags.watch === true,
    json: flags.json === true,
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

function openHome(flags: GlobalFlags & { name?: string }) {
  const home = resolveHomeDir(stringFlag(flags.home, '--home'), process.env);
  ensureHomeDir(home);
  const identity = loadOrCreateIdentity(home);
  const config = readConfigFile(home);
  const name = stringFlag(flags.name, '--name') ?? config.name ?? (hostname().split('.')[0] || 'anonymous');
  if (name.trim() === '') throw chatError('ERR_USAGE', '--name must not be empty');
  const knownPeers = KnownPeers.load(home);
  if (knownPeers.corruptMovedTo) {
    process.stderr.write(`p2p-chat: warning: known-peers.json was unreadable; moved to ${knownPeers.corruptMovedTo}\n`);
  }
  return { home, identity, knownPeers, name, config };
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
    if (debugOn()) process.stderr.write(`${(err as Error)?.stack}\n`);
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
