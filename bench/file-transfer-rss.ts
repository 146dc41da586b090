// Benchmark `file-transfer-rss`: how much memory each end of a large transfer takes. A 4 GiB file
// goes over loopback between the real CLI processes (file-transfer-peers.ts); each one's peak
// resident set (VmHWM) is read from /proc every SAMPLE_MS, and once more as it exits (the exit
// report), and the high-water mark reached after each GiB shows whether memory stays flat or
// grows with the file. Ours is the larger of the two peaks; the baseline is the resident set of
// the same `listen` process while idle, before the offer: what the program costs before any
// transfer. The source is a sparse file (it reads as zeros: no 4 GiB of memory or disk to hold
// it); what is received goes to tmpfs when it has room (scratch-dir.ts), and is removed.

import { rmSync } from 'node:fs';
import { MEGABYTE, type BenchResult, type Log } from './bench-result.js';
import { procStatusKiB } from './children.js';
import type { CliProcess } from './cli-process.js';
import { HOST, receiverDone, startReceiver, startSender } from './file-transfer-peers.js';
import { ScratchDir } from './scratch-dir.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 3;
const GiB = 1024 ** 3;
const FILE_BYTES = 4 * GiB;
const SAMPLE_MS = 100;
/** The idle listener settles (its start-up garbage collected) for this long before it is read. */
const IDLE_SETTLE_MS = 2_000;
/** The goal: each end under this, whatever the file's size (bench/README.md). */
const GOAL_MIB = 100;
const SETUP_TIMEOUT_MS = 15_000;
/** 4 GiB at a crawling 20 MB/s is 215 s; only a hang reaches this. */
const RUN_TIMEOUT_MS = 300_000;

interface Memory {
  readonly rssKiB: number;
  readonly hwmKiB: number;
  readonly anonKiB: number;
}

interface Run {
  readonly idleRssKiB: number;
  readonly senderPeakKiB: number;
  readonly receiverPeakKiB: number;
  /** The highest RssAnon sampled: the process's own memory, without the pages of the node binary. */
  readonly idleAnonKiB: number;
  readonly senderPeakAnonKiB: number;
  readonly receiverPeakAnonKiB: number;
  /** VmHWM when the receiver had 1, 2, 3, 4 GiB: flat means the later ones do not climb. */
  readonly senderPeakByGiBKiB: readonly number[];
  readonly receiverPeakByGiBKiB: readonly number[];
  readonly seconds: number;
}

export async function runFileTransferRss(senderHome: BenchHome, receiverHome: BenchHome, log: Log): Promise<BenchResult> {
  const scratch = ScratchDir.create('file-transfer-rss', FILE_BYTES + 64 * 1024 ** 2);
  try {
    const source = scratch.sparseFile('sparse.bin', FILE_BYTES);
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const downloads = scratch.subdir(`downloads-${i}`);
      const run = await measure(source, downloads, senderHome, receiverHome);
      rmSync(downloads, { recursive: true, force: true });
      runs.push(run);
      log(
        `  file-transfer-rss: run ${i + 1}/${RUNS}: peak sender ${mib(run.senderPeakKiB)} MiB, receiver ${mib(run.receiverPeakKiB)} MiB ` +
          `(idle listen ${mib(run.idleRssKiB)} MiB; ${(FILE_BYTES / MEGABYTE / run.seconds).toFixed(0)} MB/s)`,
      );
    }
    return result(runs, scratch);
  } finally {
    scratch.remove();
  }
}

function result(runs: readonly Run[], scratch: ScratchDir): BenchResult {
  const median = (pick: (r: Run) => number) => round(summarize(runs.map(pick)).median / 1024, 1);
  const ours = median((r) => Math.max(r.senderPeakKiB, r.receiverPeakKiB));
  const baseline = median((r) => r.idleRssKiB);
  const byGiB = (pick: (r: Run) => readonly number[]) => pick(runs[0]!).map((_, g) => round(summarize(runs.map((r) => pick(r)[g] ?? NaN)).median / 1024, 1));
  return {
    bench: 'file-transfer-rss',
    ours,
    baseline,
    ratio: round(ours / baseline, 2),
    better: 'lower',
    unit: 'MiB',
    runs: RUNS,
    statistic: 'median over runs of the larger peak (VmHWM) of sender and receiver; baseline: VmRSS of the idle listen',
    goalMiB: GOAL_MIB,
    bytesPerRun: FILE_BYTES,
    files: `a sparse source (reads as zeros); received into ${scratch.describe()}`,
    oursSetup: 'p2p-chat listen --accept-files=any and p2p-chat send 127.0.0.1:PORT FILE, own processes; VmHWM sampled every 100 ms and at exit',
    baselineSetup: `the same p2p-chat listen, idle for ${IDLE_SETTLE_MS} ms after it started listening`,
    senderPeakMiB: median((r) => r.senderPeakKiB),
    receiverPeakMiB: median((r) => r.receiverPeakKiB),
    senderPeakRunsMiB: runs.map((r) => mib(r.senderPeakKiB)),
    receiverPeakRunsMiB: runs.map((r) => mib(r.receiverPeakKiB)),
    senderPeakAfterEachGiBMiB: byGiB((r) => r.senderPeakByGiBKiB),
    receiverPeakAfterEachGiBMiB: byGiB((r) => r.receiverPeakByGiBKiB),
    idleListenRunsMiB: runs.map((r) => mib(r.idleRssKiB)),
    privateSetup: 'RssAnon (the resident memory that is the process\'s own, without the node binary\'s pages every node process shares), its highest sample',
    senderPeakPrivateMiB: median((r) => r.senderPeakAnonKiB),
    receiverPeakPrivateMiB: median((r) => r.receiverPeakAnonKiB),
    idleListenPrivateMiB: median((r) => r.idleAnonKiB),
    transferMBps: round(summarize(runs.map((r) => FILE_BYTES / MEGABYTE / r.seconds)).median, 0),
  };
}

async function measure(source: string, downloads: string, senderHome: BenchHome, receiverHome: BenchHome): Promise<Run> {
  const listener = startReceiver(receiverHome, downloads);
  let sender: CliProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const { event: listening } = await listener.waitFor('listening', SETUP_TIMEOUT_MS);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const idle = memory(listener.pid)!;
    const tx = startSender(senderHome, `${HOST}:${String(listening.port)}`, source);
    sender = tx;
    const peaks = { sender: 0, receiver: 0 };
    const anonPeaks = { sender: 0, receiver: 0 };
    const byGiB = { sender: [] as number[], receiver: [] as number[] };
    const sample = () => {
      const received = lastProgress(listener);
      for (const [side, cli] of [['sender', tx], ['receiver', listener]] as const) {
        const m = memory(cli.pid);
        if (m) peaks[side] = Math.max(peaks[side], m.hwmKiB);
        if (m) anonPeaks[side] = Math.max(anonPeaks[side], m.anonKiB);
        while (byGiB[side].length < Math.floor(received / GiB)) byGiB[side].push(peaks[side]);
      }
    };
    sampler = setInterval(sample, SAMPLE_MS);
    const done = await receiverDone(listener, tx, RUN_TIMEOUT_MS);
    sample();
    clearInterval(sampler);
    await tx.succeeded(SETUP_TIMEOUT_MS);
    await listener.stop();
    // The exit reports hold each process's high-water mark at its very end, after the last sample.
    const atExit = (cli: CliProcess, sampled: number) => Math.max(sampled, cli.exitReport?.vmHwmKiB ?? 0);
    const senderPeakKiB = atExit(tx, peaks.sender);
    const receiverPeakKiB = atExit(listener, peaks.receiver);
    return {
      idleRssKiB: idle.rssKiB,
      senderPeakKiB,
      receiverPeakKiB,
      idleAnonKiB: idle.anonKiB,
      senderPeakAnonKiB: anonPeaks.sender,
      receiverPeakAnonKiB: anonPeaks.receiver,
      senderPeakByGiBKiB: complete(byGiB.sender, senderPeakKiB),
      receiverPeakByGiBKiB: complete(byGiB.receiver, receiverPeakKiB),
      seconds: (done.at - tx.startedAt) / 1000,
    };
  } finally {
    clearInterval(sampler);
    await sender?.stop();
    await listener.stop();
  }
}

/** The marks the samples reached, and the final peak for the last GiB (and any the samples missed). */
function complete(marks: readonly number[], finalPeak: number): number[] {
  const out = marks.slice(0, FILE_BYTES / GiB - 1);
  while (out.length < FILE_BYTES / GiB) out.push(finalPeak);
  return out;
}

/** Bytes the receiver last reported having. */
function lastProgress(receiver: CliProcess): number {
  for (let i = receiver.events.length - 1; i >= 0; i--) {
    const { event } = receiver.events[i]!;
    if (event.type === 'file-progress') return Number(event.bytes);
    if (event.type === 'file-done') return Number(event.total);
  }
  return 0;
}

/** VmRSS, VmHWM and RssAnon of a live process; undefined once it has gone. */
function memory(pid: number): Memory | undefined {
  try {
    return { rssKiB: procStatusKiB(pid, 'VmRSS'), hwmKiB: procStatusKiB(pid, 'VmHWM'), anonKiB: procStatusKiB(pid, 'RssAnon') };
  } catch {
    return undefined;
  }
}

function mib(kib: number): number {
  return round(kib / 1024, 1);
}
