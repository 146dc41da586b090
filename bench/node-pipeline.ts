// file-transfer-direct's Node pipeline baseline (node-pipeline-child.ts): the same file sent by a
// minimal Node sender to a minimal Node receiver, in the same rounds as ours, timed from the
// sender's start to the receiver's exit, with each end's CPU from its own report. Ours against it
// is what our protocol and our code cost over Node's own; it against the CPU floor is what Node
// costs over the kernel's copies and node:crypto's arithmetic.

import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { MEGABYTE as MB } from './bench-result.js';
import { spawnNode, stopChild } from './children.js';
import { withTimeout } from './deadline.js';
import type { PipelineReport } from './node-pipeline-child.js';
import { offersAesGcm } from '../src/secure/cipher-offer.js';
import { round, summarize } from './stats.js';

const SCRIPT = fileURLToPath(new URL('./node-pipeline-child.js', import.meta.url));
/** 1 GiB at a crawling 10 MB/s is 107 s; only a hang reaches this. */
const RUN_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 15_000;

interface PipelineRun {
  readonly mbps: number;
  readonly sender: PipelineReport;
  readonly receiver: PipelineReport;
}

interface PipelineChild {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  /** Its stdout's next line; undefined once it has said all it will. */
  readonly nextLine: () => Promise<string | undefined>;
  /** The last of what it said on stderr, for an error. */
  readonly said: () => string;
}

let chosen: string | undefined;

/** The AEAD our peers' probe offers here, chosen once for every run's both ends. */
function aead(): string {
  return (chosen ??= offersAesGcm() ? 'aes-256-gcm' : 'chacha20-poly1305');
}

/**
 * Start an end. Its stdout is read from the start: a child's unread output is thrown away when it
 * exits (node:child_process resumes its streams), and the sender often exits before its report is
 * asked for.
 */
function start(args: readonly string[]): PipelineChild {
  const child = spawnNode(SCRIPT, [aead(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let said = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (said = (said + text).slice(-1_000)));
  const lines: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const woken = () => {
    wake?.();
    wake = undefined;
  };
  createInterface({ input: child.stdout! })
    .on('line', (line) => {
      lines.push(line);
      woken();
    })
    .on('close', () => {
      ended = true;
      woken();
    });
  const nextLine = async (): Promise<string | undefined> => {
    while (lines.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
    return lines.shift();
  };
  return { child, exited, nextLine, said: () => said.trim() };
}

async function nextLine(from: PipelineChild, ms: number, what: string): Promise<string> {
  const line = await withTimeout(from.nextLine(), ms, what);
  if (line === undefined) {
    await withTimeout(from.exited, START_TIMEOUT_MS, what).catch(() => undefined);
    throw new Error(`${what}: it exited (${String(from.child.exitCode ?? from.child.signalCode)}) without a word${from.said() ? `: ${from.said()}` : ''}`);
  }
  return line;
}

export type PipelineMode = 'accepted' | 'large-reads';

const MODES: Readonly<Record<PipelineMode, {
  readonly field: string;
  /** The end that listens (and prints its port) and the one that dials it; which is the receiver. */
  readonly listener: (source: string, destination: string) => string[];
  readonly dialler: (port: number, source: string, destination: string) => string[];
  readonly receiver: 'listener' | 'dialler';
  readonly text: string;
  readonly setup: string;
}>> = {
  accepted: {
    field: 'nodePipeline',
    listener: (_source, destination) => ['receive', destination],
    dialler: (port, source) => ['send', String(port), source],
    receiver: 'listener',
    text: 'node pipeline',
    setup:
      "node-pipeline-child.js: a minimal Node sender dialling a minimal Node receiver that reads through 'data' events (64 KiB reads, as ours), doing only our ends' necessary work (SHA-256 at both ends, the AEAD our peers' probe offers per 64 KiB record, vectored file writes): no handshake, acks or offer; sender start -> receiver's report",
  },
  'large-reads': {
    field: 'nodePipelineLargeReads',
    listener: (source) => ['send-accepting', source],
    dialler: (port, _source, destination) => ['receive-dialling', String(port), destination],
    receiver: 'dialler',
    text: 'with large reads',
    setup: "the same, but the receiver dials the sender and reads into one 1 MiB buffer (node:net's onread, offered only to sockets a program opens); receiver start -> its report",
  },
};

export class NodePipeline {
  readonly #mode: PipelineMode;
  readonly #runs: PipelineRun[] = [];
  #last: PipelineRun | undefined;

  constructor(mode: PipelineMode) {
    this.#mode = mode;
  }

  /** The pipeline's copy of `source` into `downloads`, to run among a round's contenders; `measured` false for a warm-up. */
  contender(source: string, downloads: string, measured: boolean): () => Promise<void> {
    const mode = MODES[this.#mode];
    return async () => {
      const destination = join(downloads, `${mode.field}.bin`);
      const listener = start(mode.listener(source, destination));
      let dialler: PipelineChild | undefined;
      try {
        const { port } = JSON.parse(await nextLine(listener, START_TIMEOUT_MS, 'the pipeline\'s listening end starting')) as { port: number };
        const begun = performance.now();
        dialler = start(mode.dialler(port, source, destination));
        const [receiver, sender] = mode.receiver === 'listener' ? [listener, dialler] : [dialler, listener];
        const received = JSON.parse(await nextLine(receiver, RUN_TIMEOUT_MS, 'the pipeline receiving the file')) as PipelineReport;
        const seconds = (performance.now() - begun) / 1000;
        const sent = JSON.parse(await nextLine(sender, START_TIMEOUT_MS, 'the pipeline sender ending')) as PipelineReport;
        await withTimeout(Promise.all([listener.exited, dialler.exited]), START_TIMEOUT_MS, 'the pipeline ends exiting');
        if (listener.child.exitCode !== 0 || dialler.child.exitCode !== 0) throw new Error('a pipeline end failed');
        const run = { mbps: statSync(source).size / MB / seconds, sender: sent, receiver: received };
        this.#last = run;
        if (measured) this.#runs.push(run);
      } finally {
        await Promise.all([stopChild(listener.child), dialler ? stopChild(dialler.child) : undefined]);
        rmSync(destination, { force: true });
      }
    };
  }

  /** `, node pipeline N MB/s` for the round just run. */
  lastRunText(): string {
    return `, ${MODES[this.#mode].text} ${(this.#last?.mbps ?? NaN).toFixed(0)} MB/s`;
  }

  /**
   * The result's `nodePipeline` field: its speed and each end's CPU per GiB (medians), ours ÷ it for
   * both, and it ÷ the CPU floor (`floorSeconds`, when measured).
   */
  result(oursMbps: number, oursCpuSeconds: number | undefined, floorSeconds: number | undefined, gib: number): Record<string, unknown> {
    const mode = MODES[this.#mode];
    if (this.#runs.length === 0) return { [mode.field]: { error: 'no run measured' } };
    const median = (pick: (r: PipelineRun) => number, digits = 3) => round(summarize(this.#runs.map(pick)).median, digits);
    const seconds = (r: PipelineReport) => (r.userMs + r.systemMs) / 1000 / gib;
    const mbps = median((r) => r.mbps, 1);
    const cpu = median((r) => seconds(r.sender) + seconds(r.receiver));
    return {
      [mode.field]: {
        setup: mode.setup,
        aead: this.#runs[0]!.sender.aead,
        mbps,
        runsMBps: this.#runs.map((r) => round(r.mbps, 1)),
        oursRatio: round(oursMbps / mbps, 3),
        cpuSecondsPerGiB: cpu,
        senderCpuSecondsPerGiB: median((r) => seconds(r.sender)),
        receiverCpuSecondsPerGiB: median((r) => seconds(r.receiver)),
        runsCpuSecondsPerGiB: this.#runs.map((r) => round(seconds(r.sender) + seconds(r.receiver), 3)),
        ...(oursCpuSeconds !== undefined ? { oursCpuRatio: round(oursCpuSeconds / cpu, 3) } : {}),
        ...(floorSeconds !== undefined ? { cpuRatioToFloor: round(cpu / floorSeconds, 3) } : {}),
        senderPeakRssMiB: median((r) => r.sender.vmHwmKiB / 1024, 1),
        receiverPeakRssMiB: median((r) => r.receiver.vmHwmKiB / 1024, 1),
      },
    };
  }
}
