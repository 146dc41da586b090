// `npm run bench`: runs each benchmark in turn. Progress goes to stderr; stdout gets exactly one
// JSON line per benchmark (bench/README.md: "Running"), so `npm run bench | jq` works.
// `node dist/bench/run-all.js NAME...` runs only the named ones.

import type { BenchResult, Log } from './bench-result.js';
import { runBulkMessages, runBulkMessagesAcks } from './bulk-messages.js';
import { runConnectFirstMessage } from './connect-first-message.js';
import { runDirectConnectRoundTrips } from './direct-connect-round-trips.js';
import { runListenerFlood } from './listener-flood.js';
import { runMessageRtt } from './message-rtt.js';
import { runFileTransferRss } from './file-transfer-rss.js';
import { runFileTransferDirect, runFileTransferRelayed } from './file-transfer-throughput.js';
import { runFileTransferUdp } from './file-transfer-udp.js';
import { runRelayCluster } from './relay-cluster.js';
import { runRelayConnectRoundTrips } from './relay-connect-round-trips.js';
import { runRelayIdlePeersRss } from './relay-idle-peers-rss.js';
import { runRelayedThroughput } from './relayed-throughput.js';
import { runResumeRoundTrips } from './resume-round-trips.js';
import { TempHomes } from './temp-homes.js';
import { runTimeToDirect } from './time-to-direct.js';

const log: Log = (line) => process.stderr.write(`${line}\n`);

const homes = new TempHomes();
let failed = false;
try {
  const alice = homes.create('alice');
  const bob = homes.create('bob');
  const benchmarks: Array<[string, () => Promise<BenchResult>]> = [
    ['connect-first-message', () => runConnectFirstMessage(alice, bob, log)],
    ['listener-flood', () => runListenerFlood(alice, bob, log)],
    ['bulk-messages', () => runBulkMessages(alice, bob, log)],
    ['bulk-messages-acks', () => runBulkMessagesAcks(alice, bob, log)],
    ['relayed-throughput', () => runRelayedThroughput(alice, bob, log)],
    ['relay-idle-peers-rss', () => runRelayIdlePeersRss(log)],
    ['relay-cluster', () => runRelayCluster(log)],
    ['relay-connect-round-trips', () => runRelayConnectRoundTrips(alice, bob, log)],
    ['direct-connect-round-trips', () => runDirectConnectRoundTrips(alice, bob, log)],
    ['resume-round-trips', () => runResumeRoundTrips(alice, bob, log)],
    ['message-rtt', () => runMessageRtt(alice, bob, log)],
    ['time-to-direct', () => runTimeToDirect(log)],
    ['file-transfer-direct', () => runFileTransferDirect(alice, bob, log)],
    ['file-transfer-relayed', () => runFileTransferRelayed(alice, bob, log)],
    ['file-transfer-udp', () => runFileTransferUdp(alice, bob, log)],
    ['file-transfer-rss', () => runFileTransferRss(alice, bob, log)],
  ];
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !benchmarks.some(([n]) => n === name));
  if (unknown.length > 0) {
    log(`unknown benchmark ${unknown.join(', ')} (known: ${benchmarks.map(([n]) => n).join(', ')})`);
    failed = true;
  }
  for (const [name, run] of benchmarks) {
    if (unknown.length > 0 || (only.length > 0 && !only.includes(name))) continue;
    log(`${name}: running`);
    const started = Date.now();
    try {
      const result = await run();
      process.stdout.write(`${JSON.stringify(result)}\n`);
      const baseline = result.baseline === null ? `no baseline (${result.error ?? 'not measured'})` : `baseline ${result.baseline} ${result.unit}`;
      const ours = result.ours === null ? 'no figure' : `ours ${result.ours} ${result.unit}`;
      log(`${name}: ${ours}, ${baseline} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed = true;
      log(`${name}: FAILED: ${(err as Error).stack ?? String(err)}`);
    }
  }
} finally {
  homes.removeAll();
}
// A benchmark that could not run is a failure, not a missing line to be silently skipped.
if (failed) process.exitCode = 1;
