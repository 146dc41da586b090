// The receiving side of a file transfer. Nothing is written before the user accepts. On accept,
// partial files from an earlier attempt are hashed and offered as resume points; then each file
// is written to its partial file, acknowledged as it reaches the disk, checked against the
// sender's SHA-256 (asked for again once on a mismatch) and, when every file under the same
// top-level name is verified, moved into the download directory under a name nothing else has.
// Paused by a lost connection, it settles what it has on disk; when the conversation resumes, the
// sender's repeated offer is answered at once with where it stands (see #answerAgain).

import { createHash, type Hash } from 'node:crypto';
import { chatError } from '../../errors.js';
import { MAX_RESUME_POINTS, type FileMessage, type OfferedFile, type ResumePoint } from '../../session/file-messages.js';
import { validateOffer, type SafeEntry } from '../../session/file-names.js';
import { SEND_WINDOW_DEFAULTS } from '../../session/send-window.js';
import { DownloadDir, predictNames, writeError, type ResumableData } from './download-dir.js';
import { FileSink, WriteBacklog } from './file-sink.js';
import { PART_CLAIMS } from './part-claims.js';
import { PlacingGroups, type Group } from './placing-groups.js';
import { Transfer, transferProtocolError, type TransferLink, type TransferTiming } from './transfer.js';

export interface IncomingOptions extends TransferTiming {
  /** Acknowledge at least this often (bytes written). */
  readonly ackEveryBytes: number;
  /** More than this not yet on disk means the sender ignores the window: the transfer ends. */
  readonly maxBufferedBytes: number;
  /**
   * With this much waiting for the write under way, stop reading from the peer until that write is
   * done: the rest of the sender's window then waits in the kernel, not in our memory. 512 KiB
   * (eight frames) is large enough that reading and writing overlap at full speed (smaller bursts
   * slow relayed transfers) and small enough to keep the receiver's peak low (bench/README.md,
   * file-transfer-rss).
   */
  readonly pauseReadingAtBytes: number;
  /** How long a cancel or a cut waits for moves into place under way before ending regardless. */
  readonly placeWaitMs: number;
  /** Where accepted files go: DownloadDir.open, or a test's directory that holds its moves. */
  readonly openDownloadDir: (path: string) => Promise<DownloadDir>;
}

export const INCOMING_DEFAULTS = Object.freeze({
  // Also whenever nothing waits to be written, so a window smaller than this never stalls. Each
  // ack costs both ends a sealed message; at 256 KiB they were 0.2 s of CPU per GiB more than at
  // 1 MiB (bench/README.md, file-transfer-direct).
  ackEveryBytes: 1024 * 1024,
  // The sender's whole window, and some slack for a window that grew while acks were in flight.
  maxBufferedBytes: SEND_WINDOW_DEFAULTS.maxBytes + 4 * 1024 * 1024,
  pauseReadingAtBytes: 512 * 1024,
  placeWaitMs: 5000,
  openDownloadDir: (path: string) => DownloadDir.open(path),
});

interface Current {
  readonly index: number;
  readonly sink: FileSink;
  readonly offset: number;
}

export class IncomingTransfer extends Transfer {
  readonly direction = 'receive' as const;
  /** The files as the offer listed them: an offer made again must list the same. */
  readonly #offered: readonly OfferedFile[];
  readonly #entries: readonly SafeEntry[];
  /** Which files are verified and placed: those under each top-level name are placed together. */
  readonly #groups: PlacingGroups;
  readonly #options: IncomingOptions;
  #dir: DownloadDir | undefined;
  #dirPath: string | undefined;
  #parts: string[] = [];
  #resumable = new Map<number, ResumableData>();
  #current: Current | undefined;
  #sinks = new Set<FileSink>();
  readonly #backlog = new WriteBacklog();
  #resent = new Set<number>();
  /** Top-level name → the name it would be placed under, as predicted when the offer came. */
  #predicted = new Map<string, string>();
  /** Verified groups being moved into place (see linkClosed). */
  readonly #placing = new Set<Promise<void>>();
  /** A cancel or the link's end is waiting for #placing: start no more moves. */
  #ending = false;
  /** The accept's preparation (opening the directory, hashing partial files), while under way. */
  #accepting: Promise<void> | undefined;
  /** Ended files being finished and checked (and placed), while under way. */
  readonly #finishing = new Set<Promise<void>>();
  /** Since a pause: what the lost connection brought of the open file is on disk. */
  #kept: Promise<void> = Promise.resolve();
  /** Taken up on a resumed connection; the sender's repeated offer, answered with where we stand, is due. */
  #awaitingOffer = false;
  /** The answer to the repeated offer is being made (it waits for what the cut left under way). */
  #answering = false;
  #written = 0;
  /** file-ack counts from the last accept: what #written was then. */
  #writtenAtAccept = 0;
  #ackedAt = 0;
  /** Bytes of each file on disk now (a resend starts its file over), for progress. */
  #onDisk = new Map<number, number>();
  #onDiskTotal = 0;

  /** Validate the offered names (ERR_FILE_UNSAFE_NAME otherwise); the files as we will name them. */
  constructor(link: TransferLink, id: string, offered: readonly OfferedFile[], options: IncomingOptions) {
    const entries = validateOffer(offered);
    super(link, id, entries.map((e) => ({ path: e.parts.join('/'), size: e.size })), options);
    this.#offered = offered;
    this.#entries = entries;
    this.#groups = new PlacingGroups(entries);
    this.#options = options;
  }

  /**
   * Accept into `downloadDir`; resolves once the answer (with resume points) is sent. While the
   * connection is down, the answer waits for the sender's repeated offer instead.
   */
  async accept(downloadDir: string): Promise<void> {
    if (this.state !== 'offered') return;
    this.#dirPath = downloadDir;
    this.setState('active');
    const accepting = this.#prepare(downloadDir);
    this.#accepting = accepting;
    await accepting;
    this.#accepting = undefined;
  }

  async #prepare(downloadDir: string): Promise<void> {
    try {
      const dir = await this.#options.openDownloadDir(downloadDir);
      this.#dir = dir;
      this.#parts = this.files.map((f) => dir.partPath(this.link.peer.fingerprint, f.path, f.size));
      if (!PART_CLAIMS.claim(this.#parts)) {
        this.#parts = [];
        throw chatError('ERR_FILE_WRITE', `already receiving ${this.describe()} from ${this.link.peer.name}`);
      }
      await PART_CLAIMS.settled(this.#parts);
      const present = await dir.partsPresent();
      const resume: ResumePoint[] = [];
      for (let index = 0; index < this.files.length && resume.length < MAX_RESUME_POINTS && !this.finished; index++) {
        if (!present.has(this.#parts[index]!)) continue;
        const data = await dir.resumable(this.#parts[index]!, this.files[index]!.size);
        if (!data) continue;
        this.#resumable.set(index, data);
        resume.push({ index, have: data.have, sha256: data.hash.copy().digest('hex') });
      }
      if (this.finished || !this.#live) return;
      this.link.send({ type: 'file-accept', id: this.id, resume });
    } catch (err) {
      this.fail(writeError(err, downloadDir), false);
    }
  }

  /** Whether our messages reach the sender, and the stream's state they speak of is current. */
  get #live(): boolean {
    return !this.suspended && !this.#awaitingOffer;
  }

  /**
   * The connection is gone: what it brought of the open file is written and kept as a resume
   * point (its hash as it stands, so nothing is read again), and files it ended are checked and
   * placed as usual, their confirmations held back for the answer to the repeated offer.
   */
  protected override onPause(): void {
    this.#pauseReading(false);
    const current = this.#current;
    this.#current = undefined;
    const before = this.#kept; // an earlier pause's, still under way
    this.#kept = current ? before.then(() => this.#keep(current)) : before;
  }

  async #keep({ index, sink, offset }: Current): Promise<void> {
    try {
      const hash = await sink.keep();
      this.#sinks.delete(sink);
      const have = offset + sink.received;
      if (have > 0) this.#resumable.set(index, { have, hash });
    } catch (err) {
      this.fail(writeError(err, this.files[index]!.path), false);
    }
  }

  /** Only an accepted transfer has a stream to take up again; an offer still waits for the user. */
  protected override onContinue(): void {
    this.#awaitingOffer = this.state === 'active';
  }

  /**
   * The sender offered the same transfer again on a resumed connection: the same files, or the
   * transfer ends. Accepted, we answer as soon as we know where we stand; still offered, the
   * user's answer is the one it waits for. An offer repeated at any other time is ignored.
   */
  offeredAgain(files: readonly OfferedFile[]): void {
    if (this.finished) return;
    const same = files.length === this.#offered.length && files.every((f, i) => f.path === this.#offered[i]!.path && f.size === this.#offered[i]!.size);
    if (!same) {
      this.fail(transferProtocolError('offered again with other files'), false);
      return;
    }
    if (this.#awaitingOffer && !this.#answering) {
      this.#answering = true;
      void this.#answerAgain();
    }
  }

  /**
   * Once settled: confirmations for the files placed (the first ones may have been lost), then a
   * file-accept whose resume points say what we hold of every other file. A verified file not yet
   * placed is held whole: its point has `have` = its size, and the sender finishes it without
   * sending its bytes (it is checked again, as any resumed file).
   */
  async #answerAgain(): Promise<void> {
    await this.#kept;
    // Files ended before the cut are checked (and maybe placed), and a /accept given meanwhile has looked for partial files.
    while (this.#accepting || this.#finishing.size > 0) await Promise.allSettled([this.#accepting, ...this.#finishing]);
    this.#answering = false;
    if (this.finished || this.suspended) return;
    this.#awaitingOffer = false;
    for (const [index, sha256] of this.#groups.placedFiles()) this.link.send({ type: 'file-verified', id: this.id, index, sha256 });
    for (const [index, hash] of this.#groups.unverifyUnplaced()) this.#resumable.set(index, { have: this.files[index]!.size, hash });
    const points = [...this.#resumable].sort(([a], [b]) => a - b).slice(0, MAX_RESUME_POINTS);
    this.#resumable = new Map(points);
    this.#writtenAtAccept = this.#written;
    this.#ackedAt = this.#written;
    const resume = points.map(([index, data]) => ({ index, have: data.have, sha256: data.hash.copy().digest('hex') }));
    this.link.send({ type: 'file-accept', id: this.id, resume });
  }

  /** Done, its final words are every confirmation (the last may have been lost with the connection). */
  override get finalWords(): readonly FileMessage[] {
    if (this.state !== 'done') return super.finalWords;
    return this.#groups.placedFiles().map(([index, sha256]) => ({ type: 'file-verified' as const, id: this.id, index, sha256 }));
  }

  /** Say no; `reason` (if any) is shown on both sides after "declined ...: ". */
  decline(reason = ''): void {
    if (this.state !== 'offered') return;
    this.sendFinal({ type: 'file-decline', id: this.id, reason });
    this.fail(chatError('ERR_FILE_DECLINED', `declined ${this.describe()} from ${this.link.peer.name}${reason ? `: ${reason}` : ''}`), true);
  }

  /**
   * A connection that ends while verified files are being moved into place ends the transfer
   * only once they are placed: they are then reported saved (the transfer done, if they were the
   * last), not lost with nothing left in the partial folder to resume from.
   */
  override linkClosed(why?: string): void {
    this.#afterPlacing(() => super.linkClosed(why));
  }

  /** Likewise a /cancel: files already being moved into place are saved, and the cancel follows. */
  override cancel(reason = ''): void {
    this.#afterPlacing(() => super.cancel(reason));
  }

  /**
   * Run `end` now, or once the moves into place under way have finished (at most placeWaitMs: a
   * rename stuck on a network file system must not hold a cancel forever). No move starts after
   * this (a file verified meanwhile stays partial, for a resume), so a cancel during a run of many
   * small files waits for one move, not for the rest of the transfer.
   */
  #afterPlacing(end: () => void): void {
    this.#ending = true;
    if (this.#placing.size === 0) return end();
    const clock = this.timing.clock;
    const timer = clock.setTimeout(end, this.#options.placeWaitMs);
    void Promise.allSettled(this.#placing).then(() => {
      clock.clearTimeout(timer);
      // A move can only have started in the same turn as the one awaited; wait for it too.
      this.#afterPlacing(end);
    });
  }

  /**
   * Look at `downloadDir` (creating nothing) to predict where each top-level name would be placed:
   * an offer says when a name is taken there and what it will be saved as instead.
   */
  async predictNames(downloadDir: string): Promise<void> {
    this.#predicted = await predictNames(downloadDir, this.#groups.tops);
  }

  /**
   * Where each file was saved, relative to the download directory, once placed; before that,
   * where it would be as predicted at the offer (undefined when there was no prediction).
   */
  savedAs(index: number): string | undefined {
    const saved = this.#groups.savedAs(index);
    if (saved !== undefined) return saved;
    const [top, ...rest] = this.#entries[index]!.parts;
    const predicted = this.#predicted.get(top!);
    return predicted === undefined ? undefined : [predicted, ...rest].join('/');
  }

  /** The directory given to accept(). */
  get downloadDir(): string | undefined {
    return this.#dirPath;
  }

  protected onMessage(message: FileMessage): void {
    if (message.type === 'file-cancel') {
      // As for our own cancel: files already being moved into place are saved first.
      this.#afterPlacing(() => this.failFromPeer(message.reason, message.code));
      return;
    }
    if (this.state !== 'active' || !this.#dir) throw transferProtocolError(`${message.type} before the offer was accepted`);
    if (!this.#live) throw transferProtocolError(`${message.type} before the answer to the offer made again`);
    switch (message.type) {
      case 'file-start':
        return this.#start(message.index, message.offset);
      case 'file-data': {
        const current = this.#current;
        if (!current) throw transferProtocolError('data outside a file');
        if (current.offset + current.sink.received + message.data.length > this.files[current.index]!.size) {
          throw transferProtocolError(`more data than the ${this.files[current.index]!.size} bytes offered`);
        }
        current.sink.push(message.data);
        if (this.#backlog.queued > this.#options.maxBufferedBytes) throw transferProtocolError('the sender ignored the flow-control window');
        if (this.#backlog.waiting >= this.#options.pauseReadingAtBytes) this.#pauseReading(true);
        return;
      }
      case 'file-end':
        return this.#end(message.index, message.sha256);
      default:
        throw transferProtocolError(`unexpected ${message.type} from the sender`);
    }
  }

  #start(index: number, offset: number): void {
    if (this.#current) throw transferProtocolError('a file started before the previous one ended');
    if (index >= this.files.length || this.#groups.isVerified(index)) throw transferProtocolError('no such file to start');
    const resumed = this.#resumable.get(index);
    this.#resumable.delete(index);
    if (offset !== 0 && offset !== resumed?.have) throw transferProtocolError('a file started at an offset we did not offer');
    const dir = this.#dir!;
    const part = this.#parts[index]!;
    this.noteStart(index, offset);
    this.#onDiskTotal += offset - (this.#onDisk.get(index) ?? 0);
    this.#onDisk.set(index, offset);
    const sink = new FileSink({
      handle: dir.openPart(part, offset),
      path: this.files[index]!.path,
      position: offset,
      hash: offset > 0 ? resumed!.hash : createHash('sha256'),
      backlog: this.#backlog,
      onWritten: (bytes) => this.#onWritten(index, bytes),
      onError: (err) => this.fail(err, false),
    });
    this.#sinks.add(sink);
    this.#current = { index, sink, offset };
  }

  #end(index: number, sha256: string): void {
    const current = this.#current;
    if (!current || current.index !== index) throw transferProtocolError('the end of a file that was not started');
    if (current.offset + current.sink.received !== this.files[index]!.size) throw transferProtocolError('a file ended short of its size');
    this.#current = undefined;
    const finishing: Promise<void> = current.sink
      .keep()
      .then(
        async (hash) => {
          this.#sinks.delete(current.sink);
          const digest = hash.copy().digest('hex');
          if (!this.finished) await this.#verify(index, digest === sha256 ? digest : undefined, hash);
        },
        (err: unknown) => this.fail(writeError(err, this.files[index]!.path), false),
      )
      .finally(() => this.#finishing.delete(finishing));
    this.#finishing.add(finishing);
  }

  /** `matched`: the SHA-256 the file matched, or undefined on a mismatch; `hash`: its running hash. */
  async #verify(index: number, matched: string | undefined, hash: Hash): Promise<void> {
    const path = this.files[index]!.path;
    if (matched === undefined) {
      if (this.#resent.has(index)) {
        this.fail(chatError('ERR_FILE_CORRUPT', `${path} did not match its SHA-256 twice; the partial data is kept`), false);
        return;
      }
      this.#resent.add(index);
      // Not live: the answer to the repeated offer gives this file no resume point, which asks for it whole.
      if (this.#live) this.link.send({ type: 'file-resend', id: this.id, index, reason: 'SHA-256 mismatch' });
      this.emit('mismatch', { index, path });
      return;
    }
    const group = this.#groups.verify(index, matched, hash);
    // Not once the transfer is ending (a cut, a cancel): the data stays partial for a resume.
    if (!group || this.finished || this.#ending) return;
    const placing: Promise<void> = this.#place(group).finally(() => this.#placing.delete(placing));
    this.#placing.add(placing);
    await placing;
  }

  /** Move a verified group into the download directory, then confirm it (and end, if it was the last). */
  async #place(group: Group): Promise<void> {
    try {
      const name = await this.#dir!.place(
        group.top,
        group.files.map(({ index, rest }) => ({ rest, part: this.#parts[index]! })),
      );
      this.#groups.placed(group, name);
    } catch (err) {
      this.fail(writeError(err, this.#dir!.path), false);
      return;
    }
    // The last group leaves nothing partial: the folder goes before anyone is told it is done,
    // and done comes before the last confirmation, since the sender may leave once it has that.
    if (this.#groups.allPlaced) {
      await this.#dir!.tidy();
      this.complete();
    }
    for (const { index } of group.files) {
      // Not live: said with the answer to the repeated offer (or, once done, as its final words).
      if (this.#live) this.link.send({ type: 'file-verified', id: this.id, index, sha256: this.#groups.sha256(index)! });
      this.emit('file-verified', { index, path: this.files[index]!.path, savedAs: this.#groups.savedAs(index)! });
    }
  }

  #onWritten(index: number, bytes: number): void {
    this.#written += bytes;
    this.#onDisk.set(index, (this.#onDisk.get(index) ?? 0) + bytes);
    this.#onDiskTotal += bytes;
    this.setBytes(this.#onDiskTotal, this.#written);
    const queued = this.#backlog.queued; // before resuming: reading may push more at once
    if (this.#backlog.waiting < this.#options.pauseReadingAtBytes) this.#pauseReading(false);
    if (this.#live && (this.#written - this.#ackedAt >= this.#options.ackEveryBytes || queued === 0)) {
      this.#ackedAt = this.#written;
      if (!this.finished) this.link.send({ type: 'file-ack', id: this.id, bytes: this.#written - this.#writtenAtAccept });
    }
  }

  /** Both calls are idempotent per holder (PeerConnection keeps the set of holders). */
  #pauseReading(paused: boolean): void {
    if (paused) this.link.pauseReading(this);
    else this.link.resumeReading(this);
  }

  protected release(): void {
    this.#pauseReading(false);
    this.#current = undefined;
    PART_CLAIMS.release(this.#parts, Promise.all([...this.#sinks].map((sink) => sink.abort())));
    this.#sinks.clear();
  }
}
