// Parse what a user types after `connect`: host, host:port, [v6]:port, bare IPv6, and an optional
// expected fingerprint as `fp@host`. Pure; resolution and dialing happen elsewhere.

import { isIP } from 'node:net';
import { chatError } from '../errors.js';

export interface Target {
  readonly host: string;
  readonly port: number;
  /** The fingerprint as typed before '@', not yet validated. */
  readonly expect?: string;
}

export function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw chatError('ERR_BAD_PORT', `port ${text} is not a valid port (1-65535)`);
  }
  return port;
}

export function parseTarget(input: string, defaultPort: number): Target {
  const text = input.trim();
  const at = text.lastIndexOf('@');
  const expect = at > 0 ? text.slice(0, at) : undefined;
  const rest = at >= 0 ? text.slice(at + 1) : text;
  const withExpect = (t: { host: string; port: number }): Target => (expect ? { ...t, expect } : t);
  if (rest === '') throw chatError('ERR_BAD_TARGET', `'${input}' names no host`);

  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    const host = bracketed[1]!;
    if (isIP(host) !== 6) throw chatError('ERR_BAD_TARGET', `'${host}' is not an IPv6 address`);
    return withExpect({ host, port: bracketed[2] === undefined ? defaultPort : parsePort(bracketed[2]) });
  }
  if (isIP(rest) === 6) return withExpect({ host: rest, port: defaultPort });

  const colon = rest.lastIndexOf(':');
  const host = colon >= 0 ? rest.slice(0, colon) : rest;
  const port = colon >= 0 ? parsePort(rest.slice(colon + 1)) : defaultPort;
  if (!/^[A-Za-z0-9._-]+$/.test(host) || host.includes(':')) {
    throw chatError('ERR_BAD_TARGET', `'${input}' is not a host, host:port or [IPv6]:port`);
  }
  return withExpect({ host, port });
}
