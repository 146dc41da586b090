// The one-line JSON summary each benchmark prints on stdout. `ratio` is always ours / baseline;
// `better` says which direction of it is good, so a reader never has to guess. A baseline that
// could not be measured (a missing tool) is null, with `error` saying why; so is ours when the
// benchmark cannot run here at all (a network lab without root).

import { round, type Summary } from './stats.js';

export interface BenchResult {
  readonly bench: string;
  readonly ours: number | null;
  readonly baseline: number | null;
  readonly ratio: number | null;
  readonly better: 'higher' | 'lower';
  readonly unit: string;
  readonly runs: number;
  readonly error?: string;
  readonly [detail: string]: unknown;
}

export type Log = (line: string) => void;

/**
 * The fields a latency benchmark's result starts with: medians in ms, lower is better, the ratio
 * from the unrounded medians, and the spread (P10, P90) of both; the caller adds its details.
 */
export function latencyResult(bench: string, ours: Summary, baseline: Summary, runs: { runs: number; warmupRuns: number }): BenchResult {
  return {
    bench,
    ours: round(ours.median),
    baseline: round(baseline.median),
    ratio: round(ours.median / baseline.median, 2),
    better: 'lower',
    unit: 'ms',
    ...runs,
    statistic: 'median',
    oursP10: round(ours.p10),
    oursP90: round(ours.p90),
    baselineP10: round(baseline.p10),
    baselineP90: round(baseline.p90),
  };
}

/** 1 MB, as the throughput benchmarks count it (MB/s). */
export const MEGABYTE = 1e6;

/**
 * The fields a throughput benchmark's result starts with: medians of MB/s over `runs` measured runs,
 * higher is better, the ratio from the rounded figures; the caller adds its details.
 */
export function throughputResult(bench: string, ours: number, baseline: number | null, runs: { runs: number; warmupRuns: number; bytesPerRun: number }): BenchResult {
  const o = Math.round(ours * 10) / 10;
  const b = baseline === null ? null : Math.round(baseline * 10) / 10;
  return {
    bench,
    ours: o,
    baseline: b,
    ratio: b === null ? null : Math.round((o / b) * 1000) / 1000,
    better: 'higher',
    unit: 'MB/s',
    ...runs,
    statistic: 'median',
    megabyte: MEGABYTE,
  };
}
