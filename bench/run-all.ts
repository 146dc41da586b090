// `npm run bench`: runs each benchmark in turn. Progress goes to stderr; stdout gets exactly one
// JSON line per benchmark (README: "Benchmarks"), so `npm run bench | jq` works.

import type { BenchResult, Log } from './bench-result.js';
import { runBulkMessages } from './bulk-messages.js';
import { runConnectFirstMessage } from './connect-first-message.js';
import { TempHomes } from './temp-homes.js';

const log: Log = (line) => process.stderr.write(`${line}\n`);

const homes = new TempHomes();
let failed = false;
try {
  const alice = homes.create('alice');
  const bob = homes.create('bob');
  const benchmarks: Array<[string, () => Promise<BenchResult>]> = [
    ['connect-first-message', () => runConnectFirstMessage(alice, bob, log)],
    ['bulk-messages', () => runBulkMessages(alice, bob, log)],
  ];
  for (const [name, run] of benchmarks) {
    log(`${name}: running`);
    const started = Date.now();
    try {
      const result = await run();
      process.stdout.write(`${JSON.stringify(result)}\n`);
      log(`${name}: ours ${result.ours} ${result.unit}, baseline ${result.baseline} ${result.unit} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
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
