// Benchmark `resume-round-trips`: how many round trips a conversation takes to resume after its
// connection is reset, beyond the first backoff wait. Two in-process Conversations (a listener and
// a dialler, as `listen` and `connect` run them) talk through a delay proxy adding ONE_WAY_MS each
// way; the proxy resets the connection at both ends, and the clock runs from the dialler noticing
// (its `reconnecting` event) to the conversation resumed (its `reconnected`), less the backoff
// wait that event announced (`retryInMs`). Each side sends a line while cut off; when each arrives
// is a detail. Baseline: a raw TCP client that, reset through the same kind of proxy, dials again
// at once and has one line echoed. The same two Conversations are cut again and again; runs alternate.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppEvent } from '../src/app/app-events.js';
import { Conversation } from '../src/app/conversation.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import type { BenchResult, Log } from './bench-result.js';
import { withTimeout } from './deadline.js';
import { DelayProxy } from './delay-proxy.js';
import { closeSocket, DELAY_MODEL, EchoBehindProxy, HOST, medianTrips, ONE_WAY_MS, roundTripResult, RTT_MS, STEP_TIMEOUT_MS } from './round-trips.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 15;
const WARMUP_RUNS = 2;
/** Between cuts: the last acknowledgements (ackDelayMs after a line) have flowed; nothing is in flight. */
const SETTLE_MS = 400;
const TEXT = 'hello again';

interface Sample {
  /** The reset to the dialler's `reconnecting` (the reset reaching it, and its close handling). */
  readonly noticedMs: number;
  /** The first backoff wait, as its `reconnecting` event announced it. */
  readonly retryInMs: number;
  /** `reconnecting` events at the dialler: 1 unless its first try failed. */
  readonly attempts: number;
  /** From the dialler's `reconnecting` to its `reconnected`: the benchmark's figure, less retryInMs. */
  readonly resumedMs: number;
  /** From the dialler's `reconnecting` to the listener's `reconnected`. */
  readonly listenerResumedMs: number;
  /** From the dialler's `reconnecting` to the line it sent while cut off arriving at the listener. */
  readonly diallerLineMs: number;
  /** From the dialler's `reconnecting` to the listener's line (sent while cut off) arriving at the dialler. */
  readonly listenerLineMs: number;
}

export async function runResumeRoundTrips(listenerHome: BenchHome, diallerHome: BenchHome, log: Log): Promise<BenchResult> {
  const echo = await EchoBehindProxy.start();
  const pair = await ConversationPair.start(listenerHome, diallerHome);
  try {
    const ours: Sample[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
      await sleep(SETTLE_MS);
      const o = await pair.cutAndResume(i);
      const b = await rawReconnect(echo);
      if (i < WARMUP_RUNS) continue;
      ours.push(o);
      baseline.push(b);
      const trips = (o.resumedMs - o.retryInMs) / RTT_MS;
      log(`  resume-round-trips: run ${i - WARMUP_RUNS + 1}/${RUNS}: ours ${trips.toFixed(2)} round trips after a ${o.retryInMs} ms backoff, raw TCP ${(b / RTT_MS).toFixed(2)}`);
    }
    const beyondBackoff = (pick: (s: Sample) => number) => medianTrips(ours.map((s) => pick(s) - s.retryInMs));
    const o = beyondBackoff((s) => s.resumedMs);
    const b = medianTrips(baseline);
    return {
      ...roundTripResult('resume-round-trips', o, b, { runs: RUNS, warmupRuns: WARMUP_RUNS }),
      oursListenerResumedRoundTrips: beyondBackoff((s) => s.listenerResumedMs),
      oursDiallerLineRoundTrips: beyondBackoff((s) => s.diallerLineMs),
      oursListenerLineRoundTrips: beyondBackoff((s) => s.listenerLineMs),
      oursFirstBackoffMs: round(summarize(ours.map((s) => s.retryInMs)).median, 1),
      oursNoticedAfterResetMs: round(summarize(ours.map((s) => s.noticedMs)).median, 2),
      oursResumedWithBackoffRoundTrips: medianTrips(ours.map((s) => s.resumedMs)),
      oursRunsRoundTrips: ours.map((s) => round((s.resumedMs - s.retryInMs) / RTT_MS, 2)),
      oursRunsFirstBackoffMs: ours.map((s) => s.retryInMs),
      oursRetriedRuns: ours.filter((s) => s.attempts > 1).length,
      oursSetup:
        'Conversation dialling a listening Conversation through the proxy; the proxy resets the connection at both ends; from the dialler\'s reconnecting event to its reconnected, less the first backoff (retryInMs)',
      baselineSetup: 'raw TCP client reset through the same kind of proxy, dialling again at once: from its close to one line echoed on the new connection',
      delayModel: DELAY_MODEL,
    };
  } finally {
    await pair.close();
    await echo.close();
  }
}

/** A baseline run: connected, reset, and from noticing it to one line echoed over a new connection. */
async function rawReconnect(echo: EchoBehindProxy): Promise<number> {
  const { socket } = await echo.open(TEXT);
  const noticed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  echo.proxy.reset();
  const start = await withTimeout(noticed, STEP_TIMEOUT_MS, 'the raw client noticing the reset');
  const again = await echo.open(TEXT);
  const ms = performance.now() - start;
  await closeSocket(again.socket);
  return ms;
}

/** When an event came, to the ms of performance.now(). */
interface Timed<E> {
  readonly at: number;
  readonly event: E;
}

class ConversationPair {
  private constructor(
    readonly listener: Conversation,
    readonly dialler: Conversation,
    readonly proxy: DelayProxy,
  ) {}

  static async start(listenerHome: BenchHome, diallerHome: BenchHome): Promise<ConversationPair> {
    const conversation = (home: BenchHome, name: string, listen: boolean) =>
      new Conversation({
        identity: home.identity,
        knownPeers: KnownPeers.load(home.dir),
        name,
        mdns: false,
        ...(listen ? { listen: { host: HOST, port: 0, fallback: false } } : {}),
        files: { downloadDir: home.dir, acceptFiles: 'ask' },
      });
    const listener = conversation(listenerHome, 'listener', true);
    const dialler = conversation(diallerHome, 'dialler', false);
    const listening = next(listener, (e) => e.type === 'listening');
    await listener.start();
    const { event } = await withTimeout(listening, STEP_TIMEOUT_MS, 'the listener listening');
    const proxy = new DelayProxy((event as Extract<AppEvent, { type: 'listening' }>).port, ONE_WAY_MS);
    const pair = new ConversationPair(listener, dialler, proxy);
    try {
      await proxy.start();
      await dialler.start();
      const joined = next(listener, (e) => e.type === 'connected');
      await withTimeout(dialler.connect(`${HOST}:${proxy.port}`), STEP_TIMEOUT_MS, 'the first connect');
      await withTimeout(joined, STEP_TIMEOUT_MS, 'the listener taking the dialler in');
    } catch (err) {
      await pair.close();
      throw err;
    }
    return pair;
  }

  /** Reset the connection and time the conversation coming back; `n` tells this cut's lines apart. */
  async cutAndResume(n: number): Promise<Sample> {
    const { listener, dialler } = this;
    const diallerText = `${TEXT} from the dialler, cut ${n}`;
    const listenerText = `${TEXT} from the listener, cut ${n}`;
    let attempts = 0;
    const countAttempts = (e: AppEvent) => {
      if (e.type === 'reconnecting') attempts++;
    };
    dialler.on('event', countAttempts);
    const noticed = next(dialler, (e) => e.type === 'reconnecting');
    const listenerNoticed = next(listener, (e) => e.type === 'reconnecting');
    const resumed = next(dialler, (e) => e.type === 'reconnected');
    const listenerResumed = next(listener, (e) => e.type === 'reconnected');
    const diallerLine = next(listener, (e) => e.type === 'message' && e.text === diallerText);
    const listenerLine = next(dialler, (e) => e.type === 'message' && e.text === listenerText);
    try {
      const cut = performance.now();
      this.proxy.reset();
      const first = await withTimeout(noticed, STEP_TIMEOUT_MS, "the dialler's reconnecting event");
      dialler.send(diallerText);
      await withTimeout(listenerNoticed, STEP_TIMEOUT_MS, "the listener's reconnecting event");
      listener.send(listenerText);
      const [back, listenerBack, atListener, atDialler] = await withTimeout(
        Promise.all([resumed, listenerResumed, diallerLine, listenerLine]),
        STEP_TIMEOUT_MS,
        'the conversation resuming and both lines arriving',
      );
      const since = (t: Timed<AppEvent>) => t.at - first.at;
      return {
        noticedMs: first.at - cut,
        retryInMs: (first.event as Extract<AppEvent, { type: 'reconnecting' }>).retryInMs,
        attempts,
        resumedMs: since(back),
        listenerResumedMs: since(listenerBack),
        diallerLineMs: since(atListener),
        listenerLineMs: since(atDialler),
      };
    } finally {
      dialler.off('event', countAttempts);
    }
  }

  async close(): Promise<void> {
    const quitting = Promise.all([this.dialler.quit('benchmark over'), this.listener.quit('benchmark over')]);
    await withTimeout(quitting, STEP_TIMEOUT_MS, 'closing both conversations').catch(() => {
      this.dialler.abort();
      this.listener.abort();
    });
    await this.proxy.close();
  }
}

/** The next event of `conversation` that `match`es, with when it came. */
function next(conversation: Conversation, match: (e: AppEvent) => boolean): Promise<Timed<AppEvent>> {
  return new Promise((resolve) => {
    const on = (event: AppEvent) => {
      if (!match(event)) return;
      conversation.off('event', on);
      resolve({ at: performance.now(), event });
    };
    conversation.on('event', on);
  });
}
