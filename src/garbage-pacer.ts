// V8 frees the buffers Node gives each socket read (an accepted socket's: a dialled one reads into
// a shared buffer) and each record node:crypto seals or opens only at a young collection, and
// starts one for them only once about 32 MiB wait; asking for one every few MiB of records keeps
// a transfer's ends that much smaller (bench/README.md).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Records' bytes between two collections: 4 MiB cost 1.6 % more CPU, 8 MiB none measurable. */
export const GARBAGE_PACE_BYTES = 8 * 1024 * 1024;

export class GarbagePacer {
  readonly #everyBytes: number;
  readonly #collect: () => void;
  #owed = 0;
  /** Collections asked for so far. */
  collections = 0;

  constructor(everyBytes: number, collect: () => void) {
    this.#everyBytes = everyBytes;
    this.#collect = collect;
  }

  /** `bytes` of buffers were left for the collector; collects once `everyBytes` have been. */
  add(bytes: number): void {
    this.#owed += bytes;
    if (this.#owed < this.#everyBytes) return;
    this.#owed = 0;
    this.collections++;
    this.#collect();
  }
}

/**
 * A synchronous young-generation collection of this isolate, or undefined where V8 will not give
 * one. Node run with --expose-gc has `gc` already, and its flags are left as they are. Otherwise:
 * V8 hands `gc` only to contexts made while --expose-gc is set, so one context is made with it and
 * the flag cleared again at once; the program's own global never gets `gc`.
 */
export function youngCollector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => void exposed({ type: 'minor' });
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
