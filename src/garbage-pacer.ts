// Node gives every socket read, and every record node:crypto seals or opens, a buffer of its own,
// freed only when V8 next collects its young generation. For such buffers V8 starts one only once
// about 32 MiB of them wait (--trace-gc: "external memory pressure"; the figure is V8's own and no
// flag moves it), so a transfer at full speed keeps up to 32 MiB of dead buffers at each end, a
// third of its memory. Asking for a young collection after every few MiB of records keeps that
// down for no measurable CPU (bench/README.md, file-transfer-rss).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Records' bytes between two collections: 4 MiB cost 1.6 % more CPU, 8 MiB none measurable. */
export const GARBAGE_PACE_BYTES = 8 * 1024 * 1024;

export class GarbagePacer {
  readonly #everyBytes: number;
  readonly #collect: () => void;
  #owed = 0;

  constructor(everyBytes: number, collect: () => void) {
    this.#everyBytes = everyBytes;
    this.#collect = collect;
  }

  /** `bytes` of buffers were left for the collector; collects once `everyBytes` have been. */
  add(bytes: number): void {
    this.#owed += bytes;
    if (this.#owed < this.#everyBytes) return;
    this.#owed = 0;
    this.#collect();
  }
}

/**
 * A synchronous young-generation collection of this isolate, or undefined where V8 will not give
 * one. V8 hands its `gc` function only to contexts made while --expose-gc is set, so one context
 * is made with it; the flag is cleared again at once, and the program's own global never has `gc`.
 */
export function youngCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return undefined;
    return () => void gc({ type: 'minor' });
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

let processPacer: GarbagePacer | undefined;

/** The process's pacer: every connection's records count towards the same collections. */
export function processGarbagePacer(): GarbagePacer {
  return (processPacer ??= new GarbagePacer(GARBAGE_PACE_BYTES, youngCollector() ?? (() => undefined)));
}
