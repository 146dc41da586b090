// How AppEvents read in a terminal: one line each, peer-supplied text sanitised, nicknames in a
// stable colour, every line but a warning or an error after its time. Pure: returns strings (the
// times come from the event or the caller); the caller decides where they go.

import pc from 'picocolors';
import type { AppEvent, FileEntryEvent, FileEvent, LanPeer, WhoEntry } from '../app/app-events.js';
import { shortFingerprint } from '../secure/fingerprint.js';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';
import { describeFileList, topNames } from '../app/files/transfer.js';
import { formatDuration, formatRate, formatSize } from './byte-format.js';

const NAME_COLOURS = [pc.cyan, pc.magenta, pc.yellow, pc.green, pc.blue, pc.red] as const;

export function colourName(name: string): string {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return pc.bold(NAME_COLOURS[hash % NAME_COLOURS.length]!(sanitizeName(name)));
}

/** `14:05`: a time (ms since the epoch) as the chat shows it, in local time. */
export function clock(time: number): string {
  const d = new Date(time);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function who(name: string, fingerprint: string): string {
  return `${colourName(name)} ${pc.dim(sanitizeText(shortFingerprint(fingerprint)))}`;
}

/** A status line, as formatNotice gives it its time: `14:05 -- text`. */
export function notice(text: string): string {
  return pc.dim('-- ') + text;
}

/** A notice with more lines under it, indented to its text; lines that are undefined are left out. */
function noticeLines(first: string, ...more: (string | undefined)[]): string {
  const indent = ' '.repeat('00:00 -- '.length); // under the text, past the time formatNotice adds
  return [notice(first), ...more.flatMap((line) => (line === undefined ? [] : [indent + line]))].join('\n');
}

/** `; 3 of your messages did not reach them`, for a peer gone with some unacknowledged. */
function missed(count: number | undefined): string {
  if (!count) return '';
  return pc.yellow(count === 1 ? '; a message of yours did not reach them' : `; ${count} of your messages did not reach them`);
}

function via(name: string | undefined): string {
  return name ? pc.dim(` (via ${sanitizeName(name)})`) : '';
}

export function pathLabel(peer: WhoEntry): string {
  if (peer.path === 'forwarded') return `via ${sanitizeName(peer.via)}`;
  const rtt = peer.rttMs !== undefined ? `, ${peer.rttMs} ms` : '';
  const where = peer.path === 'relayed' ? `via ${peer.via ?? peer.address}` : peer.address;
  // TCP is the unmarked default; a session over UDP says so.
  const udp = peer.transport === 'udp' ? ', udp' : '';
  return `${peer.path} ${where}${udp}${rtt}`;
}

/**
 * The chat line for a message, ours (`sent`, under our nickname `self`) or a peer's, one form for
 * both: `14:05 carol (via alice): text`, `14:05 * carol (via alice) waves`. The marker of a
 * forwarded message follows the name, never the text, which a peer could make look like one. A
 * peer's message shows when it arrived here (`receivedAt`), not its `time`: the sender's clock may
 * be off, and lines read in the order they came, between the notices stamped with our clock.
 * `null` for events that are not messages.
 */
export function formatMessage(event: AppEvent, self: string): string | null {
  if (event.type !== 'message' && event.type !== 'sent') return null;
  const [from, at, through] = event.type === 'sent' ? [self, event.time, undefined] : [event.from, event.receivedAt, event.via];
  const time = pc.dim(clock(at));
  const text = sanitizeText(event.text);
  // Typed while a peer is away: kept, and sent once it is back (its `reconnected` line says so).
  const pending = event.type === 'sent' && event.pending ? pc.dim(' (pending)') : '';
  if (event.action) return `${time} ${pc.bold('*')} ${colourName(from)}${via(through)} ${text}${pending}`;
  return `${time} ${colourName(from)}${via(through)}: ${text}${pending}`;
}

/**
 * The status line for everything that is not a message, after the time `now` it is shown at (a
 * warning or an error stands out without one); `null` when there is nothing to say.
 */
export function formatNotice(event: AppEvent, now: number): string | null {
  const line = noticeLine(event);
  if (line === null || event.type === 'warning' || event.type === 'error') return line;
  return `${pc.dim(clock(now))} ${line}`;
}

function noticeLine(event: AppEvent): string | null {
  switch (event.type) {
    case 'identity':
      return event.created ? notice(`created a new identity in ${event.home}`) : null;
    case 'listening': {
      const busy = event.busyPort !== undefined ? `port ${event.busyPort} is busy; ` : '';
      return notice(
        `${busy}listening on port ${pc.bold(String(event.port))} as ${colourName(event.name)} ` +
          `(fingerprint ${pc.bold(event.fingerprint)})${event.udpPort !== undefined ? ' over TCP and UDP' : ''}`,
      );
    }
    case 'connected': {
      const known = event.known ? '' : pc.yellow(' [first contact]');
      return event.direction === 'outgoing'
        ? notice(`connected to ${who(event.name, event.fingerprint)} (${pathLabel(event)})${known}`)
        : notice(`${who(event.name, event.fingerprint)} joined (${pathLabel(event)})${known}`);
    }
    case 'joined':
      return notice(`${who(event.name, event.fingerprint)} ${event.present ? 'is here' : 'joined'}${via(event.via)}`);
    case 'conversations':
      return notice(pc.yellow(conversationsLine(event)));
    case 'left': {
      const reason = event.reason ? `: ${sanitizeText(event.reason)}` : '';
      return notice(`${colourName(event.name)} left${reason}${via(event.via)}${missed(event.unacknowledged)}`);
    }
    case 'lost':
      return notice(pc.yellow(`connection to ${colourName(event.name)} lost: ${sanitizeText(event.message)}`) + via(event.via) + missed(event.unacknowledged));
    case 'reconnecting': {
      // Each later attempt is only in --json: the terminal says it once.
      if (event.attempt > 1) return null;
      const then = event.attempt === 0 ? 'waiting for it to reconnect…' : 'reconnecting…';
      return notice(pc.yellow(`connection to ${colourName(event.peer)} lost (${sanitizeText(event.message)}); ${then}`));
    }
    case 'reconnected': {
      const resent = event.resent > 0 ? `; ${event.resent === 1 ? '1 message' : `${event.resent} messages`} resent` : '';
      const after = `${(event.downtimeMs / 1000).toFixed(1)} s`;
      return notice(`reconnected to ${colourName(event.peer)} (${event.path} ${event.address}) after ${after}${resent}`);
    }
    case 'path': {
      // -- laptop: now direct (udp 203.0.113.9:41234, rtt 2 ms), was relayed via R
      const rtt = event.rttMs !== undefined ? `, rtt ${event.rttMs} ms` : '';
      const now = event.path === 'relayed' ? `relayed via ${sanitizeName(event.via ?? event.address)}` : event.path;
      const there = `${event.transport} ${event.address}${rtt}`;
      const was = event.previous.path === 'relayed' ? `relayed via ${sanitizeName(event.previous.via ?? event.previous.address)}` : `${event.previous.path} (${event.previous.transport} ${event.previous.address})`;
      return notice(`${colourName(event.peer)}: now ${now} (${there}), was ${was}`);
    }
    case 'upgrade': {
      // The first failed try and the last are said; every try is in --json.
      if (event.tries > 1 && event.retryInMs !== undefined) return null;
      const tries = event.tries === 1 ? '1 try' : `${event.tries} tries`;
      const then = event.retryInMs === undefined ? 'staying relayed' : 'still relayed; trying again';
      return notice(pc.dim(`${colourName(event.peer)}: no direct path after ${tries} (${sanitizeText(event.message)}); ${then}`));
    }
    case 'renamed':
      return notice(`${colourName(event.oldName)} is now known as ${colourName(event.name)}${via(event.via)}`);
    case 'nick':
      return notice(`you are now known as ${colourName(event.name)}`);
    case 'rejected':
      return notice(pc.dim(`rejected ${event.address}: ${sanitizeText(event.message)}`));
    case 'warning':
      return pc.bold(pc.red(`WARNING: ${sanitizeText(event.message)}`));
    case 'debug':
      return notice(pc.dim(`debug: ${sanitizeText(event.message)} (${event.code})`));
    case 'error':
      return pc.red(`error: ${sanitizeText(event.message)}`);
    case 'relay':
      return event.state === 'registered'
        ? notice(pc.dim(`registered with relay ${event.relay} (seen as ${event.observed})`))
        : notice(pc.yellow(`relay ${event.relay}: ${sanitizeText(event.message)}; ${event.next !== undefined ? `trying relay ${event.next}` : `retrying in ${Math.ceil(event.retryInMs / 1000)} s`}`));
    case 'announced':
      return notice(pc.dim(`announced on the LAN as "${event.instance}"`));
    case 'peer-up':
    case 'peer-down':
      // A chat says nothing of the LAN unasked: `discover` and /peers list it (--json reports it).
      return null;
    case 'file-offer':
    case 'file-accepted':
    case 'file-progress':
    case 'file-done':
    case 'file-error':
      return formatFileEvent(event);
    case 'message':
    case 'sent':
    case 'delivered':
      return null;
  }
}

/** `you are in 2 conversations now, alice's and bob's: …`: what a second host (or guest) means. */
function conversationsLine(event: Extract<AppEvent, { type: 'conversations' }>): string {
  const names = [...(event.hosting ? ['yours'] : []), ...event.hosts.map((host) => `${sanitizeName(host)}'s`)];
  const list = names.length > 2 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join(' and ');
  const all = names.length > 2 ? 'all of them' : 'both';
  return (
    `you are in ${names.length} conversations now, ${list}: their members cannot see each other's messages ` +
    `(you see ${all}, and yours reach ${all})`
  );
}

/** A finished transfer's average speed: the bytes it carried (not what a resume found) over its time. */
export function doneRate(event: Extract<AppEvent, { type: 'file-done' }>): number {
  return event.seconds > 0 ? (event.total - event.resumed) / event.seconds : 0;
}

/**
 * One discovered peer: nickname, short fingerprint, addresses and port, and what we know of it;
 * `connected` (for /peers) marks a peer this chat is already connected to.
 */
export function formatPeerLine(peer: LanPeer, connected = false): string {
  const flags = peer.keyChanged
    ? pc.bold(pc.red(' [KEY CHANGED: this nickname was known with another key]'))
    : peer.known
      ? pc.green(' [known]')
      : '';
  const where = peer.addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(', ');
  const here = connected ? pc.cyan(' [connected]') : '';
  return `${colourName(peer.name)} ${shortFingerprint(peer.fingerprint)}  ${where} port ${peer.port}${flags}${here}`;
}


/** `trip.tar (1.2 GiB)`, `photos/ (12 files, 40 MiB)` or `big.bin, album/ (4 files, 2.0 MiB)`. */
export function describeFiles(files: readonly { path: string; size: number }[]): string {
  return describeFileList(files, formatSize(files.reduce((sum, f) => sum + f.size, 0)));
}

/** How many names a line about many files shows before saying how many more there are. */
const NAMES_SHOWN = 3;

/** `a, b, c and 18 more`: the first few of `count` names (taking the first few only, already sanitised). */
function firstNames(names: readonly string[], count = names.length): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  return count > NAMES_SHOWN ? `${shown} and ${count - NAMES_SHOWN} more` : shown;
}

/**
 * An offer's files one by one, when its summary does not name them all (a directory, or more than
 * three): `photos/a.jpg, photos/b.jpg, photos/c.jpg and 18 more: /transfers 3f2a1b lists them all`.
 */
export function offeredFilesLine(event: { readonly id: string; readonly files: readonly FileEntryEvent[] }): string | undefined {
  const { files } = event;
  if (files.length <= NAMES_SHOWN && files.every((f) => !f.path.includes('/'))) return undefined;
  const names = firstNames(files.slice(0, NAMES_SHOWN).map((f) => sanitizeText(f.path)), files.length);
  return files.length > NAMES_SHOWN ? `${names}: ${pc.bold(`/transfers ${shortId(event.id)}`)} lists them all` : names;
}

/**
 * Where an offer's names are taken in the download directory and what they will be saved as:
 * `trip.tar exists in the download directory: it will be saved as trip (1).tar`.
 */
export function renamedLine(files: readonly FileEntryEvent[]): string | undefined {
  const renamed = new Map<string, string>();
  for (const f of files) {
    if (f.savedAs !== undefined) renamed.set(topNames([f])[0]!, topNames([{ path: f.savedAs }])[0]!);
  }
  if (renamed.size === 0) return undefined;
  const [taken, saved] = [firstNames([...renamed.keys()]), firstNames([...renamed.values()])];
  return renamed.size === 1
    ? pc.yellow(`${taken} exists in the download directory: it will be saved as ${saved}`)
    : pc.yellow(`${taken} exist in the download directory: they will be saved as ${saved}`);
}

/** The short id users type after /accept, /decline or /cancel. */
export function shortId(id: string): string {
  return id.slice(0, 6);
}

function formatFileEvent(event: FileEvent): string {
  const peer = colourName(event.peer);
  const id = pc.dim(`[${shortId(event.id)}]`);
  switch (event.type) {
    case 'file-offer': {
      if (event.direction === 'send') return notice(`offered ${describeFiles(event.files)} to ${peer} ${id}; waiting for an answer`);
      const first = event.autoAccept
        ? `${peer} sends ${describeFiles(event.files)} ${id}; accepting`
        : `${peer} offers ${describeFiles(event.files)} ${id}: ${pc.bold('/accept')} or ${pc.bold('/decline')}`;
      return noticeLines(first, offeredFilesLine(event), renamedLine(event.files));
    }
    case 'file-accepted':
      return event.direction === 'send'
        ? notice(`${peer} accepted ${id}; sending`)
        : notice(`receiving ${id} from ${peer} into ${sanitizeText(event.dir ?? '.')}`);
    case 'file-progress': {
      const pct = event.total > 0 ? Math.floor((event.bytes / event.total) * 100) : 100;
      const eta = event.etaSeconds !== undefined ? `, ${formatDuration(event.etaSeconds)} left` : '';
      return notice(pc.dim(`${id} ${pct}% (${formatSize(event.bytes)} of ${formatSize(event.total)}), ${formatRate(event.bytesPerSecond)}${eta}`));
    }
    case 'file-done': {
      const what = describeFiles(event.files);
      const speed = event.seconds > 0 ? `, ${formatRate(doneRate(event))}` : '';
      const resumed = event.resumed > 0 ? `, resumed with ${formatSize(event.resumed)} already there` : '';
      const took = pc.dim(` (${formatDuration(event.seconds)}${speed}${resumed})`);
      if (event.direction === 'send') return notice(pc.green(`${what} sent to ${sanitizeName(event.peer)}, SHA-256 verified`) + took);
      // A name already taken in the download directory was saved under a numbered one.
      const renamed = topNames(event.files.flatMap((f) => (f.savedAs !== undefined ? [{ path: f.savedAs }] : [])));
      const saved = renamed.length > 0 ? `; saved as ${renamed.join(', ')}` : '';
      return notice(pc.green(`${what} received, SHA-256 verified`) + took + saved);
    }
    case 'file-error': {
      const again = event.direction === 'send' ? 'send it again to resume' : 'a new offer of it resumes';
      return notice(pc.yellow(`${id} ${sanitizeText(event.message)}`) + (event.resumable ? pc.dim(` (${again})`) : ''));
    }
  }
}
