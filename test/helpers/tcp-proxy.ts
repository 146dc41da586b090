// A small TCP proxy on 127.0.0.1 for tests that need to tamper with or cut a live connection.
// `armFlip()` flips one byte of the next client→server chunk; `freeze()` turns the proxy into a
// black hole (nothing forwarded, no close passed on), like a peer whose network vanished.
// `record()` keeps a copy of every byte forwarded either way, to check what a middlebox could see.

import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #flipArmed = false;
  #frozen = false;
  #recording = false;
  readonly #recorded: Buffer[] = [];
  port = 0;
  flips = 0;

  /** `bytesPerSecond` throttles the client→server direction, like a slow uplink. */
  constructor(targetPort: number, targetHost = '127.0.0.1', bytesPerSecond = 0) {
    this.#server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = createConnection({ host: targetHost, port: targetPort });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (this.#frozen) return;
        if (this.#flipArmed && chunk.length > 0) {
          this.#flipArmed = false;
          this.flips++;
          chunk = Buffer.from(chunk);
          // The last byte is inside the AEAD tag, never in a length prefix.
          chunk[chunk.length - 1]! ^= 0x01;
        }
        if (this.#recording) this.#recorded.push(Buffer.from(chunk));
        upstream.write(chunk);
        if (bytesPerSecond > 0) {
          client.pause();
          setTimeout(() => client.resume(), (chunk.length / bytesPerSecond) * 1000).unref();
        }
      });
      upstream.on('data', (chunk: Buffer) => {
        if (this.#frozen) return;
        if (this.#recording) this.#recorded.push(Buffer.from(chunk));
        client.write(chunk);
      });
      client.on('end', () => {
        if (!this.#frozen) upstream.end();
      });
      upstream.on('end', () => {
        if (!this.#frozen) client.end();
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

  freeze(): void {
    this.#frozen = true;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
