// The one-line JSON summary each benchmark prints on stdout. `ratio` is always ours / baseline;
// `better` says which direction of it is good, so a reader never has to guess. A baseline that
// could not be measured (a missing tool) is null, with `error` saying why.

export interface BenchResult {
  readonly bench: string;
  readonly ours: number;
  readonly baseline: number | null;
  readonly ratio: number | null;
  readonly better: 'higher' | 'lower';
  readonly unit: string;
  readonly runs: number;
  readonly error?: string;
  readonly [detail: string]: unknown;
}

export type Log = (line: string) => void;
