// One peer over one byte stream: drives the SecureChannel, encodes session messages, answers
// pings, and reports how the connection ended (left with a reason, lost, or failed to set up).

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { chatError, P2PChatError } from '../errors.js';
import type { PeerInfo } from '../secure/handshake-payload.js';
import type { KeyPair } from '../secure/noise/crypto-primitives.js';
import { SecureChannel, type RemotePeer } from '../secure/secure-channel.js';
import { formatHostPort } from '../net/address.js';
import { describeSocketError } from '../net/socket-errors.js';
import { Keepalive } from './keepalive.js';
import { decodeMessage, encodeMessage, type SessionMessage } from './session-messages.js';

export interface PeerConnectionOptions {
  readonly initiator: boolean;
  readonly keyPair: KeyPair;
  readonly localInfo: PeerInfo;
  readonly expectedFingerprint?: string;
  readonly handshakeTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly byeGraceMs: number;
  readonly now?: () => number;
}

export type CloseOutcome =
  | { readonly kind: 'left'; readonly reason: string }
  | { readonly kind: 'lost'; readonly error: P2PChatError }
  | { readonly kind: 'failed'; readonly error: P2PChatError }
  | { readonly kind: 'closed' };

type OutgoingMessage = Exclude<SessionMessage, { type: 'unknown' | 'ping' | 'pong' | 'bye' }>;

interface Events {
  established: [remote: RemotePeer];
  message: [message: SessionMessage];
  closed: [outcome: CloseOutcome];
}

export class PeerConnection extends EventEmitter<Events> {
  readonly address: string;
  readonly #socket: Socket;
  readonly #options: PeerConnectionOptions;
  readonly #channel: SecureChannel;
  readonly #now: () => number;
  #keepalive: Keepalive | undefined;
  #timer: NodeJS.Timeout | undefined;
  #byeReceived: string | undefined;
  #byeSent = false;
  #error: P2PChatError | undefined;
  #closed = false;
  #pingSentAt = new Map<number, number>();
  #rttMs: number | undefined;

  constructor(socket: Socket, options: PeerConnectionOptions) {
    super();
    this.#socket = socket;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.address = formatHostPort(socket.remoteAddress, socket.remotePort);
    this.#channel = new SecureChannel({
      initiator: options.initiator,
      staticKeyPair: options.keyPair,
      localInfo: options.localInfo,
      ...(options.expectedFingerprint ? { expectedFingerprint: options.expectedFingerprint } : {}),
    });
  }

  get remote(): RemotePeer | undefined {
    return this.#channel.remote;
  }

  get established(): boolean {
    return this.#channel.established;
  }

  /** Round-trip time of the last answered keepalive, if any. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  start(): void {
    const socket = this.#socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => socket.end());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error ??= chatError('ERR_CONNECTION_LOST', `connection to ${this.address} failed: ${describeSocketError(err)}`, err);
    });
    socket.on('close', () => this.#onClose());
    this.#schedule(this.#options.handshakeTimeoutMs, () => {
      this.#fail(chatError('ERR_HANDSHAKE_TIMEOUT', `handshake with ${this.address} did not finish in time`));
    });
    socket.write(this.#channel.start());
  }

  send(message: OutgoingMessage): void {
    this.#write(encodeMessage(message));
  }

  /** Say goodbye and close; resolves once the socket is closed (or the grace time ran out). */
  close(reason: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    if (this.established && !this.#byeSent && this.#socket.writable) {
      this.#byeSent = true;
      this.#write(encodeMessage({ type: 'bye', reason }));
    }
    this.#byeSent = true;
    this.#socket.end();
    this.#schedule(this.#options.byeGraceMs, () => this.#socket.destroy());
    return done;
  }

  destroy(): void {
    this.#byeSent = true;
    this.#socket.destroy();
  }

  #write(plaintext: Buffer): void {
    if (this.#closed || !this.#socket.writable) return;
    this.#socket.write(this.#channel.seal(plaintext));
    this.#keepalive?.sent(this.#now());
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    let output;
    try {
      output = this.#channel.receive(chunk);
    } catch (err) {
      this.#fail(asChatError(err));
      return;
    }
    for (const bytes of output.send) this.#socket.write(bytes);
    for (const event of output.events) {
      if (event.type === 'established') {
        this.#onEstablished(event.remote);
      } else {
        this.#keepalive?.received(this.#now());
        try {
          this.#onMessage(decodeMessage(event.data));
        } catch (err) {
          this.#fail(asChatError(err));
          return;
        }
      }
      if (this.#closed || this.#error) return;
    }
  }

  #onEstablished(remote: RemotePeer): void {
    this.#keepalive = new Keepalive(
      { intervalMs: this.#options.keepaliveIntervalMs, timeoutMs: this.#options.keepaliveTimeoutMs },
      this.#now(),
    );
    this.#armKeepalive();
    this.emit('established', remote);
  }

  #onMessage(message: SessionMessage): void {
    switch (message.type) {
      case 'ping':
        this.#write(encodeMessage({ type: 'pong', nonce: message.nonce }));
        return;
      case 'pong': {
        const sentAt = this.#pingSentAt.get(message.nonce);
        if (sentAt !== undefined) this.#rttMs = this.#now() - sentAt;
        this.#pingSentAt.clear();
        return;
      }
      case 'bye':
        this.#byeReceived = message.reason;
        this.#socket.end();
        return;
      case 'unknown':
        return; // a newer peer's message type: ignore, as the format promises
      default:
        if (this.#byeReceived === undefined) this.emit('message', message);
    }
  }

  #armKeepalive(): void {
    const keepalive = this.#keepalive;
    if (!keepalive || this.#closed) return;
    this.#schedule(keepalive.nextDueIn(this.#now()), () => {
      const now = this.#now();
      const action = keepalive.poll(now);
      if (action === 'timeout') {
        this.#fail(chatError('ERR_KEEPALIVE_TIMEOUT', `${this.remote?.info.name ?? this.address} stopped answering`));
        return;
      }
      if (action === 'ping') {
        const nonce = now;
        this.#pingSentAt.set(nonce, now);
        this.#write(encodeMessage({ type: 'ping', nonce }));
      }
      this.#armKeepalive();
    });
  }

  /** Measure the round trip now (used right after connecting, so /who can show it). */
  ping(): void {
    const now = this.#now();
    this.#pingSentAt.set(now, now);
    this.#write(encodeMessage({ type: 'ping', nonce: now }));
  }

  #schedule(ms: number, fn: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(fn, ms);
    this.#timer.unref();
  }

  #fail(error: P2PChatError): void {
    this.#error ??= error;
    this.#socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    let outcome: CloseOutcome;
    if (this.#byeReceived !== undefined) outcome = { kind: 'left', reason: this.#byeReceived };
    else if (this.#byeSent && !this.#error) outcome = { kind: 'closed' };
    else if (!this.established) {
      outcome = {
        kind: 'failed',
        error: this.#error ?? chatError('ERR_HANDSHAKE_FAILED', `${this.address} closed the connection during the handshake`),
      };
    } else {
      outcome = {
        kind: 'lost',
        error: this.#error ?? chatError('ERR_CONNECTION_LOST', `connection to ${this.address} closed without a goodbye`),
      };
    }
    this.emit('closed', outcome);
  }
}

function asChatError(err: unknown): P2PChatError {
  if (err instanceof P2PChatError) return err;
  return chatError('ERR_BAD_MESSAGE', (err as Error)?.message ?? String(err), err);
}
