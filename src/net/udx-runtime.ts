// The process's one udx instance, and the stream ids on it. udx finds the stream a packet is for
// by its id in one table shared by every socket of an instance, and a stream given a live id
// would silently take the other's packets; so every stream is made here, under an id no live
// stream holds. Ids count up from a random start: the table grows with the spread of the live
// ids, which random ids would scatter over 32 bits. They are no secret (the rendezvous has a cookie).
// The native module is loaded on first use, so a machine it has no binary for fails only there.

import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import type UDX from 'udx-native';

let instance: UDX | undefined;
const liveIds = new Set<number>();
let nextId = randomInt(1, 2 ** 31);

function udx(): UDX {
  if (instance) return instance;
  const load = createRequire(import.meta.url)('udx-native') as typeof UDX;
  return (instance = new load());
}

/** An unbound udx socket (bind it, then close it once done: it holds the process open). */
export function createUdxSocket(): UDX.Socket {
  return udx().createSocket();
}

/** A new unconnected udx stream under a fresh id; the id is free again once the stream closes. */
export function createRawStream(): UDX.Stream {
  let id = nextId;
  while (id === 0 || liveIds.has(id)) id = (id + 1) >>> 0;
  nextId = (id + 1) >>> 0;
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
