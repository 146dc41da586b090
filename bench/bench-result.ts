// The one-line JSON summary each benchmark prints on stdout. `ratio` is always ours / baseline;
// `better` says which direction of it is good, so a reader never has to guess.

export interface BenchResult {
  readonly bench: string;
  readonly ours: number;
  readonly baseline: number;
  readonly ratio: number;
  readonly better: 'higher' | 'lower';
  readonly unit: string;
  readonly runs: number;
  readonly [detail: string]: unknown;
}

export type Log = (line: string) => void;
