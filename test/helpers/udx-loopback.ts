// udx listeners and streams on 127.0.0.1 for tests, each remembered: closeUdx() (from afterEach)
// destroys every stream, waits for them to close and closes every listener, whatever happened.
// Plus readers for what a stream receives.

import { SYSTEM_CLOCK, type Clock } from '../../src/clock.js';
import type { ByteStream, ListenOptions, StreamListener, Transport } from '../../src/net/byte-stream.js';
import type { PunchSocket } from '../../src/net/datagram-port.js';

const listeners: StreamListener[] = [];
const streams: Array<{ stream: ByteStream; closed: Promise<unknown> }> = [];

function remember(stream: ByteStream): ByteStream {
  streams.push({ stream, closed: new Promise((resolve) => stream.once('close', resolve)) });
  return stream;
}

export interface UdxAccepting {
  readonly listener: StreamListener;
  readonly port: number;
  /** Every stream accepted so far, in order. */
  readonly accepted: ByteStream[];
  /** The next stream accepted after those already taken by earlier calls. */
  next(): Promise<ByteStream>;
}

/** A listener on 127.0.0.1 (port 0 unless told) that keeps what it accepts. */
export async function udxListen(transport: Transport, options: Partial<ListenOptions> = {}): Promise<UdxAccepting> {
  const accepted: ByteStream[] = [];
  const waiting: Array<(stream: ByteStream) => void> = [];
  let taken = 0;
  const listener = await transport.listen({ host: '127.0.0.1', port: 0, fallbackTries: 0, ...options }, (stream) => {
    accepted.push(remember(stream));
    waiting.shift()?.(stream);
  });
  listeners.push(listener);
  return {
    listener,
    port: listener.port,
    accepted,
    next() {
      const ready = accepted[taken++];
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

export async function udxDial(transport: Transport, port: number, clock: Clock = SYSTEM_CLOCK, timeoutMs = 5_000): Promise<ByteStream> {
  return remember(await transport.dial('127.0.0.1', port, { timeoutMs, clock }));
}

/** A stream dialled from `socket` (a listener's datagrams, a punch socket) to 127.0.0.1:`port`. */
export async function udxDialFrom(socket: PunchSocket, port: number, clock: Clock = SYSTEM_CLOCK, timeoutMs = 5_000): Promise<ByteStream> {
  return remember(await socket.dial('127.0.0.1', port, { timeoutMs, clock }));
}

/** [dialling end, accepting end], both paused as streams are handed over. */
export async function udxPair(transport: Transport, accepting: UdxAccepting): Promise<[ByteStream, ByteStream]> {
  const [dialled, accepted] = await Promise.all([udxDial(transport, accepting.port), accepting.next()]);
  return [dialled, accepted];
}

export async function closeUdx(): Promise<void> {
  const open = streams.splice(0);
  for (const { stream } of open) stream.destroy();
  await Promise.all(open.map(({ closed }) => closed));
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
}

/** Everything `stream` receives until its end event (it is resumed here). */
export function readToEnd(stream: ByteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk) => chunks.push(Buffer.from(chunk))); // lent for the event only (byte-stream.ts)
  stream.resume();
  return new Promise((resolve) => stream.once('end', () => resolve(Buffer.concat(chunks))));
}

/** The first `bytes` bytes `stream` receives (it is resumed here; the data listener stays). */
export function readBytes(stream: ByteStream, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  return new Promise((resolve) => {
    stream.on('data', (chunk) => {
      chunks.push(Buffer.from(chunk));
      length += chunk.length;
      if (length >= bytes) resolve(Buffer.concat(chunks));
    });
    stream.resume();
  });
}
