// The `relay` command's cluster flags (--cluster, --public-address, --cluster-prefix,
// --cluster-ttl-ms), checked together: one needs the others, and each malformed one is a one-line
// ERR_USAGE naming it.

import { chatError } from '../errors.js';
import { withPort } from '../relay/cluster-connection.js';
import { CLUSTER_DEFAULTS, type ClusterOptions } from '../relay/relay-cluster.js';
import { isRelayAddress, MAX_RELAY_ADDRESS } from '../session/relay-messages.js';
import { wholeNumberFlag } from './numeric-flags.js';

/** The shortest registration TTL: refreshed every third of it, so not more often than once a second. */
export const MIN_CLUSTER_TTL_MS = 3_000;
/**
 * The longest: a day, for which a dead relay's peers stay listed. (A third of it must fit a timer:
 * Node runs one of over 2^31 - 1 ms every millisecond instead.)
 */
export const MAX_CLUSTER_TTL_MS = 86_400_000;

export const CLUSTER_FLAGS = Object.freeze([
  { flag: '--cluster <url>', key: 'cluster', description: 'join a cluster of relays sharing this Redis (redis://[user:password@]host[:port][/db], or rediss://)', default: 'none: the relay works alone' },
  { flag: '--public-address <host[:port]>', key: 'publicAddress', description: 'with --cluster: the address peers reach this relay at; the port defaults to --port', default: 'none' },
  { flag: '--cluster-prefix <prefix>', key: 'clusterPrefix', description: 'with --cluster: prefix of its keys and channels in Redis', default: CLUSTER_DEFAULTS.keyPrefix },
  { flag: '--cluster-ttl-ms <n>', key: 'clusterTtlMs', description: `with --cluster: ms a registration lives in Redis unless refreshed (${MIN_CLUSTER_TTL_MS} to ${MAX_CLUSTER_TTL_MS})`, default: CLUSTER_DEFAULTS.ttlMs },
] as const);

/** The cluster options the flags ask for, or undefined without --cluster; `port` is the relay's. */
export function parseClusterFlags(flags: Readonly<Record<string, unknown>>, port: number): ClusterOptions | undefined {
  const url = text(flags.cluster, '--cluster');
  if (url === undefined) {
    const stray = CLUSTER_FLAGS.find((option) => option.key !== 'cluster' && flags[option.key] !== undefined);
    if (stray) throw chatError('ERR_USAGE', `${stray.flag.split(' ')[0]} needs --cluster URL`);
    return undefined;
  }
  if (!/^rediss?:\/\/[^\s]+$/.test(url) || !URL.canParse(url)) {
    throw chatError('ERR_USAGE', `--cluster '${url.slice(0, 80)}' is not a redis:// or rediss:// URL`);
  }
  const given = text(flags.publicAddress, '--public-address');
  if (given === undefined) throw chatError('ERR_USAGE', '--cluster needs --public-address HOST[:PORT], the address peers reach this relay at');
  // Without a port it is the port the relay listens on (known only once bound, with --port 0).
  if (!isRelayAddress(withPort(given, port || 1))) {
    throw chatError('ERR_USAGE', `--public-address '${given.slice(0, 80)}' is not HOST[:PORT] (a DNS name, an IPv4 address or [an IPv6 one]; at most ${MAX_RELAY_ADDRESS} characters)`);
  }
  const keyPrefix = text(flags.clusterPrefix, '--cluster-prefix');
  if (keyPrefix !== undefined && !/^[\x21-\x7e]{1,64}$/.test(keyPrefix)) {
    throw chatError('ERR_USAGE', '--cluster-prefix must be 1 to 64 printable characters without spaces');
  }
  const ttlMs = wholeNumberFlag(flags, 'clusterTtlMs', MIN_CLUSTER_TTL_MS);
  if (ttlMs !== undefined && ttlMs > MAX_CLUSTER_TTL_MS) throw chatError('ERR_USAGE', `--cluster-ttl-ms must be at most ${MAX_CLUSTER_TTL_MS} (a day), got ${ttlMs}`);
  return { url, publicAddress: given, ...(keyPrefix !== undefined ? { keyPrefix } : {}), ...(ttlMs !== undefined ? { ttlMs } : {}) };
}

function text(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw chatError('ERR_USAGE', `${flag} needs a value`);
  return value.trim();
}
