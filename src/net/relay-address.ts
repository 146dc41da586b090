// Parse `--relay host[:port][#fingerprint]`: where the relay is, and optionally its pinned key.

import { DEFAULTS } from '../defaults.js';
import { chatError } from '../errors.js';
import { formatHostPort } from './address.js';
import { parseTarget } from './target.js';

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
