// What both directions of a file transfer share: the peer link they run over (a new one when the
// conversation resumes on a new connection), their identity and file list, progress reporting (the
// one throttle, at the rate the front end asked for), and one way to end (done, or failed with a
// coded error that was, unless the peer sent it, also told to the peer).

import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock.js';
import { chatError, P2PChatError, type ErrorCode } from '../../errors.js';
import { sanitizeText } from '../../session/sanitize.js';
import type { PeerRef } from '../../session/message-fields.js';
import type { FileMessage, OfferedFile } from '../../session/file-messages.js';

/** The connection a transfer runs over, as the transfer sees it. */
export interface TransferLink {
  readonly peer: PeerRef;
  send(message: FileMessage): void;
  /** Already encoded file-data messages (headers written in place, see writeFileDataHeader), sent together. */
  sendEncoded(plaintexts: readonly Buffer[]): void;
  /** False while our writes to this peer are queued past the socket's high-water mark. */
  readonly writable: boolean;
  /** Called when queued writes have drained; returns the unsubscribe. */
  onDrain(listener: () => void): () => void;
  /** Round-trip time of the link when idle, if measured. */
  readonly rttMs: number | undefined;
  /** Stop reading from the peer until resumeReading(holder): its data then waits in the kernel. */
  pauseReading(holder: object): void;
  resumeReading(holder: object): void;
}

export type TransferDirection = 'send' | 'receive';
export type TransferState = 'offered' | 'active' | 'done' | 'failed';

export interface TransferProgress {
  readonly bytes: number;
  readonly total: number;
}

interface Events {
  accepted: [];
  progress: [progress: TransferProgress];
  /** One file is complete and its SHA-256 matched; `savedAs` is where the receiver put it. */
  'file-verified': [file: { readonly index: number; readonly path: string; readonly savedAs?: string }];
  /** A file did not match its SHA-256 and is being sent again. */
  mismatch: [file: { readonly index: number; readonly path: string }];
  done: [];
  failed: [error: P2PChatError, byPeer: boolean];
}

export interface TransferTiming {
  /** Progress throttling, send-window timing, the offer's expiry and the wait for moves into place. */
  readonly clock: Clock;
  /** Least time between two progress events. */
  readonly progressIntervalMs: number;
}

export abstract class Transfer extends EventEmitter<Events> {
  readonly id: string;
  readonly files: readonly OfferedFile[];
  readonly total: number;
  abstract readonly direction: TransferDirection;
  protected readonly timing: TransferTiming;
  #link: TransferLink;
  /** The connection is gone and the conversation may resume: nothing moves until continueOn(). */
  #suspended = false;
  /** What this side said to end the transfer (a file-cancel, a file-decline), to say again after a resume. */
  #finalWords: readonly FileMessage[] = [];
  #state: TransferState = 'offered';
  #bytes = 0;
  #carried = 0;
  /** Per file, where its last start began: a resend from 0 after a mismatch resets it. */
  readonly #startedAt = new Map<number, number>();
  #lastProgressAt = -Infinity;

  constructor(link: TransferLink, id: string, files: readonly OfferedFile[], timing: TransferTiming) {
    super();
    this.#link = link;
    this.id = id;
    this.files = files;
    this.total = files.reduce((sum, f) => sum + f.size, 0);
    this.timing = timing;
  }

  get state(): TransferState {
    return this.#state;
  }

  /** The connection the transfer runs over now. */
  get link(): TransferLink {
    return this.#link;
  }

  get suspended(): boolean {
    return this.#suspended;
  }

  /**
   * The messages with which this side ended the transfer, or none (it is under way, done as a
   * sender, or ended by the peer or by a lost conversation). Lost with a connection, they are
   * said again when the conversation resumes (Transfers).
   */
  get finalWords(): readonly FileMessage[] {
    return this.#finalWords;
  }

  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  /** Bytes of the transfer complete (including what a resume did not need to send). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Bytes actually carried over the connection so far (a resend after a mismatch counts again):
   * what a speed is measured in, since a resume's skipped prefix moves `bytes` without travelling.
   */
  get carried(): number {
    return this.#carried;
  }

  /** Bytes a resume found already at the receiver, so not carried again (for an honest speed). */
  get resumed(): number {
    let sum = 0;
    for (const offset of this.#startedAt.values()) sum += offset;
    return sum;
  }

  /** File `index` starts (again) at `offset`: what a resume skipped, or 0 when sent whole. */
  protected noteStart(index: number, offset: number): void {
    this.#startedAt.set(index, offset);
  }

  /** A message for this transfer from the peer; one that breaks the protocol ends the transfer. */
  handle(message: FileMessage): void {
    if (this.finished) return;
    try {
      this.onMessage(message);
    } catch (err) {
      this.fail(P2PChatError.from(err, 'ERR_BAD_MESSAGE', 'file transfer'), false);
    }
  }

  /** What this side does with a message; throws a coded error (transferProtocolError...) to end. */
  protected abstract onMessage(message: FileMessage): void;

  /** Stop the transfer from our side and tell the peer (`reason`, if any, is shown to both). */
  cancel(reason = ''): void {
    this.fail(chatError('ERR_FILE_CANCELLED', `${this.describe()} cancelled${reason ? `: ${reason}` : ''}`), false, reason);
  }

  /**
   * The connection was lost but the conversation may resume: stop sending and receiving, keep
   * everything (what the receiver has is settled on disk), and wait for continueOn() or linkClosed().
   */
  pause(): void {
    if (this.finished || this.#suspended) return;
    this.#suspended = true;
    this.onPause();
  }

  /** The conversation resumed over `link`: take the transfer up there (see onContinue). */
  continueOn(link: TransferLink): void {
    if (this.finished) return;
    this.pause(); // a connection replaced before it was known to be lost
    this.#link = link;
    this.#suspended = false;
    this.onContinue();
  }

  protected onPause(): void {}

  protected onContinue(): void {}

  /** The connection (or the conversation, after a pause) ended under the transfer (`why`: how, when it was not a goodbye). */
  linkClosed(why?: string): void {
    if (this.finished) return;
    const how = why ? `lost (${why})` : 'ended';
    this.fail(chatError('ERR_FILE_CANCELLED', `${this.describe()} stopped: connection to ${this.link.peer.name} ${how}`), true);
  }

  /** e.g. `trip.tar` or `big.bin, album/ (4 files)`, for messages (see describeFileList). */
  describe(): string {
    return describeFileList(this.files);
  }

  protected setState(state: TransferState): void {
    this.#state = state;
    if (state === 'active') this.emit('accepted');
  }

  /**
   * Progress is reported at most once per progressIntervalMs, the last bytes too: file-done
   * follows, and a front end's rate (e.g. --json's once a second) holds to the end. `carried`: of
   * all bytes so far, those that crossed the connection (see `carried`).
   */
  protected setBytes(bytes: number, carried = bytes): void {
    this.#bytes = Math.min(bytes, this.total);
    this.#carried = carried;
    const now = this.timing.clock.now();
    if (now - this.#lastProgressAt < this.timing.progressIntervalMs) return;
    this.#lastProgressAt = now;
    this.emit('progress', { bytes: this.#bytes, total: this.total });
  }

  protected complete(): void {
    if (this.finished) return;
    this.setBytes(this.total, this.#carried);
    this.#state = 'done';
    this.release();
    this.emit('done');
  }

  /**
   * End with an error. Unless the peer told us (`byPeer`), it is told with a file-cancel carrying
   * the code, so both sides say the same thing.
   */
  protected fail(error: P2PChatError, byPeer: boolean, reason: string = error.message): void {
    if (this.finished) return;
    this.#state = 'failed';
    if (!byPeer) this.sendFinal({ type: 'file-cancel', id: this.id, reason, code: error.code });
    this.release();
    this.emit('failed', error, byPeer);
  }

  /** Send the message that ends the transfer, and keep it (finalWords). */
  protected sendFinal(message: FileMessage): void {
    this.#finalWords = [message];
    this.#link.send(message);
  }

  /** The peer's file-cancel: end with its code when it is one of ours. */
  protected failFromPeer(reason: string, code: string | undefined): void {
    const known = PEER_CODES.has(code as ErrorCode) ? (code as ErrorCode) : 'ERR_FILE_CANCELLED';
    this.fail(chatError(known, `${this.link.peer.name} stopped ${this.describe()}${peerReason(reason, ': ')}`), true);
  }

  /** Close files and timers; called once when the transfer ends. */
  protected abstract release(): void;
}

/**
 * Files as people read them, by their top-level names, a directory's with a slash: `trip.tar`,
 * `photos/ (12 files)`, `big.bin, album/ (4 files)`, `a, b, c, … (9 files)`. `size` (e.g.
 * `1.2 GiB`) joins the parentheses: `trip.tar (1.2 GiB)`. Names are sanitised.
 */
export function describeFileList(files: readonly { readonly path: string }[], size?: string): string {
  const names = topNames(files);
  const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')}, …` : names.join(', ');
  const single = files.length === 1 && !files[0]!.path.includes('/');
  const details = [...(single ? [] : [`${files.length} ${files.length === 1 ? 'file' : 'files'}`]), ...(size ? [size] : [])];
  return details.length > 0 ? `${shown} (${details.join(', ')})` : shown;
}

/** The distinct top-level names of a file list, in order; a directory's ends in `/`. */
export function topNames(files: readonly { readonly path: string }[]): string[] {
  const tops = new Map<string, boolean>();
  for (const { path } of files) {
    const slash = path.indexOf('/');
    const top = slash < 0 ? path : path.slice(0, slash);
    tops.set(top, tops.get(top) === true || slash >= 0);
  }
  return [...tops].map(([name, isDir]) => sanitizeText(name) + (isDir ? '/' : ''));
}

/** Codes a peer's file-cancel may carry through to our side; any other reads as a cancel. */
const PEER_CODES = new Set<ErrorCode>([
  'ERR_FILE_WRITE',
  'ERR_FILE_CORRUPT',
  'ERR_FILE_CHANGED',
  'ERR_FILE_UNSAFE_NAME',
  'ERR_FILE_UNREADABLE',
  'ERR_FILE_DECLINED',
]);

/** A protocol violation by the peer ends the transfer (not the chat). */
export function transferProtocolError(why: string): P2PChatError {
  return chatError('ERR_BAD_MESSAGE', `file transfer: ${why}`);
}

/** A reason the peer gave, cleaned and cut for a one-line message (with `prefix`), or '' if none. */
export function peerReason(reason: string, prefix: string): string {
  const clean = sanitizeText(reason).slice(0, 200);
  return clean ? `${prefix}${clean}` : '';
}
