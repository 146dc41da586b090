// Part of benchmark `relay-cluster`: relayed throughput when the dial crossed relays. Two
// `p2p-chat relay --cluster` processes, A and B, on one Redis with one key; the receiving peer is
// registered on A. Ours: the dialler is on B, which passes the dial to A over Redis, and is told
// (`session.relay`) to open its data connection to A, where the two are spliced. Baseline: the
// dialler on A too. The bytes, sender, receiver and timing are relayed-throughput's; runs
// alternate which goes first.

import type { Identity } from '../src/secure/identity-store.js';
import { CLUSTER_FEATURE } from '../src/session/relay-messages.js';
import { FEATURES } from '../src/secure/handshake-payload.js';
import type { Log } from './bench-result.js';
import { withTimeout } from './deadline.js';
import { RelayProcess } from './relay-process.js';
import { dataPair, measure, TOTAL_BYTES, type Pair, type Run } from './relayed-throughput.js';
import { cleanupRelayTestnet, ControlClient } from '../test/helpers/relay-testnet.js';

export const THROUGHPUT_RUNS = 5;
export const THROUGHPUT_WARMUP_RUNS = 1;
const SETUP_TIMEOUT_MS = 10_000;
/** The receiving peer's listening port, as registered: the relay invites only peers that listen. */
const NOMINAL_PORT = 5050;
/** A client that follows `session.relay` says so. */
const CLUSTER_CLIENT = [...FEATURES, CLUSTER_FEATURE];

export interface CrossRelayRuns {
  readonly ours: Run[];
  readonly baseline: Run[];
}

/** Throughput through relay A, dialled from relay B (ours) and from A itself (the baseline). */
export async function crossRelayThroughput(redisUrl: string, prefix: string, key: Identity, log: Log): Promise<CrossRelayRuns> {
  const cluster = ['--cluster', redisUrl, '--public-address', '127.0.0.1', '--cluster-prefix', prefix];
  const relays: RelayProcess[] = [];
  const clients: ControlClient[] = [];
  try {
    for (let i = 0; i < 2; i++) relays.push(await RelayProcess.start(log, cluster, key));
    const [a, b] = relays as [RelayProcess, RelayProcess];
    const connect = async (relay: RelayProcess, name: string) => {
      const client = await ControlClient.connect(relay.port, name, relay.fingerprint, undefined, undefined, CLUSTER_CLIENT);
      clients.push(client);
      return client;
    };
    const receiver = await connect(a, 'receiver');
    const answer = await receiver.register(NOMINAL_PORT, []);
    if (answer.type !== 'registered') throw new Error(`the receiver could not register at relay A: ${JSON.stringify(answer)}`);
    const fromB = await connect(b, 'dialler-b');
    const fromA = await connect(a, 'dialler-a');
    await visibleFrom(fromB, receiver.fingerprint);

    const ours = () => sessionPair({ client: fromB, relay: b }, receiver, a);
    const baseline = () => sessionPair({ client: fromA, relay: a }, receiver, a);
    log(`  relay-cluster: throughput warm-up (${THROUGHPUT_WARMUP_RUNS} × ${TOTAL_BYTES / 2 ** 20} MiB each)`);
    for (let i = 0; i < THROUGHPUT_WARMUP_RUNS; i++) for (const pair of [ours, baseline]) await measure(pair, TOTAL_BYTES);
    const runs: CrossRelayRuns = { ours: [], baseline: [] };
    for (let i = 0; i < THROUGHPUT_RUNS; i++) {
      // Alternate which goes first, so that neither always inherits the other's leftovers.
      const order = i % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
      for (const side of order) runs[side].push(await measure(side === 'ours' ? ours : baseline, TOTAL_BYTES));
      log(`  relay-cluster: throughput run ${i + 1}/${THROUGHPUT_RUNS}: dialled from B ${runs.ours[i]!.mbps.toFixed(0)} MB/s, from A ${runs.baseline[i]!.mbps.toFixed(0)} MB/s`);
    }
    return runs;
  } finally {
    await Promise.all(clients.map((c) => withTimeout(c.connection.close('done'), SETUP_TIMEOUT_MS, 'closing a control client').catch(() => undefined)));
    await cleanupRelayTestnet();
    for (const relay of relays) await relay.stop();
  }
}

/** Until a lookup at the dialler's relay finds `fingerprint` (its record reaches Redis on its own time). */
async function visibleFrom(client: ControlClient, fingerprint: string): Promise<void> {
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  for (;;) {
    const answer = await client.request({ type: 'lookup', query: fingerprint });
    if (answer.type === 'lookup-result' && answer.peers.some((p) => p.fingerprint === fingerprint)) return;
    if (Date.now() > deadline) throw new Error(`relay B's lookups did not find ${fingerprint}, registered at relay A, within ${SETUP_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `dialler` dials `receiver`; each opens its data connection where it is told (the dialler at
 * `session.relay` when given, else at its own relay), and the splice must be on `splicer`.
 */
async function sessionPair(dialler: { client: ControlClient; relay: RelayProcess }, receiver: ControlClient, splicer: RelayProcess): Promise<Pair> {
  const answer = await dialler.client.request({ type: 'dial', fingerprint: receiver.fingerprint });
  if (answer.type !== 'session') throw new Error(`the dial was refused: ${JSON.stringify(answer)}`);
  const invite = await receiver.waitFor('invite', (m) => !receiver.usedInvites.has(m.token), SETUP_TIMEOUT_MS);
  receiver.usedInvites.add(invite.token);
  const sentTo = answer.relay === undefined ? dialler.relay.port : Number(/:(\d+)$/.exec(answer.relay)?.[1]);
  if (sentTo !== splicer.port) throw new Error(`the dialler was sent to ${answer.relay ?? `its own relay (port ${sentTo})`}, not to relay A (port ${splicer.port})`);
  return dataPair(splicer.host, { port: sentTo, token: answer.token }, { port: splicer.port, token: invite.token }, splicer.pid);
}
