// Part of benchmark `relay-cluster`: how long a lookup takes when the relay asked must go to Redis
// (the peer is registered on another relay of the cluster) against a lone relay answering from
// its own registry. Lookups by nickname and by fingerprint prefix, each from a real RelayClient
// (connected, not registered, as `connect` is), one at a time: every round takes the four (two
// kinds, two relays) in a random order, so neither relay always follows the other.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayClient } from '../src/app/relay-client.js';
import { RELAY_DEFAULTS } from '../src/relay/relay-defaults.js';
import { withTimeout } from './deadline.js';
import type { SwarmPeer } from './peer-swarm.js';
import { UNBOUND_TCP } from './unbound-tcp.js';
import { quantile, round, shuffled } from './stats.js';
import { newIdentity } from '../test/helpers/relay-testnet.js';

const LOOKUP_ROUNDS = 400;
const LOOKUP_WARMUP_ROUNDS = 40;
/** Characters of a fingerprint looked up by prefix (without dashes): unique among 30,000 peers. */
export const PREFIX_CHARACTERS = 8;
/** Between rounds: at most ~50 rounds a second, two lookups a round on each relay... */
const ROUND_GAP_MS = 20;
/**
 * ...spread over this many control connections per relay, each then asking about 3 times a second,
 * under the relay's limit per connection (RELAY_DEFAULTS.controlRequestsPerSec, 5): a refused
 * lookup would end the benchmark.
 */
export const LOOKUP_CLIENTS_PER_RELAY = Math.ceil((2 * (1000 / ROUND_GAP_MS)) / (RELAY_DEFAULTS.controlRequestsPerSec * 0.6));
const SETUP_TIMEOUT_MS = 10_000;

/** A relay to ask, and peers to ask it about. */
export interface LookupSide {
  readonly port: number;
  readonly fingerprint: string;
  readonly targets: readonly SwarmPeer[];
}

/** Latency of one kind of lookup, ours against the baseline, in the shape of a benchmark's line. */
export interface LookupComparison {
  readonly ours: number;
  readonly baseline: number;
  readonly ratio: number;
  readonly oursP99: number;
  readonly baselineP99: number;
  readonly ratioP99: number;
  readonly better: 'lower';
  readonly unit: 'ms';
  readonly statistic: 'median';
  readonly runs: number;
  readonly warmupRuns: number;
}

type Kind = 'nickname' | 'prefix';

/** Lookups on `ours` (a relay of the cluster) and `baseline` (a lone relay), interleaved. */
export async function compareLookups(ours: LookupSide, baseline: LookupSide): Promise<Record<Kind, LookupComparison>> {
  const sides = { ours, baseline };
  const clients: RelayClient[] = [];
  try {
    const pools = {
      ours: await connectPool(ours, clients),
      baseline: await connectPool(baseline, clients),
    };
    const samples: Record<Kind, Record<'ours' | 'baseline', number[]>> = {
      nickname: { ours: [], baseline: [] },
      prefix: { ours: [], baseline: [] },
    };
    const tasks = (['nickname', 'prefix'] as const).flatMap((kind) => (['ours', 'baseline'] as const).map((side) => ({ kind, side })));
    for (let turn = 0; turn < LOOKUP_WARMUP_ROUNDS + LOOKUP_ROUNDS; turn++) {
      for (const { kind, side } of shuffled(tasks)) {
        const { targets } = sides[side];
        const target = targets[turn % targets.length]!;
        const pool = pools[side];
        const client = pool[turn % pool.length]!;
        const ms = await timedLookup(client, kind === 'nickname' ? target.name : target.fingerprint.replace(/-/g, '').slice(0, PREFIX_CHARACTERS), target);
        if (turn >= LOOKUP_WARMUP_ROUNDS) samples[kind][side].push(ms);
      }
      await sleep(ROUND_GAP_MS);
    }
    return { nickname: comparison(samples.nickname), prefix: comparison(samples.prefix) };
  } finally {
    await Promise.all(clients.map((c) => withTimeout(c.close(), SETUP_TIMEOUT_MS, 'closing a lookup client').catch(() => undefined)));
  }
}

async function connectPool(side: LookupSide, all: RelayClient[]): Promise<RelayClient[]> {
  const relay = { host: '127.0.0.1', port: side.port, label: `127.0.0.1:${side.port}` };
  const pool = Array.from({ length: LOOKUP_CLIENTS_PER_RELAY }, (_, i) => {
    // Port 0: not listening, so not registered (as `connect` is): the relay takes its lookups all the same.
    const client = new RelayClient({ relays: [{ address: relay, pin: side.fingerprint }], identity: newIdentity(), name: () => `asker-${i}`, port: 0, addresses: [], transport: UNBOUND_TCP });
    all.push(client);
    client.start();
    return client;
  });
  await Promise.all(pool.map((c) => c.whenRegistered(SETUP_TIMEOUT_MS)));
  return pool;
}

/** One lookup's time from the request to the answer, which must hold `target`. */
async function timedLookup(client: RelayClient, query: string, target: SwarmPeer): Promise<number> {
  const started = performance.now();
  const found = await client.lookup(query);
  const ms = performance.now() - started;
  if (!found.some((record) => record.fingerprint === target.fingerprint)) {
    throw new Error(`a lookup of ${JSON.stringify(query)} at relay ${client.label} did not find ${target.name} (${target.fingerprint}): ${found.length} other peers`);
  }
  return ms;
}

function comparison(samples: Record<'ours' | 'baseline', number[]>): LookupComparison {
  const [o50, b50] = [quantile(samples.ours, 0.5), quantile(samples.baseline, 0.5)];
  const [o99, b99] = [quantile(samples.ours, 0.99), quantile(samples.baseline, 0.99)];
  return {
    ours: round(o50),
    baseline: round(b50),
    ratio: round(o50 / b50, 2),
    oursP99: round(o99),
    baselineP99: round(b99),
    ratioP99: round(o99 / b99, 2),
    better: 'lower',
    unit: 'ms',
    statistic: 'median',
    runs: samples.ours.length,
    warmupRuns: LOOKUP_WARMUP_ROUNDS,
  };
}
