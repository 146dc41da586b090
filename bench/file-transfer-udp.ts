// Benchmark `file-transfer-udp`: what UDP costs a direct file transfer against TCP. The same 1 GiB
// file of random bytes goes from `p2p-chat send 127.0.0.1:PORT FILE --transport udp` (a udx
// stream) and, in alternate runs, `--transport tcp` to the same kind of `p2p-chat listen
// --accept-files=any` (which listens on both), timed as `file-transfer-direct` times it: the
// send's start to the receiver's file-done. Each end's CPU time per GiB, per transport, shows
// where the difference goes. Source and destinations in tmpfs (scratch-dir.ts).

import { throughputResult, type BenchResult, type Log } from './bench-result.js';
import { cpuPerGiB, directRoute, FILE_BYTES, oursOnce, type OursRun, type Route } from './file-transfer-throughput.js';
import { ScratchDir } from './scratch-dir.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 5;
/** One of each first, unmeasured (file-transfer-throughput.ts: tmpfs pages the VM has not touched). */
const WARMUP_RUNS = 1;
const MiB = 1024 * 1024;

export async function runFileTransferUdp(senderHome: BenchHome, receiverHome: BenchHome, log: Log): Promise<BenchResult> {
  const bench = 'file-transfer-udp';
  const udp = directRoute('udp');
  const tcp = directRoute('tcp');
  // The source, and one received copy at a time (each is removed after its run).
  const scratch = ScratchDir.create(bench, 2 * FILE_BYTES + 64 * MiB);
  try {
    log(`  ${bench}: writing a ${FILE_BYTES / MiB} MiB random source file in ${scratch.describe()}`);
    const source = scratch.randomFile('source.bin', FILE_BYTES);
    const downloads = scratch.subdir('downloads');
    const once = (route: Route) => oursOnce(route, source, downloads, senderHome, receiverHome);
    const ours: OursRun[] = [];
    const baseline: OursRun[] = [];
    for (let i = -WARMUP_RUNS; i < RUNS; i++) {
      // Alternate which goes first, so that neither always follows the other's leftovers.
      let udpRun: OursRun;
      let tcpRun: OursRun;
      if (i % 2 === 0) {
        udpRun = await once(udp);
        tcpRun = await once(tcp);
      } else {
        tcpRun = await once(tcp);
        udpRun = await once(udp);
      }
      if (i < 0) continue;
      ours.push(udpRun);
      baseline.push(tcpRun);
      const transferOnly = `transfer alone ${udpRun.transferMbps.toFixed(0)} and ${tcpRun.transferMbps.toFixed(0)}`;
      log(`  ${bench}: run ${i + 1}/${RUNS}: udp ${udpRun.mbps.toFixed(0)} MB/s, tcp ${tcpRun.mbps.toFixed(0)} MB/s (${transferOnly})`);
    }
    const median = (runs: readonly OursRun[], pick: (r: OursRun) => number, digits = 1) => round(summarize(runs.map(pick)).median, digits);
    const cpu = (runs: readonly OursRun[]) => ({
      senderCpuMsPerGiB: cpuPerGiB(runs, 'sender', (r) => r.userMs + r.systemMs),
      senderSystemCpuMsPerGiB: cpuPerGiB(runs, 'sender', (r) => r.systemMs),
      receiverCpuMsPerGiB: cpuPerGiB(runs, 'receiver', (r) => r.userMs + r.systemMs),
      receiverSystemCpuMsPerGiB: cpuPerGiB(runs, 'receiver', (r) => r.systemMs),
    });
    const prefixed = (prefix: string, fields: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${prefix}${key[0]!.toUpperCase()}${key.slice(1)}`, value]));
    return {
      ...throughputResult(bench, median(ours, (r) => r.mbps), median(baseline, (r) => r.mbps), { runs: RUNS, warmupRuns: WARMUP_RUNS, bytesPerRun: FILE_BYTES }),
      files: `one file of random bytes (not sparse); source and destinations in ${scratch.describe()}`,
      oursSetup: 'p2p-chat listen --accept-files=any --download-dir D --no-mdns --port 0, then p2p-chat send 127.0.0.1:PORT FILE --no-mdns --transport udp (own processes and homes); send start -> receiver file-done',
      baselineSetup: 'the same with --transport tcp, runs alternating',
      oursRunsMBps: ours.map((r) => round(r.mbps, 1)),
      baselineRunsMBps: baseline.map((r) => round(r.mbps, 1)),
      oursTransferOnlyMBps: median(ours, (r) => r.transferMbps),
      baselineTransferOnlyMBps: median(baseline, (r) => r.transferMbps),
      ...prefixed('ours', cpu(ours)),
      ...prefixed('baseline', cpu(baseline)),
    };
  } finally {
    scratch.remove();
  }
}
