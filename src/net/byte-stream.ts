// The transport seam: what a session needs of a connection, whatever carries it (TCP, udx streams
// over UDP; a relayed splice is another). session/, app/ and relay/ see only this
// interface and the Transport that dials and listens; the sockets stay in net/.

import type { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { P2PChatError } from '../errors.js';
import type { PunchSocket } from './datagram-port.js';

/** Which transport carries a stream (shown to users next to the path). */
export type TransportKind = 'tcp' | 'udp';

export interface ByteStreamEvents {
  /**
   * Bytes from the other end, in order. The chunk is lent: it is valid only while the listener
   * runs, because a stream may read into one buffer it reuses (a dialled TCP socket reads into the
   * process's shared read buffer, tcp-stream.ts). A listener that keeps bytes past its return
   * (queues them, writes them to another stream, keeps a view) copies them first.
   */
  data: [chunk: Buffer];
  /** The other end will send nothing more (it half-closed). */
  end: [];
  /** Writes that were queued past the high-water mark have drained. */
  drain: [];
  /** After end(): everything written was handed to the transport. */
  finish: [];
  /** The stream is gone. `error` says why when it broke rather than closed (reset, timeout, ...). */
  close: [error: P2PChatError | undefined];
}

export interface ByteStream extends EventEmitter<ByteStreamEvents> {
  readonly transport: TransportKind;
  /** The other end's address as people read it: `192.0.2.7:5050`, `[2001:db8::7]:5050`. */
  readonly remoteAddress: string;
  /** The other end's IP (IPv4-mapped IPv6 as plain IPv4), for per-address budgets. */
  readonly remoteHost: string;
  /** Our end's port, where the transport has one (a TCP or udx socket; not a stream in memory). */
  readonly localPort?: number;
  /** False once ended or destroyed: writes are then dropped. */
  readonly writable: boolean;
  /** The other end has half-closed (`end` was emitted). */
  readonly readEnded: boolean;
  /** Destroyed, or closed: nothing more will be read or written. */
  readonly destroyed: boolean;
  /**
   * Its `data` chunks are views of a read buffer it reuses, not buffers of their own: reading them
   * leaves no garbage for the collector (the GarbagePacer counts only what is left behind).
   */
  readonly reusesReadBuffer?: boolean;
  /** Bytes written and not yet taken by the transport. */
  readonly queuedBytes: number;
  /** Writes are queued past the high-water mark: wait for `drain` before writing more. */
  readonly needsDrain: boolean;
  write(chunk: Uint8Array): void;
  /** Several chunks handed to the transport together (one vectored write where it can). */
  writev(chunks: readonly Uint8Array[]): void;
  /**
   * Stop reading: what the other end sends waits in the transport, whose flow control holds the rest
   * (udx's does not: it holds up to a cap, then cuts the peer off; see udx-stream.ts).
   */
  pause(): void;
  resume(): void;
  /**
   * Put bytes back to be read again first (a listener that read them to tell what the connection
   * is). The stream keeps a copy, so a lent chunk may be put back as it is.
   */
  unshift(chunk: Uint8Array): void;
  /** Close our sending side once everything written has gone; the other side may still send. */
  end(): void;
  /** Close at once, dropping what is queued. */
  destroy(): void;
}

export interface DialOptions {
  readonly timeoutMs: number;
  readonly clock: Clock;
  /**
   * TCP: bind our end explicitly before connecting, to this port (0: any free one), so that a later
   * dial may leave from the same port (TCP simultaneous open through a NAT keeps its mapping).
   */
  readonly localPort?: number;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Extra consecutive ports to try when `port` is busy (0 = only `port`). */
  readonly fallbackTries: number;
  /** Keep a stream readable after the other end half-closed (a relay's splice passes the FIN on). */
  readonly allowHalfOpen?: boolean;
  /** Beyond this many open connections new ones are refused (undefined = no limit of our own). */
  readonly maxConnections?: number;
  /** A connection refused for maxConnections, with where it came from. */
  readonly onDrop?: (remoteAddress: string) => void;
}

/** A bound listening endpoint of one transport. */
export interface StreamListener {
  readonly transport: TransportKind;
  readonly host: string;
  readonly port: number;
  /** Set when the requested port was busy and another was taken. */
  readonly busyPort?: number;
  /** UDP: the bound socket itself, for probes and punching from the port we listen on. */
  readonly datagrams?: PunchSocket;
  /** Stop accepting; resolves once the endpoint is closed (open streams are not touched). */
  close(): Promise<void>;
}

/** A dialer and a listener for one kind of stream. */
export interface Transport {
  readonly kind: TransportKind;
  dial(host: string, port: number, options: DialOptions): Promise<ByteStream>;
  listen(options: ListenOptions, onStream: (stream: ByteStream) => void): Promise<StreamListener>;
}
