// Which advertised address to dial first: IPv4, then global IPv6, then link-local IPv6 (only with
// a scope, since fe80:: means nothing without an interface). Loopback and unspecified go last or
// nowhere: a peer on the LAN never lives at our own 127.0.0.1.

import { isIP } from 'node:net';

function rank(address: string): number {
  const [host = '', scope] = address.split('%');
  const family = isIP(host);
  if (family === 4) {
    if (host.startsWith('127.') || host === '0.0.0.0') return -1;
    if (host.startsWith('169.254.')) return 2;
    return 0;
  }
  if (family === 6) {
    const lower = host.toLowerCase();
    if (lower === '::1' || lower === '::') return -1;
    if (/^fe[89ab]/.test(lower)) return scope ? 3 : -1;
    return 1;
  }
  return -1;
}

/** Dialable addresses, best first, without duplicates; `scope` is added to bare link-local ones. */
export function orderAddresses(addresses: readonly string[], scope?: string): string[] {
  const withScope = addresses.map((a) => (scope && !a.includes('%') && /^fe[89ab]/i.test(a) ? `${a}%${scope}` : a));
  const unique = [...new Set(withScope)];
  return unique
    .map((address, index) => ({ address, index, rank: rank(address) }))
    .filter((entry) => entry.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.address);
}
