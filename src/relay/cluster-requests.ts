// The control requests a relay of a cluster answers from the whole cluster: a lookup merges its
// own peers with the shared registry's, and a dial is invited by whichever relay holds the peer.
// Without a cluster, or while Redis is away, a relay answers from its own peers alone.

import { P2PChatError } from '../errors.js';
import type { PeerRef } from '../session/message-fields.js';
import type { PeerConnection } from '../session/peer-connection.js';
import { CLUSTER_FEATURE, MAX_LOOKUP_RESULTS, type RelayMessage, type RelayRecord } from '../session/relay-messages.js';
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
export async function lookupEverywhere(registry: RelayRegistry<unknown>, cluster: RelayCluster, query: string): Promise<RelayRecord[]> {
  const local = registry.lookup(query, MAX_LOOKUP_RESULTS);
  if (local.length >= MAX_LOOKUP_RESULTS) return local;
  const shared = (await cluster.lookup(query, MAX_LOOKUP_RESULTS)) ?? [];
  const found = new Map(local.map((record) => [record.fingerprint, record]));
  for (const { record } of shared) {
    if (found.size >= MAX_LOOKUP_RESULTS) break;
    if (!found.has(record.fingerprint)) found.set(record.fingerprint, record);
  }
  return [...found.values()];
}

/**
 * `message`, a dial from `connection` (dialler `from`, at address `ip`) for a peer not registered
 * here: passed to the relay of the cluster the peer is on, and its answer given as a `session`
 * naming that relay, or as the relay-error it gave.
 */
export async function dialElsewhere(
  cluster: RelayCluster,
  connection: PeerConnection,
  ip: string,
  from: PeerRef,
  message: Extract<RelayMessage, { type: 'dial' }>,
): Promise<void> {
  const { rid, fingerprint } = message;
  const fail = (code: string, text: string) => connection.send({ type: 'relay-error', rid, code, message: text });
  const found = await cluster.locate(fingerprint);
  if (!found) {
    fail('ERR_PEER_NOT_FOUND', `no peer with fingerprint ${fingerprint} is registered at this relay or its cluster`);
    return;
  }
  if (!connection.speaks(CLUSTER_FEATURE)) {
    fail('ERR_PEER_NOT_FOUND', `${fingerprint} is registered at ${found.relay}, another relay of this cluster, and this client is too old to be sent there; update it or use --relay ${found.relay}`);
    return;
  }
  try {
    const answer = await cluster.dial(found.relay, { a: from, b: fingerprint, ip, ...(message.early !== undefined ? { early: message.early } : {}) });
    if (!answer.ok) {
      fail(answer.code, answer.message);
      return;
    }
    connection.send({ type: 'session', rid, token: answer.token, peer: answer.peer, observed: connection.address, relay: found.relay });
  } catch (err) {
    const error = P2PChatError.from(err, 'ERR_CLUSTER_UNAVAILABLE');
    fail(error.code, error.message);
  }
}
