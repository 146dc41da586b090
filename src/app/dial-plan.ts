// Turn what the user typed after `connect` (or `/connect`) into addresses to dial and the key to
// expect. An address is used as given; a nickname or fingerprint prefix is looked up on the LAN,
// and the advertised fingerprint becomes the expected key, so a fake announcement cannot
// redirect us to someone else: the Noise handshake would fail with ERR_PEER_KEY_MISMATCH.

import { lookup } from 'node:dns/promises';
import { DEFAULTS } from '../defaults.js';
import { chatError } from '../errors.js';
import { formatHostPort, isIpAddress } from '../net/address.js';
import { parseTarget } from '../net/target.js';
import { looksLikeFingerprint, normalizeFingerprint, shortFingerprint } from '../secure/fingerprint.js';
import type { PeerDirectory } from './peer-directory.js';

export interface DialCandidate {
  readonly host: string;
  readonly port: number;
  /** Where the peer listens on UDP at this address, when it said so (LAN TXT, relay record). */
  readonly udpPort?: number;
  /**
   * A guessed address (from a relay record): another peer may live there, so a wrong key on it
   * only rules out this candidate instead of ending the connect.
   */
  readonly guess?: boolean;
}

export interface DialPlan {
  /** How to name the target in messages: the nickname, or host:port. */
  readonly label: string;
  readonly candidates: readonly DialCandidate[];
  readonly expect?: string;
}

export interface PlanOptions {
  /** Absent with --no-mdns: names then resolve only through DNS. */
  readonly directory?: PeerDirectory;
  readonly lookupTimeoutMs?: number;
  readonly settleMs?: number;
  /** --expect, already validated. */
  readonly expect?: string;
  /** false: a bare word not found on the LAN is not tried as a host name (DNS). */
  readonly hostLookup?: boolean;
}

/** Is this an address (IP, host:port, a dotted host name) rather than a nickname or fingerprint? */
export function isAddressTarget(text: string): boolean {
  const t = text.trim();
  if (t.includes('@') || t.startsWith('[') || isIpAddress(t) || t === 'localhost') return true;
  if (looksLikeFingerprint(t)) return false;
  return t.includes('.') || t.includes(':');
}

export async function planDial(text: string, options: PlanOptions = {}): Promise<DialPlan> {
  if (isAddressTarget(text)) {
    const target = parseTarget(text, DEFAULTS.port);
    const inline = target.expect !== undefined ? normalizeFingerprint(target.expect) : undefined;
    if (inline !== undefined && options.expect !== undefined && inline !== options.expect) {
      throw chatError('ERR_USAGE', `the fingerprint before '@' and --expect differ; give one of them`);
    }
    const expect = options.expect ?? inline;
    const candidate = { host: target.host, port: target.port };
    return { label: formatHostPort(target.host, target.port), candidates: [candidate], ...(expect ? { expect } : {}) };
  }
  const query = text.trim();
  const directory = options.directory;
  const matches = directory
    ? await directory.lookup(query, options.lookupTimeoutMs ?? DEFAULTS.discoverTimeoutMs, options.settleMs ?? DEFAULTS.lookupSettleMs)
    : [];
  if (matches.length > 1) {
    const list = matches.map((m) => `${m.name} ${shortFingerprint(m.fingerprint)} (${m.addresses[0]})`).join(', ');
    throw chatError('ERR_AMBIGUOUS_PEER', `'${query}' matches ${matches.length} peers: ${list}; use a longer fingerprint prefix`);
  }
  const match = matches[0];
  if (match) {
    if (options.expect !== undefined && options.expect !== match.fingerprint) {
      throw chatError('ERR_PEER_KEY_MISMATCH', `'${query}' on the LAN announces key ${match.fingerprint}, not the expected ${options.expect}`);
    }
    return {
      label: match.name,
      candidates: match.addresses.map((host) => ({ host, port: match.port, ...(match.udpPort !== undefined ? { udpPort: match.udpPort } : {}) })),
      expect: match.fingerprint,
    };
  }
  // Not on the LAN: a bare word may still be a host name (from /etc/hosts or DNS).
  if (options.hostLookup !== false && !looksLikeFingerprint(query) && /^[A-Za-z0-9-]+$/.test(query)) {
    const resolved = await lookup(query).catch(() => undefined);
    if (resolved) return planDial(`${query}:${DEFAULTS.port}`, options);
  }
  const where = directory ? `on the LAN (mDNS, ${Math.round((options.lookupTimeoutMs ?? DEFAULTS.discoverTimeoutMs) / 1000)} s)` : '(LAN discovery is off)';
  throw chatError(
    'ERR_PEER_NOT_FOUND',
    `no peer named '${query}' found ${where}; try 'p2p-chat connect <ip>'`,
  );
}
