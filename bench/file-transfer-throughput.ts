// Benchmarks `file-transfer-direct` and `file-transfer-relayed`: one 1 GiB file of random bytes
// sent over loopback as a user sends it, ours against a raw TCP pipe of the same file with socat.
// Ours is the real CLI, each end its own process with its own home: `p2p-chat listen
// --accept-files=any` and `p2p-chat send`, timed from the send's start (process start, handshake,
// offer included) to the receiver's file-done (written, SHA-256 checked, moved into place).
// The baseline is `socat -u FILE:src TCP:...` into `socat -u TCP-LISTEN:... OPEN:dest`, timed from
// the sending socat's start to the receiving one's exit. Relayed, ours goes through `p2p-chat
// relay` (the sender with --relay-only), the baseline through a socat relay (socat-relay.ts).
// Direct, scp with two ciphers is measured in the same rounds too (scp-baselines.ts), and so are
// a minimal Node program doing the same work, as ours reads and with large reads (node-pipeline.ts),
// and the CPU floor (cpu-floor.ts): socat's CPU in its runs, node:crypto's between rounds.
// Source and destinations are in tmpfs when there is room (scratch-dir.ts), so no disk is timed.
// Rounds alternate the order of the contenders, to spread the machine's drift over all.

import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MEGABYTE as MB, throughputResult, type BenchResult, type Log } from './bench-result.js';
import { cpuTimeMs, procStatusKiB } from './children.js';
import { CpuFloor } from './cpu-floor.js';
import type { CliEvent, CliProcess } from './cli-process.js';
import { withTimeout } from './deadline.js';
import type { ExitReport } from './exit-report.js';
import { HOST, receiverDone, startReceiver, startSender } from './file-transfer-peers.js';
import { NodePipeline } from './node-pipeline.js';
import { RelayProcess } from './relay-process.js';
import { ScratchDir } from './scratch-dir.js';
import { ScpBaselines } from './scp-baselines.js';
import { checkSocat, SocatListener, socatSendFile } from './socat-relay.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 5;
/**
 * One unmeasured run of each first: on a VM, the first GiB written to tmpfs lands on memory the
 * guest has not touched yet, which costs the host's page faults (socat's sink: up to 7x the kernel
 * time), and whichever side ran first would pay for it.
 */
const WARMUP_RUNS = 1;
const MiB = 1024 * 1024;
export const FILE_BYTES = 1024 * MiB;
/** The CPU figures are per GiB carried. */
const GIB_PER_RUN = FILE_BYTES / 1024 ** 3;
/** socat's copy buffer: 128 KiB, about what our sender hands the kernel in one vectored write. */
const SOCAT_BUFFER_BYTES = 128 * 1024;
const SETUP_TIMEOUT_MS = 15_000;
/** 1 GiB at a crawling 10 MB/s is 107 s; only a hang reaches this. */
const RUN_TIMEOUT_MS = 180_000;

type RouteName = 'direct' | 'relayed';

/** How the two ends meet: ours directly or through `p2p-chat relay`, the baseline's socat likewise. */
export interface Route {
  readonly name: RouteName;
  /** Extra `listen` arguments; `ready` resolves once the listener can be reached this way. */
  readonly listenArgs: readonly string[];
  readonly ready: (listener: CliProcess) => Promise<void>;
  /** The `send` target, given the listener's `listening` event, and extra options. */
  readonly sendTarget: (listening: CliEvent) => string;
  readonly sendOptions: readonly string[];
  /** The port the sending socat dials to reach the sink on `sinkPort`, and how to stop what is between. */
  readonly socatPath: (sinkPort: number) => Promise<{ readonly port: number; readonly stop: () => Promise<void> }>;
  /** The `p2p-chat relay` process in between, if any, for its CPU time. */
  readonly relayPid?: number;
  /** The transport the sender's `connected` event must name, when the route asks for one. */
  readonly transport?: 'tcp' | 'udp';
}

interface Run {
  /** The send's start to the receiver's file-done. */
  readonly mbps: number;
  readonly seconds: number;
}

export interface OursRun extends Run {
  /** The receiver's file-accepted to its file-done: the transfer alone, without start-up and handshake. */
  readonly transferMbps: number;
  readonly senderExitSeconds: number;
  readonly sender: ExitReport | undefined;
  readonly receiver: ExitReport | undefined;
  /** CPU time of the relay in between during the run, if any. */
  readonly relayCpuMs: number | undefined;
  /** The session's transport cipher, from the sender's `connected` event. */
  readonly cipher: string;
}

export function runFileTransferDirect(senderHome: BenchHome, receiverHome: BenchHome, log: Log): Promise<BenchResult> {
  return runFileTransfer(directRoute(), senderHome, receiverHome, log);
}

/** `send 127.0.0.1:PORT`; with `transport`, `--transport` forces it and the sender must report it. */
export function directRoute(transport?: 'tcp' | 'udp'): Route {
  return {
    name: 'direct',
    listenArgs: [],
    ready: async () => undefined,
    sendTarget: (listening) => `${HOST}:${String(listening.port)}`,
    sendOptions: transport ? ['--transport', transport] : [],
    socatPath: async (sinkPort) => ({ port: sinkPort, stop: async () => undefined }),
    ...(transport ? { transport } : {}),
  };
}

export async function runFileTransferRelayed(senderHome: BenchHome, receiverHome: BenchHome, log: Log): Promise<BenchResult> {
  const relay = await RelayProcess.start(log);
  try {
    const relayArg = `${relay.host}:${relay.port}#${relay.fingerprint}`;
    const route: Route = {
      name: 'relayed',
      relayPid: relay.pid,
      listenArgs: ['--relay', relayArg],
      ready: async (listener) => {
        await listener.waitFor('relay', SETUP_TIMEOUT_MS, (e) => e.state === 'registered');
      },
      // The full fingerprint: no lookup by name can find a stale registration instead.
      sendTarget: (listening) => String(listening.fingerprint),
      sendOptions: ['--relay', relayArg, '--relay-only'],
      socatPath: async (sinkPort) => {
        const socatRelay = await SocatListener.relay(sinkPort, ['-b', String(SOCAT_BUFFER_BYTES)]);
        return { port: socatRelay.port, stop: () => socatRelay.stop() };
      },
    };
    const result = await runFileTransfer(route, senderHome, receiverHome, log);
    // The relay lives through every round: its high-water mark is the whole benchmark's.
    return { ...result, oursRelayPeakRssMiB: round(procStatusKiB(relay.pid, 'VmHWM') / 1024, 1) };
  } finally {
    await relay.stop();
  }
}

async function runFileTransfer(route: Route, senderHome: BenchHome, receiverHome: BenchHome, log: Log): Promise<BenchResult> {
  const bench = `file-transfer-${route.name}`;
  const socat = checkSocat();
  if (!socat.ok) log(`${bench}: ${socat.reason}; measuring ours only`);
  // The source, and one received copy at a time (each is removed after its run).
  const scratch = ScratchDir.create(bench, 2 * FILE_BYTES + 64 * MiB);
  try {
    log(`  ${bench}: writing a ${FILE_BYTES / MiB} MiB random source file in ${scratch.describe()}`);
    const source = scratch.randomFile('source.bin', FILE_BYTES);
    const downloads = scratch.subdir('downloads');
    const ours: OursRun[] = [];
    const baseline: Run[] = [];
    const scp = route.name === 'direct' ? await ScpBaselines.start(log) : undefined;
    const floor = route.name === 'direct' && socat.ok ? new CpuFloor() : undefined;
    const pipelines = route.name === 'direct' ? [new NodePipeline('accepted'), new NodePipeline('large-reads')] : [];
    try {
      for (let i = -WARMUP_RUNS; i < RUNS; i++) {
        let oursRun: OursRun | undefined;
        let baselineRun: Run | undefined;
        const contenders: (() => Promise<unknown>)[] = [
          async () => (oursRun = await oursOnce(route, source, downloads, senderHome, receiverHome)),
          async () => {
            const copy = () => baselineOnce(route, source, downloads);
            if (socat.ok) baselineRun = floor && i >= 0 ? await floor.timeSocat(GIB_PER_RUN, copy) : await copy();
          },
          ...(scp?.contenders(source, downloads, i >= 0) ?? []),
          ...pipelines.map((p) => p.contender(source, downloads, i >= 0)),
        ];
        // Alternate the order, so that none always follows another's leftovers.
        for (const run of i % 2 === 0 ? contenders : contenders.reverse()) await run();
        if (i < 0 || !oursRun) continue;
        await floor?.measureCrypto();
        ours.push(oursRun);
        if (baselineRun) baseline.push(baselineRun);
        const socatText = baselineRun ? `, socat ${baselineRun.mbps.toFixed(0)} MB/s` : '';
        log(`  ${bench}: run ${i + 1}/${RUNS}: ours ${oursRun.mbps.toFixed(0)} MB/s (transfer alone ${oursRun.transferMbps.toFixed(0)})${socatText}${scp?.lastRunText() ?? ''}${pipelines.map((p) => p.lastRunText()).join('')}`);
      }
    } finally {
      await scp?.stop();
    }
    const socatExtra = socat.ok ? { socatVersion: socat.version } : { error: socat.reason };
    const floorExtra = floor?.result(ours.filter((r) => r.sender && r.receiver).map((r) => ({ senderMs: cpuMsPerGiB(r.sender!), receiverMs: cpuMsPerGiB(r.receiver!) })));
    const r = result(bench, route, scratch, ours, baseline, { ...socatExtra, ...floorExtra });
    const pipelineExtra = pipelines.map((p) => p.result(r.ours ?? 0, numberOr(floorExtra?.oursCpuSecondsPerGiB), numberOr(floorExtra?.cpuFloorSecondsPerGiB), GIB_PER_RUN));
    return Object.assign({ ...r, ...scp?.result(r.ours ?? 0) }, ...pipelineExtra) as BenchResult;
  } finally {
    scratch.remove();
  }
}

function result(bench: string, route: Route, scratch: ScratchDir, ours: OursRun[], baseline: Run[], extra: Record<string, unknown>): BenchResult {
  const median = <R>(runs: readonly R[], pick: (r: R) => number, digits = 1) => round(summarize(runs.map(pick)).median, digits);
  const o = median(ours, (r) => r.mbps);
  const b = baseline.length > 0 ? median(baseline, (r) => r.mbps) : null;
  const cpu = (side: 'sender' | 'receiver', pick: (r: ExitReport) => number) => cpuPerGiB(ours, side, pick);
  const reported = ours.filter((r) => r.sender && r.receiver);
  return {
    ...throughputResult(bench, o, b, { runs: RUNS, warmupRuns: WARMUP_RUNS, bytesPerRun: FILE_BYTES }),
    files: `one file of random bytes (not sparse); source and destinations in ${scratch.describe()}`,
    oursSetup:
      route.name === 'direct'
        ? 'p2p-chat listen --accept-files=any --download-dir D --no-mdns --port 0, then p2p-chat send 127.0.0.1:PORT FILE --no-mdns (own processes and homes); send start -> receiver file-done'
        : 'the same through p2p-chat relay (own process): listen --relay R, send FINGERPRINT --relay R --relay-only; send start -> receiver file-done',
    baselineSetup:
      route.name === 'direct'
        ? `socat -u -b ${SOCAT_BUFFER_BYTES} FILE:src TCP:127.0.0.1:P into socat -u -b ${SOCAT_BUFFER_BYTES} TCP-LISTEN:P,reuseaddr OPEN:dest,creat,trunc; sender start -> receiver exit`
        : `the same through socat -b ${SOCAT_BUFFER_BYTES} TCP-LISTEN:P,fork TCP:127.0.0.1:Q as the relay`,
    oursCipher: [...new Set(ours.map((r) => r.cipher))].join(', '),
    oursRunsMBps: ours.map((r) => round(r.mbps, 1)),
    baselineRunsMBps: baseline.map((r) => round(r.mbps, 1)),
    oursTransferOnlyMBps: median(ours, (r) => r.transferMbps),
    oursTransferOnlyRunsMBps: ours.map((r) => round(r.transferMbps, 1)),
    oursSenderExitSeconds: median(ours, (r) => r.senderExitSeconds, 2),
    oursSenderCpuMsPerGiB: cpu('sender', (r) => r.userMs + r.systemMs),
    oursSenderSystemCpuMsPerGiB: cpu('sender', (r) => r.systemMs),
    oursReceiverCpuMsPerGiB: cpu('receiver', (r) => r.userMs + r.systemMs),
    oursReceiverSystemCpuMsPerGiB: cpu('receiver', (r) => r.systemMs),
    ...(route.relayPid !== undefined ? { oursRelayCpuMsPerGiB: median(ours, (r) => (r.relayCpuMs ?? NaN) / GIB_PER_RUN, 0) } : {}),
    oursSenderPeakRssMiB: reported.length > 0 ? median(reported, (r) => r.sender!.vmHwmKiB / 1024) : null,
    oursReceiverPeakRssMiB: reported.length > 0 ? median(reported, (r) => r.receiver!.vmHwmKiB / 1024) : null,
    ...extra,
  };
}

/** One end's CPU time per GiB (ms), user and kernel, from its exit report. */
function cpuMsPerGiB(report: ExitReport): number {
  return (report.userMs + report.systemMs) / GIB_PER_RUN;
}

/** The median over `runs` of one end's CPU time per GiB (ms) as `pick` reads it from its exit report; null without reports. */
export function cpuPerGiB(runs: readonly OursRun[], side: 'sender' | 'receiver', pick: (r: ExitReport) => number): number | null {
  const reported = runs.filter((r) => r.sender && r.receiver);
  if (reported.length === 0) return null;
  return round(summarize(reported.map((r) => pick(r[side]!) / GIB_PER_RUN)).median, 0);
}

/** One transfer of ours over `route`, timed; `downloads` is emptied afterwards. `cli`: another checkout's. */
export async function oursOnce(route: Route, source: string, downloads: string, senderHome: BenchHome, receiverHome: BenchHome, cli?: string): Promise<OursRun> {
  const listener = startReceiver(receiverHome, downloads, route.listenArgs, cli);
  let sender: CliProcess | undefined;
  try {
    const { event: listening } = await listener.waitFor('listening', SETUP_TIMEOUT_MS);
    await route.ready(listener);
    const relayCpuBefore = relayCpuMs(route);
    sender = startSender(senderHome, route.sendTarget(listening), source, route.sendOptions, cli);
    const done = await receiverDone(listener, sender, RUN_TIMEOUT_MS);
    const relayCpu = relayCpuMs(route);
    const accepted = await listener.waitFor('file-accepted', 0);
    const senderExit = await sender.succeeded(SETUP_TIMEOUT_MS);
    const connected = await sender.waitFor('connected', 0);
    if (connected.event.path !== route.name) throw new Error(`the sender connected ${String(connected.event.path)}, not ${route.name}`);
    if (route.transport && connected.event.transport !== route.transport) throw new Error(`the sender connected over ${String(connected.event.transport)}, not ${route.transport}`);
    const seconds = (done.at - sender.startedAt) / 1000;
    await listener.stop();
    return {
      seconds,
      mbps: FILE_BYTES / MB / seconds,
      transferMbps: FILE_BYTES / MB / ((done.at - accepted.at) / 1000),
      senderExitSeconds: (senderExit - sender.startedAt) / 1000,
      sender: sender.exitReport,
      receiver: listener.exitReport,
      relayCpuMs: relayCpu === undefined || relayCpuBefore === undefined ? undefined : relayCpu - relayCpuBefore,
      cipher: typeof connected.event.cipher === 'string' ? connected.event.cipher : 'not reported',
    };
  } finally {
    await sender?.stop();
    await listener.stop();
    emptyDir(downloads);
  }
}

async function baselineOnce(route: Route, source: string, downloads: string): Promise<Run> {
  const destination = join(downloads, 'socat.bin');
  const sink = await SocatListener.fileSink(destination, ['-b', String(SOCAT_BUFFER_BYTES)]);
  let path: { readonly port: number; readonly stop: () => Promise<void> } | undefined;
  try {
    path = await route.socatPath(sink.port);
    const start = performance.now();
    const sent = socatSendFile(source, path.port, ['-b', String(SOCAT_BUFFER_BYTES)]);
    sent.catch(() => undefined); // awaited below
    const status = await withTimeout(sink.exited, RUN_TIMEOUT_MS, 'the socat sink receiving the file');
    const seconds = (performance.now() - start) / 1000;
    await withTimeout(sent, SETUP_TIMEOUT_MS, 'the sending socat exiting');
    const size = statSync(destination).size;
    if (status !== 0 || size !== FILE_BYTES) throw new Error(`the socat sink exited with status ${status} after ${size} of ${FILE_BYTES} bytes`);
    return { seconds, mbps: FILE_BYTES / MB / seconds };
  } finally {
    await path?.stop();
    await sink.stop();
    emptyDir(downloads);
  }
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function relayCpuMs(route: Route): number | undefined {
  if (route.relayPid === undefined) return undefined;
  const { user, system } = cpuTimeMs(route.relayPid);
  return user + system;
}

function emptyDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  // Recreated empty, so the next run's receiver finds it as the first one did.
  mkdirSync(dir);
}
