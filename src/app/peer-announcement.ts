// What a p2p-chat peer announces over DNS-SD (`_p2p-chat._tcp`) and how an announcement heard on
// the LAN is read back. Pure. Nothing in an announcement is trusted: a malformed field drops the
// record, and the fingerprint is only a claim until the Noise handshake proves it.

import { isIpAddress } from '../net/address.js';
import { normalizeFingerprint, shortFingerprint } from '../secure/fingerprint.js';
import { sanitizeName } from '../session/sanitize.js';

/** DNS-SD service type, as bonjour-service wants it (it adds the underscores and `._tcp`). */
export const SERVICE_TYPE = 'p2p-chat';
/** A DNS label (the instance name) is at most 63 bytes. */
const MAX_LABEL_BYTES = 63;

export interface Announcement {
  readonly name: string;
  readonly fingerprint: string;
  readonly port: number;
  /** The UDP port it listens on too (the same number as `port`), when it does. */
  readonly udpPort?: number;
  readonly version: number;
}

export interface DiscoveredPeer {
  /** DNS-SD instance name, unique per key: `<nickname> <short fingerprint>`. */
  readonly instance: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly version: number;
  readonly port: number;
  /** Set when the peer announces a UDP listener (TXT `udp`). */
  readonly udpPort?: number;
  /** Dialable addresses, best first (see address-order.ts). */
  readonly addresses: readonly string[];
  /** When the peer was last heard from, ms since epoch. */
  readonly lastSeen: number;
}

/** The service instance name; the nickname is cut so the label stays within 63 bytes. */
export function instanceName(name: string, fingerprint: string): string {
  const suffix = ` ${shortFingerprint(fingerprint)}`;
  let nick = name;
  while (Buffer.byteLength(nick + suffix, 'utf8') > MAX_LABEL_BYTES) nick = [...nick].slice(0, -1).join('');
  return nick + suffix;
}

export function txtRecord(a: Announcement): Record<string, string> {
  return { fp: a.fingerprint, name: a.name, v: String(a.version), ...(a.udpPort !== undefined ? { udp: String(a.udpPort) } : {}) };
}

/** The parts of a bonjour-service `Service` we read; everything optional, since it came off the wire. */
export interface HeardService {
  name?: unknown;
  port?: unknown;
  txt?: unknown;
  addresses?: unknown;
}

/** A validated peer, or `undefined` when any required field is missing or malformed. */
export function parseHeardService(heard: HeardService, lastSeen: number, order: (a: string[]) => string[]): DiscoveredPeer | undefined {
  const txt = heard.txt;
  if (typeof txt !== 'object' || txt === null) return undefined;
  const { fp, name, v, udp } = txt as Record<string, unknown>;
  const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString('utf8') : value);
  const fpText = text(fp);
  const nameText = text(name);
  const vText = text(v);
  if (typeof fpText !== 'string' || typeof nameText !== 'string' || typeof vText !== 'string') return undefined;
  let fingerprint: string;
  try {
    fingerprint = normalizeFingerprint(fpText);
  } catch {
    return undefined;
  }
  if (!/^\d{1,4}$/.test(vText)) return undefined;
  const port = heard.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof heard.name !== 'string' || heard.name.length === 0) return undefined;
  const raw = Array.isArray(heard.addresses) ? heard.addresses.filter((a): a is string => typeof a === 'string') : [];
  const addresses = order(raw.filter((a) => isIpAddress(a.split('%')[0]!)));
  if (addresses.length === 0) return undefined;
  // Optional: a malformed one only means no UDP.
  const udpText = text(udp);
  const udpPort = typeof udpText === 'string' && /^\d{1,5}$/.test(udpText) ? Number(udpText) : 0;
  return {
    instance: heard.name,
    name: sanitizeName(nameText),
    fingerprint,
    version: Number(vText),
    port,
    ...(udpPort >= 1 && udpPort <= 65535 ? { udpPort } : {}),
    addresses,
    lastSeen,
  };
}
