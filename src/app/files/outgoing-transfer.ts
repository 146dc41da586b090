// The sending side of a file transfer: offer, wait for the answer, then stream each file from disk
// in chunks as the send window and the socket allow, hashing as it reads. A resume point from the
// receiver is checked by hashing our own first bytes; if they differ the file starts over. The
// receiver is believed only about what it was sent: a file counts as delivered once it was sent
// whole, with its file-end, and confirmed with that file-end's SHA-256. When the conversation
// resumes after a lost connection, the same offer is made again and the answer says where to go on.

import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { Timer } from '../../clock.js';
import { chatError, type P2PChatError } from '../../errors.js';
import { TAG_LENGTH } from '../../secure/noise/crypto-primitives.js';
import { FILE_DATA_HEADER_BYTES, offerPages, writeFileDataHeader, type FileMessage, type ResumePoint } from '../../session/file-messages.js';
import { SendWindow, type SendWindowOptions } from '../../session/send-window.js';
import { FRAME_HEADER_SIZE } from '../../wire/frame-encoder.js';
import { unreadable, type LocalFile } from './file-list.js';
import { peerReason, Transfer, transferProtocolError, type TransferLink, type TransferTiming } from './transfer.js';

/** What libuv asks a socket read for (64 KiB). */
const NODE_SOCKET_READ_BYTES = 64 * 1024;
/**
 * Data bytes per file-data message: one short of the most a Noise message carries, so that each
 * frame is exactly 64 KiB on the wire (length prefix, header, data, tag), the size Node reads a
 * socket in. A receiver that is behind, as it is in bulk, then reads one whole frame per read and
 * decrypts it where it lies; a frame even one byte longer would straddle two reads and be copied
 * into a buffer of its own first.
 */
export const CHUNK_BYTES = NODE_SOCKET_READ_BYTES - FRAME_HEADER_SIZE - TAG_LENGTH - FILE_DATA_HEADER_BYTES;
/**
 * Bytes read from disk at once (several chunks), with the next read already under way. Eight
 * chunks (512 KiB) keep the disk ahead of the socket. Sixteen spend 0.18 s less of the sender's
 * CPU per GiB (each read is a round trip through the thread pool) but peak 2 MiB higher, which
 * the memory goal cannot spare (bench/README.md, file-transfer-rss).
 */
const READ_BYTES = 8 * CHUNK_BYTES;
/** How often one file may be sent again after a SHA-256 mismatch. */
const MAX_RESENDS = 1;

/** A file-data message in a block, and its data area: views made once per block slot, not per read. */
interface Chunk {
  readonly message: Buffer;
  readonly data: Buffer;
}

export interface OutgoingOptions extends TransferTiming {
  /** The offer is withdrawn if not answered in this time. */
  readonly offerTimeoutMs: number;
  readonly window?: Partial<SendWindowOptions>;
}

export class OutgoingTransfer extends Transfer {
  readonly direction = 'send' as const;
  readonly #local: readonly LocalFile[];
  readonly #options: OutgoingOptions;
  #window: SendWindow | undefined;
  #resume = new Map<number, ResumePoint>();
  /**
   * Files the receiver holds whole, by a resume point that repeats the SHA-256 of our own
   * file-end: finished with a file-start at their end, without reading them again.
   */
  #whole = new Map<number, string>();
  #queue: number[] = [];
  #resends = new Map<number, number>();
  /** Files sent whole since last asked for, with the SHA-256 their file-end gave. */
  readonly #ended = new Map<number, string>();
  readonly #verified = new Set<number>();
  /** The loop sending the queue, while one runs; a new one starts only after it. */
  #running: Promise<void> | undefined;
  /** Counts pauses: a sending loop from before the last one sends nothing more. */
  #generation = 0;
  /** The offer was made again after a resume, and the answer that says where to go on is due. */
  #continuing = false;
  /** What the receiver said it held when it last accepted, and what was carried before that. */
  #heldAtAccept = 0;
  #carriedBefore = 0;
  #wake: (() => void) | undefined;
  #offerTimer: Timer | undefined;
  #unsubscribeDrain: (() => void) | undefined;
  /**
   * Two blocks of file-data messages for every file of the transfer, used in turn: the disk reads
   * into one while the other is hashed and sent. Encryption copies each message out before its
   * block comes round again, so files are sent without allocating for their data: half the
   * sender's allocations, and fewer garbage collections.
   */
  readonly #blocks: [Chunk[], Chunk[]] = [[], []];

  constructor(link: TransferLink, id: string, files: readonly LocalFile[], options: OutgoingOptions) {
    super(link, id, files.map((f) => ({ path: f.path, size: f.size })), options);
    this.#local = files;
    this.#options = options;
  }

  /** Send the offer; the peer has `offerTimeoutMs` to answer. */
  start(): void {
    this.#offer();
  }

  #offer(): void {
    for (const page of offerPages(this.id, this.files)) this.link.send(page);
    this.timing.clock.clearTimeout(this.#offerTimer);
    this.#offerTimer = this.timing.clock.setTimeout(() => {
      this.fail(chatError('ERR_FILE_DECLINED', `${this.describe()}: ${this.link.peer.name} did not answer the offer in time`), false, 'offer expired');
    }, this.#options.offerTimeoutMs);
    this.#offerTimer.unref();
  }

  /** Stop sending: the loop under way sends nothing more, and the window is gone with the connection. */
  protected override onPause(): void {
    this.#generation++;
    this.#unsubscribeDrain?.();
    this.#unsubscribeDrain = undefined;
    this.#window = undefined;
    this.#wakeUp();
  }

  /**
   * The same offer again, same id: the receiver answers it at once with where it stands (or, if
   * the first offer never reached it, as any offer). An offer still unanswered keeps its timer.
   */
  protected override onContinue(): void {
    if (this.state === 'offered') {
      for (const page of offerPages(this.id, this.files)) this.link.send(page);
      return;
    }
    this.#continuing = true;
    this.#offer();
  }

  protected onMessage(message: FileMessage): void {
    switch (message.type) {
      case 'file-accept':
        if (this.state !== 'offered' && !this.#continuing) throw transferProtocolError('accepted twice');
        this.#accepted(message.resume);
        return;
      case 'file-decline':
        this.fail(chatError('ERR_FILE_DECLINED', `${this.link.peer.name} declined ${this.describe()}${peerReason(message.reason, ': ')}`), true);
        return;
      case 'file-ack':
        if (!this.#window?.acked(message.bytes, this.timing.clock.now())) throw this.#lie('acknowledged more bytes than were sent, or fewer than before');
        // What the receiver held when it accepted (a resume's prefix) counts as done, not as carried.
        this.setBytes(this.#heldAtAccept + message.bytes, this.#carriedBefore + message.bytes);
        this.#wakeUp();
        return;
      case 'file-verified': {
        const index = this.#fileIndex(message.index);
        const path = this.files[index]!.path;
        const sent = this.#ended.get(index);
        // Before its answer to an offer made again, the receiver repeats the confirmations the lost connection may have dropped.
        if (this.#verified.has(index) && this.#continuing && message.sha256 === sent) return;
        if (this.#verified.has(index)) throw this.#lie(`confirmed ${path} twice`);
        if (sent === undefined) throw this.#lie(`confirmed ${path} before it was sent in full`);
        if (message.sha256 !== sent) throw this.#lie(`confirmed ${path} with a SHA-256 other than the one sent`);
        this.#verified.add(index);
        this.emit('file-verified', { index, path });
        if (this.#verified.size === this.files.length) this.complete();
        return;
      }
      case 'file-resend': {
        const index = this.#fileIndex(message.index);
        const path = this.files[index]!.path;
        if (this.#verified.has(index)) throw this.#lie(`asked for ${path} again after confirming it`);
        // From here the file is not sent whole until its next file-end.
        if (!this.#ended.delete(index)) throw this.#lie(`asked for ${path} again before it was sent in full`);
        const count = (this.#resends.get(index) ?? 0) + 1;
        if (count > MAX_RESENDS) {
          throw chatError('ERR_FILE_CORRUPT', `${path} failed its SHA-256 check at ${this.link.peer.name} again`);
        }
        this.#resends.set(index, count);
        this.#resume.delete(index);
        this.#whole.delete(index);
        this.#queue.push(index);
        if (!this.#running) this.#run();
        return;
      }
      case 'file-cancel':
        this.failFromPeer(message.reason, message.code);
        return;
      default:
        throw transferProtocolError(`unexpected ${message.type} from the receiver`);
    }
  }

  /**
   * The receiver's answer: the first, or the one to an offer made again, which restates where it
   * stands. Every file not confirmed is sent (again) from its resume point, if any.
   */
  #accepted(points: readonly ResumePoint[]): void {
    this.timing.clock.clearTimeout(this.#offerTimer);
    this.#continuing = false;
    this.#resume = this.#resumePoints(points);
    this.#queue = this.files.map((_, i) => i).filter((i) => !this.#verified.has(i));
    this.#whole = new Map();
    for (const [index, point] of this.#resume) {
      if (point.have === this.files[index]!.size && point.sha256 === this.#ended.get(index)) this.#whole.set(index, point.sha256);
    }
    for (const index of this.#queue) this.#ended.delete(index);
    this.#heldAtAccept = [...this.#verified].reduce((sum, i) => sum + this.files[i]!.size, 0) + [...this.#resume.values()].reduce((sum, p) => sum + p.have, 0);
    this.#carriedBefore = this.carried;
    this.#window = new SendWindow({ ...this.#options.window, ...(this.link.rttMs !== undefined ? { baseDelayMs: this.link.rttMs } : {}) });
    this.#unsubscribeDrain = this.link.onDrain(() => this.#wakeUp());
    if (this.state === 'offered') this.setState('active');
    this.#run();
  }

  #fileIndex(index: number): number {
    if (index >= this.files.length || this.state !== 'active') throw transferProtocolError('no such file in the transfer');
    return index;
  }

  /** The receiver's resume points by file: each for a file offered, one per file, none past its end. */
  #resumePoints(points: readonly ResumePoint[]): Map<number, ResumePoint> {
    const resume = new Map<number, ResumePoint>();
    for (const point of points) {
      const file = this.files[point.index];
      if (file === undefined) throw this.#lie('accepted with a resume point for a file not offered');
      if (point.have > file.size) throw this.#lie(`accepted with a resume point past the end of ${file.path}`);
      if (resume.has(point.index)) throw this.#lie(`accepted with two resume points for ${file.path}`);
      if (this.#verified.has(point.index)) throw this.#lie(`accepted with a resume point for ${file.path}, which it confirmed`);
      resume.set(point.index, point);
    }
    return resume;
  }

  /** The receiver said something that does not fit what it was sent: the transfer ends. */
  #lie(what: string): P2PChatError {
    return transferProtocolError(`${this.link.peer.name} ${what}`);
  }

  /** Send the queue, once the loop of an earlier connection (if any) has stopped. */
  #run(): void {
    const generation = this.#generation;
    const before = this.#running;
    const running = (async () => {
      await before;
      let index: number | undefined;
      try {
        // Liveness first: a loop paused meanwhile must not take a file from the next one's queue.
        while (this.#live(generation) && (index = this.#queue.shift()) !== undefined) await this.#sendFile(index, generation);
      } catch (err) {
        // Anything not already coded is the file failing to open or read (EIO from a failing
        // disk, a directory put in its place).
        this.fail(unreadable(this.files[index!]!.path, err), false);
      }
    })();
    this.#running = running;
    void running.then(() => {
      if (this.#running === running) this.#running = undefined;
    });
  }

  /** Not ended, and not paused since the loop of `generation` began. */
  #live(generation: number): boolean {
    return !this.finished && generation === this.#generation;
  }

  async #sendFile(index: number, generation: number): Promise<void> {
    const file = this.#local[index]!;
    const handle = await open(file.absolutePath, 'r');
    try {
      const before = await handle.stat();
      if (before.size !== file.size) throw changed(file.path);
      const whole = this.#whole.get(index);
      const { offset, hash } = whole === undefined ? await this.#resumeFrom(handle, index) : { offset: file.size, hash: undefined };
      if (!this.#live(generation)) return;
      this.noteStart(index, offset);
      this.link.send({ type: 'file-start', id: this.id, index, offset });
      if (hash) await this.#stream(handle, file, offset, hash, generation);
      if (!this.#live(generation)) return;
      const after = await handle.stat();
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw changed(file.path);
      const sha256 = hash?.digest('hex') ?? whole!;
      this.#ended.set(index, sha256);
      this.link.send({ type: 'file-end', id: this.id, index, sha256 });
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Where the receiver's copy continues from, with the hash of our bytes before that point: its
   * resume point if our first bytes hash the same, else the start.
   */
  async #resumeFrom(handle: FileHandle, index: number): Promise<{ offset: number; hash: Hash }> {
    const hash = createHash('sha256');
    const point = this.#resume.get(index);
    if (!point || point.have === 0) return { offset: 0, hash };
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, point.have));
    for (let position = 0; position < point.have && !this.finished; ) {
      const want = Math.min(buffer.length, point.have - position);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead !== want) throw changed(this.files[index]!.path);
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    if (hash.copy().digest('hex') === point.sha256) return { offset: point.have, hash };
    this.#heldAtAccept -= point.have; // not what we have: none of it counts as done
    return { offset: 0, hash: createHash('sha256') };
  }

  async #stream(handle: FileHandle, file: LocalFile, offset: number, hash: Hash, generation: number): Promise<void> {
    let turn = 0;
    let position = offset;
    const readFrom = (at: number) => (at < file.size ? this.#readChunks(handle, file, at, this.#blocks[turn++ % 2]!) : undefined);
    let next = readFrom(position);
    while (next && this.#live(generation)) {
      const chunks = await next;
      for (const chunk of chunks) position += chunk.data.length;
      next = readFrom(position); // the disk reads ahead while this block is hashed and sent
      for (const chunk of chunks) hash.update(chunk.data);
      for (let i = 0; i < chunks.length && this.#live(generation); ) {
        await this.#capacity(generation);
        if (!this.#live(generation)) break;
        // As many chunks as the window allows (at least one), in one vectored write.
        const available = this.#window!.available;
        const messages: Buffer[] = [];
        let bytes = 0;
        for (; i < chunks.length && (messages.length === 0 || bytes + chunks[i]!.data.length <= available); i++) {
          bytes += chunks[i]!.data.length;
          messages.push(chunks[i]!.message);
        }
        this.link.sendEncoded(messages);
        this.#window!.sent(bytes, this.timing.clock.now());
      }
    }
    await next?.catch(() => undefined);
  }

  /**
   * The next block of the file as ready-to-send file-data messages, in `block`'s memory (each
   * full-size message made once, its header written): one readv fills each message's data area
   * directly, so no byte is copied between the disk and the cipher.
   */
  async #readChunks(handle: FileHandle, file: LocalFile, position: number, block: Chunk[]): Promise<Chunk[]> {
    const length = Math.min(READ_BYTES, file.size - position);
    const chunks: Chunk[] = [];
    for (let at = 0, k = 0; at < length; at += CHUNK_BYTES, k++) {
      const slot = (block[k] ??= newChunk(this.id));
      const size = Math.min(CHUNK_BYTES, length - at);
      // Only a file's last chunk is short, and only it needs views of its own.
      chunks.push(size === CHUNK_BYTES ? slot : { message: slot.message.subarray(0, FILE_DATA_HEADER_BYTES + size), data: slot.data.subarray(0, size) });
    }
    const { bytesRead } = await handle.readv(chunks.map((c) => c.data), position);
    if (bytesRead !== length) throw changed(file.path);
    return chunks;
  }

  /** Resolves when the window and the socket both have room (or the transfer ended or paused). */
  async #capacity(generation: number): Promise<void> {
    while (this.#live(generation) && (this.#window!.available <= 0 || !this.link.writable)) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  protected release(): void {
    this.timing.clock.clearTimeout(this.#offerTimer);
    this.#unsubscribeDrain?.();
    this.#wakeUp();
  }
}

/** A full-size file-data message of transfer `id`, its header written, with its data area. */
function newChunk(id: string): Chunk {
  const message = writeFileDataHeader(Buffer.allocUnsafeSlow(FILE_DATA_HEADER_BYTES + CHUNK_BYTES), id);
  return { message, data: message.subarray(FILE_DATA_HEADER_BYTES) };
}

function changed(path: string) {
  return chatError('ERR_FILE_CHANGED', `${path} changed while it was being sent; send it again`);
}
