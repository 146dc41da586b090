// The control requests a relay of a cluster answers from the whole cluster: a lookup merges its
// own peers with the shared registry's, and a dial is invited by whichever relay holds the peer.
// Without a cluster, or while Redis is away, a relay answers from its own peers alone.

import { MAX_LOOKUP_RESULTS, type RelayRecord } from '../session/relay-messages.js';
import type { RelayCluster } from './relay-cluster.js';
import type { RelayRegistry } from './relay-registry.js';

/** A dial's outcome at the relay that holds the dialled peer: the dialler's token, or why not. */
export type ClusterDial =
  | { readonly ok: true; readonly token: string; readonly peer: RelayRecord }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * The peers matching `query`, at most MAX_LOOKUP_RESULTS: this relay's own first (they are the
 * freshest), then the cluster's that are not among them.
 */
export async function lookupEverywhere(registry: RelayRegistry<unknown>, cluster: RelayCluster | undefined, query: string): Promise<RelayRecord[]> {
  const local = registry.lookup(query, MAX_LOOKUP_RESULTS);
  if (!cluster || local.length >= MAX_LOOKUP_RESULTS) return local;
  const shared = (await cluster.lookup(query, MAX_LOOKUP_RESULTS)) ?? [];
  const found = new Map(local.map((record) => [record.fingerprint, record]));
  for (const { record } of shared) {
    if (found.size >= MAX_LOOKUP_RESULTS) break;
    if (!found.has(record.fingerprint)) found.set(record.fingerprint, record);
  }
  return [...found.values()];
}
