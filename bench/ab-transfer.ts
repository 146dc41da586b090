// This checkout's file transfer against another checkout's, run in turns: `send` to `listen`, 1 GiB
// from tmpfs to tmpfs, each pair in alternating order, every end's CPU from its exit report. The
// benchmarks' own figures move by 10-20 % with the machine's state from one invocation to the next,
// more than most single changes do; interleaving two builds puts the same drift on both, so this
// is how a change to the transfer path is judged (bench/README.md, "What each change bought").
//
//   node dist/bench/ab-transfer.js OTHER_CHECKOUT [PAIRS]    (both checkouts built)
//
// One JSON line on stdout (ours: this checkout's median CPU per GiB of both ends, baseline: the
// other's); progress on stderr.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BenchResult } from './bench-result.js';
import { directRoute, FILE_BYTES, oursOnce, type OursRun } from './file-transfer-throughput.js';
import { ScratchDir } from './scratch-dir.js';
import { round, summarize } from './stats.js';
import { TempHomes } from './temp-homes.js';

const DEFAULT_PAIRS = 6;
const MAX_PAIRS = 50;
const GIB = FILE_BYTES / 1024 ** 3;

async function main(argv: readonly string[]): Promise<void> {
  const [other, pairsText] = argv;
  const cli = other === undefined ? undefined : join(resolve(other), 'bin', 'p2p-chat.js');
  const pairs = pairsText === undefined ? DEFAULT_PAIRS : Number(pairsText);
  if (cli === undefined || !existsSync(cli) || !existsSync(join(resolve(other!), 'dist', 'src', 'cli', 'p2p-chat.js'))) {
    throw new Error('usage: node dist/bench/ab-transfer.js OTHER_CHECKOUT [PAIRS] (a built checkout: bin/ and dist/ present)');
  }
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > MAX_PAIRS) throw new Error(`PAIRS must be an integer from 1 to ${MAX_PAIRS}, got ${pairsText}`);

  const homes = new TempHomes();
  const scratch = ScratchDir.create('ab-transfer', 2 * FILE_BYTES + 64 * 1024 ** 2);
  try {
    const source = scratch.randomFile('source.bin', FILE_BYTES);
    const downloads = scratch.subdir('downloads');
    const ends = { sender: homes.create('ab-sender'), receiver: homes.create('ab-receiver') };
    const ours: OursRun[] = [];
    const theirs: OursRun[] = [];
    const once = (build?: string) => oursOnce(directRoute(), source, downloads, ends.sender, ends.receiver, build);
    await once(); // one unmeasured run: the first GiB written to tmpfs costs the host's page faults
    for (let i = 0; i < pairs; i++) {
      const turn = i % 2 === 0 ? [undefined, cli] : [cli, undefined];
      for (const build of turn) (build === undefined ? ours : theirs).push(await once(build));
      process.stderr.write(`  ab-transfer: pair ${i + 1}/${pairs}: this ${describe(ours.at(-1)!)}; other ${describe(theirs.at(-1)!)}\n`);
    }
    process.stdout.write(`${JSON.stringify(result(ours, theirs, resolve(other!), pairs))}\n`);
  } finally {
    scratch.remove();
    homes.removeAll();
  }
}

function cpu(run: OursRun, side: 'sender' | 'receiver'): number {
  const report = run[side];
  if (!report) throw new Error(`the ${side} gave no exit report`);
  return (report.userMs + report.systemMs) / 1000 / GIB;
}

function describe(run: OursRun): string {
  return `${run.mbps.toFixed(0)} MB/s, CPU ${(cpu(run, 'sender') + cpu(run, 'receiver')).toFixed(2)} s per GiB (${run.cipher})`;
}

function result(ours: readonly OursRun[], theirs: readonly OursRun[], other: string, pairs: number): BenchResult {
  const median = (runs: readonly OursRun[], pick: (r: OursRun) => number) => round(summarize(runs.map(pick)).median, 3);
  const total = (r: OursRun) => cpu(r, 'sender') + cpu(r, 'receiver');
  const o = median(ours, total);
  const b = median(theirs, total);
  return {
    bench: 'file-transfer-ab',
    ours: o,
    baseline: b,
    ratio: round(o / b, 3),
    better: 'lower',
    unit: 'CPU s per GiB (both ends)',
    runs: pairs,
    oursSetup: 'this checkout: p2p-chat listen and p2p-chat send 127.0.0.1:PORT FILE (1 GiB, tmpfs to tmpfs), each end its own process',
    baselineSetup: `the same with ${other}, in turns with ours (the order alternating per pair)`,
    oursCipher: [...new Set(ours.map((r) => r.cipher))].join(', '),
    baselineCipher: [...new Set(theirs.map((r) => r.cipher))].join(', '),
    oursMBps: median(ours, (r) => r.mbps),
    baselineMBps: median(theirs, (r) => r.mbps),
    oursSenderCpuSecondsPerGiB: median(ours, (r) => cpu(r, 'sender')),
    baselineSenderCpuSecondsPerGiB: median(theirs, (r) => cpu(r, 'sender')),
    oursReceiverCpuSecondsPerGiB: median(ours, (r) => cpu(r, 'receiver')),
    baselineReceiverCpuSecondsPerGiB: median(theirs, (r) => cpu(r, 'receiver')),
    oursRunsCpuSecondsPerGiB: ours.map((r) => round(total(r), 3)),
    baselineRunsCpuSecondsPerGiB: theirs.map((r) => round(total(r), 3)),
  };
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ab-transfer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
