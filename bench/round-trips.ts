// What the round-trip benchmarks share: the delay their proxies add each way, the round trip that
// makes, time counted in those round trips, and the baseline every one of them is measured against:
// a raw TCP connect and one line echoed through the same kind of proxy (2 round trips).

import { once } from 'node:events';
import { createConnection } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from './bench-result.js';
import { echoLine, withTimeout } from './deadline.js';
import { DelayProxy } from './delay-proxy.js';
import { LoopbackServer } from './loopback-server.js';
import { round, summarize } from './stats.js';

export const ONE_WAY_MS = 50;
export const RTT_MS = 2 * ONE_WAY_MS;
export const HOST = '127.0.0.1';
/** Generous against RTT_MS: every step measured here is well under 20 round trips. */
export const STEP_TIMEOUT_MS = 10_000;

export const RAW_ECHO_SETUP = 'raw TCP connect + one line echoed';
export const DELAY_MODEL = 'every TCP connection through a proxy delaying each direction by oneWayDelayMs; its TCP handshake costs 1 RTT';

export interface RawEchoSample {
  /** Start to the echo received. */
  readonly totalMs: number;
  /** Start to the socket connected (0 through the proxy: it puts the handshake's round trip on the data). */
  readonly connectedMs: number;
}

/** The median of `ms` in round trips, to two places; NaN entries (a stage not reached) count as such. */
export function medianTrips(ms: readonly number[]): number {
  return round(summarize(ms).median / RTT_MS, 2);
}

/**
 * The fields a round-trip benchmark's result starts with: medians of ours and the baseline already
 * in round trips, the ratio, the delay model's figures; the caller adds its details.
 */
export function roundTripResult(bench: string, ours: number, baseline: number, runs: { runs: number; warmupRuns: number }): BenchResult {
  return {
    bench,
    ours,
    baseline,
    ratio: round(ours / baseline, 2),
    better: 'lower',
    unit: 'round trips',
    ...runs,
    statistic: 'median',
    oneWayDelayMs: ONE_WAY_MS,
    rttMs: RTT_MS,
  };
}

/** An echo server behind its own delay proxy: the baselines' far end. */
export class EchoBehindProxy {
  private constructor(
    readonly echo: LoopbackServer,
    readonly proxy: DelayProxy,
  ) {}

  static async start(): Promise<EchoBehindProxy> {
    // Echoes what it receives ('end' is answered by default).
    const echo = await LoopbackServer.start((socket) => socket.on('data', (chunk) => socket.write(chunk)), STEP_TIMEOUT_MS, 'echo server listen');
    const proxy = new DelayProxy(echo.port, ONE_WAY_MS);
    await proxy.start();
    return new EchoBehindProxy(echo, proxy);
  }

  async close(): Promise<void> {
    await this.proxy.close();
    await this.echo.close();
  }

  /** A raw TCP connect through the proxy and one line echoed; the socket is closed afterwards. */
  async connectAndEcho(text: string): Promise<RawEchoSample> {
    const { socket, sample } = await this.open(text);
    await closeSocket(socket);
    return sample;
  }

  /** The same, leaving the socket open (its caller closes it). */
  async open(text: string): Promise<{ socket: ReturnType<typeof createConnection>; sample: RawEchoSample }> {
    const start = performance.now();
    const socket = createConnection({ host: HOST, port: this.proxy.port, noDelay: true });
    socket.on('error', () => socket.destroy()); // surfaces through the awaited steps
    try {
      await withTimeout(once(socket, 'connect'), STEP_TIMEOUT_MS, 'raw TCP connect');
      const connected = performance.now();
      await echoLine(socket, text, STEP_TIMEOUT_MS);
      return { socket, sample: { totalMs: performance.now() - start, connectedMs: connected - start } };
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
}

export async function closeSocket(socket: ReturnType<typeof createConnection>): Promise<void> {
  const closed: Promise<unknown> = socket.closed ? Promise.resolve() : once(socket, 'close');
  socket.end();
  await withTimeout(closed, STEP_TIMEOUT_MS, 'closing the raw socket').catch(() => socket.destroy());
}
