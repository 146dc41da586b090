// One peer over one byte stream: drives the SecureChannel, encodes session messages, answers
// pings, and reports how the connection ended (left with a reason, lost, or failed to set up; the
// verdict is close-outcome.ts's).

import { EventEmitter } from 'node:events';
import type { Clock, Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { type GarbagePacer, processGarbagePacer } from '../garbage-pacer.js';
import type { ByteStream, TransportKind } from '../net/byte-stream.js';
import type { PeerInfo } from '../secure/handshake-payload.js';
import type { CipherName } from '../secure/noise/cipher-functions.js';
import type { KeyPair } from '../secure/noise/crypto-primitives.js';
import { SecureChannel, type RemotePeer } from '../secure/secure-channel.js';
import { closeOutcome, type CloseOutcome } from './close-outcome.js';
import { Keepalive } from './keepalive.js';
import { ReadGate } from './read-gate.js';
import type { SessionCodec, SessionMessage } from './session-messages.js';

export interface PeerConnectionOptions {
  readonly initiator: boolean;
  readonly keyPair: KeyPair;
  readonly localInfo: PeerInfo;
  /** The messages this kind of connection speaks (PEER_MESSAGES, RELAY_CONTROL_MESSAGES); others are ignored. */
  readonly codec: SessionCodec;
  readonly expectedFingerprint?: string;
  /** Initiator only: whether to finish the handshake once the peer's key is known (SecureChannel). */
  readonly mayFinish?: () => boolean;
  /** Initiator: open with Noise IK, this message in message 1 (SecureChannel). */
  readonly early?: { readonly remoteStaticKey: Buffer; readonly message: OutgoingMessage };
  /** Responder: take IK message 1s (SecureChannel). */
  readonly acceptEarly?: boolean;
  readonly handshakeTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly byeGraceMs: number;
  /** More than this many bytes queued for a peer that is not reading: drop it. */
  readonly maxQueuedBytes: number;
  /** Handshake deadline, keepalive, goodbye grace and round-trip times run on this clock. */
  readonly clock: Clock;
  /** Told of the buffers each record leaves behind (default: the process's; tests count them). */
  readonly garbage?: GarbagePacer;
}

export type { CloseOutcome } from './close-outcome.js';

type OutgoingMessage = Exclude<SessionMessage, { type: 'unknown' | 'ping' | 'pong' | 'bye' }>;

interface Events {
  established: [remote: RemotePeer];
  message: [message: SessionMessage];
  /** The send queue, which was over the stream's high-water mark, has drained. */
  drain: [];
  /** The peer said goodbye; what is written now still goes out before our side closes. */
  goodbye: [];
  closed: [outcome: CloseOutcome];
}

export class PeerConnection extends EventEmitter<Events> {
  /** What carries it (a relayed session: the transport to the relay). */
  readonly transport: TransportKind;
  readonly #stream: ByteStream;
  readonly #options: PeerConnectionOptions;
  readonly #channel: SecureChannel;
  readonly #clock: Clock;
  readonly #codec: SessionCodec;
  readonly #garbage: GarbagePacer;
  #keepalive: Keepalive | undefined;
  /** Handshake timeout, then keepalive. */
  #timer: Timer | undefined;
  /** After a goodbye (sent and flushed, or received): how long the peer has to close. */
  #graceTimer: Timer | undefined;
  #flushed = false;
  readonly #reading: ReadGate;
  /** The holders of reading that excuse the peer, and when the last of them let go (see excusedAt). */
  readonly #excusing = new Set<object>();
  #excusedUntil: number | undefined;
  #byeReceived: string | undefined;
  #byeSent = false;
  #error: P2PChatError | undefined;
  /** 'established' was emitted: an end after that is a lost session, however it came (a bad tag too). */
  #wasEstablished = false;
  #closed = false;
  /** Any byte came from the other side (a p2p-chat peer sends its preamble at once). */
  #heard = false;
  #pingSentAt = new Map<number, number>();
  #rttMs: number | undefined;
  /** When our first handshake message went (the initiator's message 1, whose answer is a round trip). */
  #startedAt = 0;

  constructor(stream: ByteStream, options: PeerConnectionOptions) {
    super();
    this.#stream = stream;
    this.#options = options;
    this.#clock = options.clock;
    this.#codec = options.codec;
    this.#garbage = options.garbage ?? processGarbagePacer();
    this.transport = stream.transport;
    this.#reading = new ReadGate(stream);
    this.#channel = new SecureChannel({
      initiator: options.initiator,
      staticKeyPair: options.keyPair,
      localInfo: options.localInfo,
      ...(options.expectedFingerprint ? { expectedFingerprint: options.expectedFingerprint } : {}),
      ...(options.mayFinish ? { mayFinish: options.mayFinish } : {}),
      ...(options.early ? { early: { remoteStaticKey: options.early.remoteStaticKey, message: options.codec.encode(options.early.message) } } : {}),
      ...(options.acceptEarly ? { acceptEarly: true } : {}),
    });
  }

  /** The stream's remote address, read each time: a relayed stream learns it when it is attached. */
  get address(): string {
    return this.#stream.remoteAddress;
  }

  get remote(): RemotePeer | undefined {
    return this.#channel.remote;
  }

  /** The transport messages' cipher, once the handshake is done (SecureChannel.transportCipher). */
  get transportCipher(): CipherName | undefined {
    return this.#channel.transportCipher;
  }

  /** Whether the peer listed `feature` in its handshake (false before the handshake is done). */
  speaks(feature: string): boolean {
    return this.remote?.info.features.includes(feature) ?? false;
  }

  get established(): boolean {
    return this.#channel.established;
  }

  /** Round-trip time of the last answered keepalive, if any. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  /** Take over the stream (created paused, and it may hold bytes already put back) and start the handshake. */
  start(): void {
    const stream = this.#stream;
    stream.on('data', (chunk) => this.#onData(chunk));
    stream.on('end', () => stream.end());
    stream.on('close', (error) => {
      this.#error ??= error;
      this.#onClose();
    });
    stream.on('drain', () => this.#onDrain());
    this.#schedule(this.#options.handshakeTimeoutMs, () => this.#fail(this.#handshakeTimeout()));
    this.#startedAt = this.#clock.now();
    try {
      stream.write(this.#channel.start());
    } catch (err) {
      this.#fail(P2PChatError.from(err, 'ERR_HANDSHAKE_FAILED'));
      return;
    }
    stream.resume();
  }

  send(message: OutgoingMessage): void {
    this.#write(this.#codec.encode(message));
  }

  /**
   * Messages encoded by the caller (file chunks framed in place), written together in one
   * vectored write and never copied after encryption.
   */
  sendEncoded(plaintexts: readonly Buffer[]): void {
    if (this.#closed || !this.#stream.writable) return;
    const parts: Buffer[] = [];
    let bytes = 0;
    for (const plaintext of plaintexts) {
      parts.push(...this.#channel.sealParts(plaintext));
      bytes += plaintext.length;
    }
    this.#stream.writev(parts);
    this.#garbage.add(bytes);
    this.#afterWrite();
  }

  /**
   * Stop reading from the peer until every holder has called releaseReading(): what the peer sends
   * meanwhile waits in the transport (the kernel's buffers, TCP's flow control). A file
   * being received uses this while its data waits for the disk, so as not to queue it in memory.
   * `excusesPeer`: the hold is ours, not the peer's doing, so the peer's ack time starts again
   * when it ends (excusedAt).
   */
  holdReading(holder: object, options: { excusesPeer?: boolean } = {}): void {
    if (options.excusesPeer === true) this.#excusing.add(holder);
    this.#reading.hold(holder);
  }

  releaseReading(holder: object): void {
    if (this.#excusing.delete(holder) && this.#excusing.size === 0) this.#excusedUntil = this.#clock.now();
    this.#reading.release(holder);
  }

  /**
   * When reading was last held by a hold that `excusesPeer` (one of ours the peer did nothing to
   * bring about: a move to another path awaiting its answer, a file waiting for our disk): now
   * while one lasts, else when the last ended; undefined if never. What the peer sent meanwhile,
   * acks too, waited unread. Holds the peer brings about itself (sending faster than it may be
   * forwarded) excuse nothing.
   */
  get excusedAt(): number | undefined {
    return this.#excusing.size > 0 ? this.#clock.now() : this.#excusedUntil;
  }

  /** Our writes are queued past the stream's high-water mark: the caller should wait for `drain`. */
  get needsDrain(): boolean {
    return this.#stream.needsDrain;
  }

  /** Bytes we wrote that the transport has not taken yet (the peer is slow to read them). */
  get queuedBytes(): number {
    return this.#stream.queuedBytes;
  }

  /**
   * Say goodbye and close. Everything already sent is flushed first (however slow the link; the
   * keepalive still ends a dead one), then the peer has `byeGraceMs` to close its side. Resolves
   * with whether everything we wrote reached the transport before the stream closed.
   */
  close(reason: string): Promise<boolean> {
    if (this.#closed) return Promise.resolve(this.#flushed);
    const done = new Promise<boolean>((resolve) => this.#stream.once('close', () => resolve(this.#flushed)));
    if (this.established && !this.#byeSent && this.#stream.writable) {
      this.#byeSent = true;
      this.#write(this.#codec.encode({ type: 'bye', reason }));
    }
    this.#byeSent = true;
    this.#stream.once('finish', () => {
      this.#flushed = true;
      this.#startGrace();
    });
    this.#stream.end();
    if (!this.established) this.#startGrace();
    return done;
  }

  destroy(): void {
    this.#byeSent = true;
    this.#stream.destroy();
  }

  /** End the connection at once for `error` (it is reported as how the connection ended). */
  drop(error: P2PChatError): void {
    this.#fail(error);
  }

  #write(plaintext: Buffer): void {
    if (this.#closed || !this.#stream.writable) return;
    this.#stream.write(this.#channel.seal(plaintext));
    this.#garbage.add(plaintext.length);
    this.#afterWrite();
  }

  #afterWrite(): void {
    const queued = this.#stream.queuedBytes;
    if (queued > this.#options.maxQueuedBytes) {
      this.#fail(chatError('ERR_CONNECTION_LOST', `${this.remote?.info.name ?? this.address} is not reading; dropped with ${queued} bytes queued`));
    }
  }

  #startGrace(): void {
    if (this.#graceTimer || this.#closed) return;
    this.#graceTimer = this.#clock.setTimeout(() => this.#stream.destroy(), this.#options.byeGraceMs);
    this.#graceTimer.unref();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#heard = true;
    // The plaintext opened from the chunk, and the chunk's own buffer unless the stream reuses it.
    this.#garbage.add((this.#stream.reusesReadBuffer === true ? 1 : 2) * chunk.length);
    let output;
    try {
      output = this.#channel.receive(chunk);
    } catch (err) {
      this.#fail(P2PChatError.from(err, 'ERR_BAD_MESSAGE'));
      return;
    }
    for (const bytes of output.send) this.#stream.write(bytes);
    if (this.#stream.needsDrain) this.#reading.writesBlocked();
    for (const event of output.events) {
      if (event.type === 'established') {
        this.#onEstablished(event.remote);
      } else {
        this.#keepalive?.received(this.#clock.now());
        try {
          this.#onMessage(this.#codec.decode(event.data));
        } catch (err) {
          this.#fail(P2PChatError.from(err, 'ERR_BAD_MESSAGE'));
          return;
        }
      }
      if (this.#closed || this.#error) return;
    }
  }

  #onEstablished(remote: RemotePeer): void {
    this.#keepalive = new Keepalive(
      { intervalMs: this.#options.keepaliveIntervalMs, timeoutMs: this.#options.keepaliveTimeoutMs },
      this.#clock.now(),
    );
    this.#armKeepalive();
    // The initiator's handshake took one round trip (message 1 out, message 2 back): a first
    // measure of the path until a keepalive's answer gives a better one.
    if (this.#options.initiator) this.#rttMs ??= this.#clock.now() - this.#startedAt;
    this.#wasEstablished = true;
    this.emit('established', remote);
  }

  #onMessage(message: SessionMessage): void {
    switch (message.type) {
      case 'ping':
        this.#write(this.#codec.encode({ type: 'pong', nonce: message.nonce }));
        return;
      case 'pong': {
        const sentAt = this.#pingSentAt.get(message.nonce);
        if (sentAt !== undefined) this.#rttMs = this.#clock.now() - sentAt;
        this.#pingSentAt.clear();
        return;
      }
      case 'bye':
        this.#byeReceived = message.reason;
        this.emit('goodbye');
        this.#stream.end();
        this.#startGrace(); // a peer that says goodbye but keeps the connection open is closed anyway
        return;
      case 'unknown':
        return; // a newer peer's type, or one this kind of connection does not speak: ignore it
      default:
        if (this.#byeReceived === undefined) this.emit('message', message);
    }
  }

  #armKeepalive(): void {
    const keepalive = this.#keepalive;
    if (!keepalive || this.#closed) return;
    this.#schedule(keepalive.nextDueIn(this.#clock.now()), () => {
      const now = this.#clock.now();
      // Silence we caused by not reading (a file waiting for the disk, a sender held back while
      // others catch up) says nothing of the peer: judge it again once we read.
      if (this.#reading.held) keepalive.received(now);
      const action = keepalive.poll(now);
      if (action === 'timeout') {
        this.#fail(chatError('ERR_KEEPALIVE_TIMEOUT', `${this.remote?.info.name ?? this.address} stopped answering`));
        return;
      }
      if (action === 'ping') this.ping();
      this.#armKeepalive();
    });
  }

  /** Measure the round trip now (used right after connecting, so /who can show it). */
  ping(): void {
    const now = this.#clock.now();
    this.#pingSentAt.set(now, now);
    this.#write(this.#codec.encode({ type: 'ping', nonce: now }));
  }

  #onDrain(): void {
    this.#reading.writesDrained();
    this.emit('drain');
  }

  #schedule(ms: number, fn: () => void): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(fn, ms);
    this.#timer.unref();
  }

  #handshakeTimeout(): P2PChatError {
    const message = `handshake with ${this.address} did not finish in time`;
    if (this.#heard) return chatError('ERR_HANDSHAKE_TIMEOUT', message);
    // A p2p-chat peer writes its preamble the moment it has the connection: silence is most likely
    // another kind of server, one that waits for a line end before it answers (as many do).
    const seconds = this.#options.handshakeTimeoutMs / 1000;
    const hint = this.#options.initiator ? ' (a p2p-chat peer answers at once: is another program listening on that port?)' : '';
    return chatError('ERR_HANDSHAKE_TIMEOUT', `${message}: it sent nothing in ${seconds} s${hint}`);
  }

  #fail(error: P2PChatError): void {
    this.#error ??= error;
    this.#stream.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#clock.clearTimeout(this.#graceTimer);
    const { address } = this;
    const awaitingMessage3 = this.#channel.awaitingMessage3;
    const established = this.#wasEstablished;
    this.emit('closed', closeOutcome({ address, byeReceived: this.#byeReceived, byeSent: this.#byeSent, error: this.#error, established, awaitingMessage3 }));
  }
}
