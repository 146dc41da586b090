// This machine's own addresses, as a peer registers them with a relay so that a peer behind the
// same NAT can try the LAN address first. Loopback and link-local addresses are useless there.

import { networkInterfaces } from 'node:os';

export function localAddresses(max = 8): string[] {
  const out: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue;
      if (entry.family === 'IPv6' && /^fe[89ab]/i.test(entry.address)) continue;
      out.push(entry.address);
    }
  }
  // IPv4 first: it is what a NATed home network dials most reliably.
  return [...out.filter((a) => !a.includes(':')), ...out.filter((a) => a.includes(':'))].slice(0, max);
}
