// Numeric command-line settings, for the relay's limits and a listener's: the flag a settings
// key is given by, and the check that its value is a whole number, in one place for both.

import { chatError } from '../errors.js';

/** `maxPeersPerIp` -> `--max-peers-per-ip`. */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * The value cac handed back for `key` (a number, or a string when it did not look like one) as a
 * whole number of at least `min`; undefined when the flag was not given. Throws ERR_USAGE naming
 * the flag.
 */
export function wholeNumberFlag(flags: Readonly<Record<string, unknown>>, key: string, min: number): number | undefined {
  const raw = flags[key];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw chatError('ERR_USAGE', `${flagName(key)} must be a whole number of at least ${min}, got '${String(raw)}'`);
  }
  return value;
}
