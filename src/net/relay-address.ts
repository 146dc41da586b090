// Parse `--relay host[:port][#fingerprint][,...]`: where the relays are (tried in the order
// given), and optionally each one's pinned key.

import { DEFAULTS } from '../defaults.js';
import { chatError } from '../errors.js';
import { formatHostPort } from './address.js';
import { parseTarget } from './target.js';

/** The most relays one `--relay` may list. */
export const MAX_RELAYS = 8;

export interface RelayAddress {
  readonly host: string;
  readonly port: number;
  /** The relay's fingerprint as typed after '#', not yet validated. */
  readonly pin?: string;
  /** host:port, for messages. */
  readonly label: string;
}

export function parseRelayAddress(input: string): RelayAddress {
  const hash = input.indexOf('#');
  const where = hash >= 0 ? input.slice(0, hash) : input;
  const pin = hash >= 0 ? input.slice(hash + 1) : undefined;
  if (where.includes('@')) throw chatError('ERR_BAD_TARGET', `'${input}': pin a relay's key as host#FINGERPRINT`);
  if (pin === '') throw chatError('ERR_BAD_TARGET', `'${input}' has an empty fingerprint after '#'`);
  const target = parseTarget(where, DEFAULTS.port);
  return { host: target.host, port: target.port, label: formatHostPort(target.host, target.port), ...(pin ? { pin } : {}) };
}

/** A comma-separated list of relays, in the order they are to be tried; at least one, at most MAX_RELAYS. */
export function parseRelayList(input: string): RelayAddress[] {
  const entries = input.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) throw chatError('ERR_BAD_TARGET', `'${input}' has an empty relay in its list`);
  if (entries.length > MAX_RELAYS) throw chatError('ERR_USAGE', `'${input}' lists ${entries.length} relays; at most ${MAX_RELAYS}`);
  const relays = entries.map(parseRelayAddress);
  const twice = relays.find((relay, i) => relays.findIndex((other) => other.label === relay.label) !== i);
  if (twice) throw chatError('ERR_USAGE', `'${input}' lists relay ${twice.label} twice`);
  return relays;
}
