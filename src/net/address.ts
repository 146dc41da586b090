// How addresses are written for people: IPv4 as a.b.c.d:port, IPv6 in brackets, and the
// IPv4-mapped IPv6 form a dual-stack socket reports turned back into plain IPv4.

import { isIP, isIPv6 } from 'node:net';

/** Whether `text` is an IPv4 or IPv6 address (without a port or a %scope). */
export function isIpAddress(text: string): boolean {
  return isIP(text) !== 0;
}

export function plainHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

export function formatHostPort(host: string | undefined, port: number | undefined): string {
  const h = plainHost(host ?? '?');
  return `${isIPv6(h) ? `[${h}]` : h}:${port ?? '?'}`;
}
