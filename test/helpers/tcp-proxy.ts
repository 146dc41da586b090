// A small TCP proxy on 127.0.0.1 for tests that need to tamper with or cut a live connection.
// `armFlip()` flips one byte of the next client→server chunk; `freeze()` turns the proxy into a
// black hole (nothing forwarded, no close passed on), like a peer whose network vanished.
// `cut()` resets every connection at once, like a network that fails mid-transfer, and keeps
// accepting new ones. `stall()` black-holes only the connections open now, like a path that went
// silent while a new one would work; `refuseNew()` resets each new connection on arrival, like a
// network that is down, until `acceptNew()`.
// `record()` keeps a copy of every byte forwarded either way, to check what a middlebox could see.
// `holdReplies()` keeps what the server sends until `release()`, like a slow return path, so a
// test can line several connections up at the same point of a handshake. `pauseUplink()` stops
// the client→server direction until `resumeUplink()`, like a link that stalls and recovers.
// `forwarded` counts the bytes passed on each way, over every connection (what a path carried).

import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #clients = new Set<Socket>();
  #bytesPerSecond: number;
  #uplinkPaused = false;
  #flipArmed = false;
  #frozen = false;
  /** Client sockets whose connection forwards nothing more (stall()). */
  readonly #stalled = new WeakSet<Socket>();
  #refusing = false;
  #recording = false;
  readonly #recorded: Buffer[] = [];
  #holding = false;
  /** Held server output: bytes to pass on, or `null` for the server's end. */
  readonly #held: Array<{ client: Socket; chunk: Buffer | null }> = [];
  #waiters: Array<() => boolean> = [];
  port = 0;
  flips = 0;
  /** Connections accepted and forwarded so far (not counting those refused by refuseNew()). */
  connections = 0;
  /** Connections whose server side has closed. */
  serverCloses = 0;
  /** Bytes passed on so far, over all connections: client→server (`up`) and server→client (`down`). */
  readonly forwarded = { up: 0, down: 0 };

  /** `bytesPerSecond` throttles the client→server direction, like a slow uplink. */
  constructor(targetPort: number, targetHost = '127.0.0.1', bytesPerSecond = 0) {
    this.#bytesPerSecond = bytesPerSecond;
    this.#server = createServer({ allowHalfOpen: true }, (client) => {
      if (this.#refusing) {
        client.on('error', () => undefined);
        client.resetAndDestroy();
        return;
      }
      this.connections++;
      const silent = () => this.#frozen || this.#stalled.has(client);
      const upstream = createConnection({ host: targetHost, port: targetPort });
      this.#clients.add(client);
      client.on('close', () => this.#clients.delete(client));
      if (this.#uplinkPaused) client.pause();
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          // A stalled connection passes nothing on, not even one side's failure.
          if (this.#stalled.has(client)) return void s.destroy();
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (silent()) return;
        if (this.#flipArmed && chunk.length > 0) {
          this.#flipArmed = false;
          this.flips++;
          chunk = Buffer.from(chunk);
          // The last byte is inside the AEAD tag, never in a length prefix.
          chunk[chunk.length - 1]! ^= 0x01;
        }
        if (this.#recording) this.#recorded.push(Buffer.from(chunk));
        this.forwarded.up += chunk.length;
        upstream.write(chunk);
        if (this.#bytesPerSecond > 0) {
          client.pause();
          const wait = (chunk.length / this.#bytesPerSecond) * 1000;
          setTimeout(() => {
            if (!this.#uplinkPaused) client.resume();
          }, wait).unref();
        }
      });
      upstream.on('data', (chunk: Buffer) => {
        if (silent()) return;
        if (this.#recording) this.#recorded.push(Buffer.from(chunk));
        if (this.#holding) this.#hold(client, chunk);
        else this.#down(client, chunk);
      });
      client.on('end', () => {
        if (!silent()) upstream.end();
      });
      upstream.on('end', () => {
        if (silent()) return;
        if (this.#holding) this.#hold(client, null);
        else client.end();
      });
      upstream.on('close', () => {
        this.serverCloses++;
        this.#wake();
      });
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this.port;
  }

  armFlip(): void {
    this.#flipArmed = true;
  }

  /** From now on, keep a copy of every byte forwarded, in both directions. */
  record(): void {
    this.#recording = true;
  }

  /** Everything forwarded since record(), both directions interleaved in arrival order. */
  get recorded(): Buffer {
    return Buffer.concat(this.#recorded);
  }

  /** From now on, keep what servers send (and their end) instead of passing it on. */
  holdReplies(): void {
    this.#holding = true;
  }

  /** Everything held so far, for all connections together. */
  get held(): Buffer {
    return Buffer.concat(this.#held.flatMap((h) => (h.chunk ? [h.chunk] : [])));
  }

  /** Resolves once `test(held)` is true. */
  untilHeld(test: (held: Buffer) => boolean): Promise<void> {
    return this.#until(() => test(this.held));
  }

  /** Resolves once `count` connections have been closed by the server. */
  untilServerCloses(count = 1): Promise<void> {
    return this.#until(() => this.serverCloses >= count);
  }

  /** Pass on everything held, in order, and stop holding. */
  release(): void {
    this.#holding = false;
    for (const { client, chunk } of this.#held.splice(0)) {
      if (chunk) this.#down(client, chunk);
      else client.end();
    }
  }

  /** Stop forwarding client→server: what clients send waits in the socket buffers. */
  pauseUplink(): void {
    this.#uplinkPaused = true;
    for (const client of this.#clients) client.pause();
  }

  /** Forward client→server again, from now on at `bytesPerSecond` (0: as fast as it comes). */
  resumeUplink(bytesPerSecond = this.#bytesPerSecond): void {
    this.#uplinkPaused = false;
    this.#bytesPerSecond = bytesPerSecond;
    for (const client of this.#clients) client.resume();
  }

  freeze(): void {
    this.#frozen = true;
  }

  /** Reset every connection now; bytes still in the proxy are lost, as on a real path that fails. */
  cut(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  /** Forward nothing more (not even a close) on the connections open now; later ones work. */
  stall(): void {
    for (const client of this.#clients) this.#stalled.add(client);
  }

  /** Reset every new connection as it arrives, until acceptNew(); open ones are left alone. */
  refuseNew(): void {
    this.#refusing = true;
  }

  acceptNew(): void {
    this.#refusing = false;
  }

  #down(client: Socket, chunk: Buffer): void {
    this.forwarded.down += chunk.length;
    client.write(chunk);
  }

  #hold(client: Socket, chunk: Buffer | null): void {
    this.#held.push({ client, chunk });
    this.#wake();
  }

  #until(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return false;
        resolve();
        return true;
      };
      if (!check()) this.#waiters.push(check);
    });
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((check) => !check());
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
