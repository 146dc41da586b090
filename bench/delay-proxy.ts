// A TCP proxy on 127.0.0.1 that makes the path to its target look `oneWayMs` long each way (tc
// netem is not available here). Bytes are held and passed on in order after the one-way delay.
// The TCP handshake happens on loopback at once, so its round trip is put back on the data: the
// target is dialled, and the client's first bytes delivered, 3 × oneWayMs after the client
// connected: SYN, SYN-ACK, then ACK with data, as a client that writes as soon as it is connected
// would see on a real path. For handshakes and short messages: no backpressure. reset() cuts every
// connection at once, with a TCP reset at both ends, as a middlebox that drops them would.

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

type Item = Buffer | 'end';

/** One direction of one connection: items released in order, each at its own due time. */
class DelayLine {
  readonly #queue: Array<{ at: number; item: Item }> = [];
  #timer: NodeJS.Timeout | undefined;
  #dst: Socket | undefined;

  constructor(readonly onError: () => void) {}

  /** Where items go; until set, due items wait (the target is not dialled yet). */
  attach(dst: Socket): void {
    this.#dst = dst;
    this.#release();
  }

  push(item: Item, at: number): void {
    this.#queue.push({ at, item });
    if (this.#queue.length === 1) this.#arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const head = this.#queue[0];
    if (!head) return;
    this.#timer = setTimeout(() => this.#release(), Math.max(0, head.at - performance.now()));
  }

  #release(): void {
    const dst = this.#dst;
    if (!dst) return;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now) {
      const { item } = this.#queue.shift()!;
      if (dst.destroyed) return this.onError();
      if (item === 'end') dst.end();
      else dst.write(item);
    }
    this.#arm();
  }
}

export class DelayProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #lines = new Set<DelayLine>();
  /** performance.now() of every accepted connection, in order, so callers can time stages. */
  readonly acceptedAt: number[] = [];
  port = 0;

  constructor(
    readonly targetPort: number,
    readonly oneWayMs: number,
    readonly targetHost = '127.0.0.1',
  ) {
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.#accept(client));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    this.port = (this.#server.address() as { port: number }).port;
    return this.port;
  }

  /** Reset every connection through the proxy, both ends, dropping what is still in flight. */
  reset(): void {
    for (const line of this.#lines) line.clear();
    for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const line of this.#lines) line.clear();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const d = this.oneWayMs;
    const acceptedAt = performance.now();
    this.acceptedAt.push(acceptedAt);
    // The earliest a real path would deliver the client's first bytes: SYN, SYN-ACK, ACK + data.
    const firstDelivery = acceptedAt + 3 * d;
    let upstream: Socket | undefined;
    const cut = () => {
      up.clear();
      down.clear();
      client.destroy();
      upstream?.destroy();
    };
    const up = new DelayLine(cut);
    const down = new DelayLine(cut);
    this.#lines.add(up).add(down);
    // A close (not a half-close) is passed on once the bytes before it have gone through.
    const closeDelay = () => Math.max(d, firstDelivery - performance.now()) + 1;
    this.#track(client, cut, closeDelay);
    client.on('data', (chunk: Buffer) => up.push(chunk, Math.max(performance.now() + d, firstDelivery)));
    client.on('end', () => up.push('end', Math.max(performance.now() + d, firstDelivery)));
    client.once('close', () => {
      this.#lines.delete(up);
      this.#lines.delete(down);
    });
    const dial = setTimeout(() => {
      if (client.destroyed) return;
      const target = createConnection({ host: this.targetHost, port: this.targetPort, noDelay: true, allowHalfOpen: true });
      upstream = target;
      this.#track(target, cut, closeDelay);
      target.once('connect', () => up.attach(target));
      target.on('data', (chunk: Buffer) => down.push(chunk, performance.now() + d));
      target.on('end', () => down.push('end', performance.now() + d));
      down.attach(client);
    }, Math.max(0, firstDelivery - performance.now()));
    client.once('close', () => clearTimeout(dial));
  }

  #track(socket: Socket, cut: () => void, closeDelay: () => number): void {
    this.#sockets.add(socket);
    socket.on('error', cut);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      setTimeout(cut, closeDelay()).unref();
    });
  }
}
