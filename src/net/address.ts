// How addresses are written for people: IPv4 as a.b.c.d:port, IPv6 in brackets, and the
// IPv4-mapped IPv6 form a dual-stack socket reports turned back into plain IPv4. Plus the address
// a dial that binds its own end needs: the target's IP, and the wildcard of its family.

import { lookup } from 'node:dns/promises';
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

/**
 * Whom a per-address cap counts a connection against: an IPv4 address as it is, an IPv6 address
 * by its /64, the block one home or host is given (one attacker with a /64 has 2^64 addresses).
 */
export function addressGroup(host: string): string {
  const plain = plainHost(host).split('%')[0]!;
  if (!isIPv6(plain)) return plain;
  const [head = '', tail] = plain.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}

/** `host` as IP addresses: itself when it is one, else every address the name resolves to, in the resolver's order. */
export async function resolveAll(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  return (await lookup(host, { all: true })).map((entry) => entry.address);
}

/** `host` as an IP address: itself when it is one, else what the name resolves to first. */
export async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  return (await lookup(host)).address;
}

/** The wildcard address of `ip`'s family, to bind a socket that sends to `ip` from any interface. */
export function anyAddressFor(ip: string): string {
  return isIP(ip) === 6 ? '::' : '0.0.0.0';
}
