// The process's one udx instance, and the stream ids on it. udx finds the stream a packet is for
// by its id in one table shared by every socket of an instance, and a stream given a live id
// would silently take the other's packets; so every stream is made here, under an id no live
// stream holds. The table (libudx's cirbuf) is indexed by an id's low bits and doubles until no two
// live ids share them, and never shrinks: two live ids equal in their low 28 bits would make it
// 2^29 entries (4 GiB). So every id, counted (a dialler's) or derived (a listener's, from its
// rendezvous cookie: udx-responder.ts), lies in one window of ID_WINDOW ids at a random place,
// which holds the table to ID_WINDOW entries (8 MiB) whatever the ids. They are no secret.
// The native module is loaded on first use, so a machine it has no binary for fails only there.

import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import type UDX from 'udx-native';

/** How many ids the process's streams are taken from. */
export const ID_WINDOW = 2 ** 20;
const ID_BASE = randomInt(1, 2 ** 32 - ID_WINDOW);

let instance: UDX | undefined;
const liveIds = new Set<number>();
let nextOffset = randomInt(0, ID_WINDOW);

function udx(): UDX {
  if (instance) return instance;
  const load = createRequire(import.meta.url)('udx-native') as typeof UDX;
  return (instance = new load());
}

/** An unbound udx socket (bind it, then close it once done: it holds the process open). */
export function createUdxSocket(): UDX.Socket {
  return udx().createSocket();
}

/** The id in the window that `value` (any u32, a hash) names; never 0. */
export function streamIdFor(value: number): number {
  return ID_BASE + (value % ID_WINDOW);
}

/** A new unconnected udx stream under a fresh id; the id is free again once the stream closes. */
export function createRawStream(): UDX.Stream {
  let id: number;
  do {
    id = streamIdFor(nextOffset);
    nextOffset = (nextOffset + 1) % ID_WINDOW;
  } while (liveIds.has(id));
  return streamUnder(id);
}

/**
 * A new unconnected udx stream under `id` (from streamIdFor), or undefined while a live stream
 * holds it.
 */
export function createRawStreamWithId(id: number): UDX.Stream | undefined {
  return liveIds.has(id) ? undefined : streamUnder(id);
}

function streamUnder(id: number): UDX.Stream {
  liveIds.add(id);
  const stream = udx().createStream(id);
  stream.once('close', () => liveIds.delete(id));
  // A reset before a UdxStream takes the stream over must not reach the process as an unhandled
  // 'error'; the UdxStream listens for its own.
  stream.on('error', () => undefined);
  return stream;
}

/** Streams made here and not yet closed (tests check that nothing is left behind). */
export function liveStreamCount(): number {
  return liveIds.size;
}
