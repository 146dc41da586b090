// Every file transfer of a running node, in both directions: routes each peer's file messages to
// the transfer they belong to (collecting offer pages first), applies the auto-accept policy,
// and carries out /send, /accept, /decline and /cancel. Reports one event stream for the UI.
// Transfers outlive a lost connection whose conversation resumes: paused, then moved to the new link.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock.js';
import { chatError, P2PChatError } from '../../errors.js';
import { MAX_OFFER_FILES, TRANSFER_ID_BYTES, type FileMessage, type OfferedFile } from '../../session/file-messages.js';
import type { PeerRef } from '../../session/message-fields.js';
import type { LocalFile } from './file-list.js';
import { INCOMING_DEFAULTS, IncomingTransfer, type IncomingOptions } from './incoming-transfer.js';
import { OutgoingTransfer } from './outgoing-transfer.js';
import type { Transfer, TransferLink } from './transfer.js';

/**
 * `ask`: every offer waits for /accept; `known`: accept from peers seen before, decline others;
 * `any`: accept all; `never`: decline all (no prompt to answer at, and no --accept-files).
 */
export type AcceptPolicy = 'ask' | 'known' | 'any' | 'never';

/** Why an offer was declined unasked, as both sides read it after "declined ...: ". */
const POLICY_DECLINES: Partial<Record<AcceptPolicy, string>> = {
  known: 'only accepting files from known peers',
  never: 'files are accepted only with --accept-files when not at a prompt',
};

export interface TransfersOptions {
  readonly downloadDir: string;
  readonly acceptFiles: AcceptPolicy;
  readonly offerTimeoutMs: number;
  readonly progressIntervalMs: number;
  readonly clock: Clock;
  /** Opens the directory accepted files go to; DownloadDir.open unless a test holds the moves. */
  readonly openDownloadDir?: IncomingOptions['openDownloadDir'];
}

/** A link plus what the node knew of the peer before this connection. */
export interface PeerLink extends TransferLink {
  readonly known: boolean;
}

export type TransferEvent =
  | { readonly type: 'offer'; readonly transfer: Transfer; readonly autoAccept: boolean }
  | { readonly type: 'accepted'; readonly transfer: Transfer }
  /** `carried`: of `bytes`, those that crossed the connection (not a resume's skipped prefix). */
  | { readonly type: 'progress'; readonly transfer: Transfer; readonly bytes: number; readonly total: number; readonly carried: number }
  | { readonly type: 'mismatch'; readonly transfer: Transfer; readonly path: string }
  | { readonly type: 'done'; readonly transfer: Transfer }
  | { readonly type: 'failed'; readonly transfer: Transfer; readonly error: P2PChatError; readonly byPeer: boolean }
  /** An offer whose names we refused: declined before it became a transfer. */
  | { readonly type: 'refused'; readonly peer: PeerRef; readonly id: string; readonly error: P2PChatError };

/** Offers a single peer may leave unanswered at once; more are declined. */
export const MAX_PENDING_OFFERS_PER_PEER = 8;

/** Transfers per link whose final words are kept to be said again after a resume; the oldest go first. */
export const MAX_FINAL_WORDS = 64;

export class Transfers extends EventEmitter<{ event: [TransferEvent] }> {
  readonly #options: TransfersOptions;
  readonly #byLink = new Map<TransferLink, Map<string, Transfer>>();
  readonly #pages = new Map<TransferLink, Map<string, OfferedFile[]>>();
  /**
   * Offers not yet reported, while the names they would be saved under are predicted: their
   * transfers' events wait here, so that nothing is said of an offer before the offer itself.
   */
  readonly #held = new Map<Transfer, TransferEvent[]>();
  /** Settles once every offer held so far has been reported (see #offerPage). */
  #reports: Promise<unknown> = Promise.resolve();
  /**
   * The messages with which we ended recent transfers on each link, by id: the connection may
   * have lost them. After a resume a sender's are said again at once, and a receiver's answer the
   * sender's repeated offer (which they also keep from being taken for a new one).
   */
  readonly #finals = new Map<TransferLink, Map<string, { readonly direction: Transfer['direction']; readonly words: readonly FileMessage[] }>>();

  constructor(options: TransfersOptions) {
    super();
    this.#options = options;
  }

  /** Every transfer not yet finished and already reported, oldest first. */
  list(): Transfer[] {
    return this.#unfinished().filter((t) => !this.#held.has(t));
  }

  #unfinished(): Transfer[] {
    return [...this.#byLink.values()].flatMap((m) => [...m.values()]).filter((t) => !t.finished);
  }

  /** Offer files (listed by listFiles) to a peer. */
  send(link: TransferLink, files: readonly LocalFile[]): OutgoingTransfer {
    const transfer = new OutgoingTransfer(link, randomBytes(TRANSFER_ID_BYTES).toString('hex'), files, {
      clock: this.#options.clock,
      progressIntervalMs: this.#options.progressIntervalMs,
      offerTimeoutMs: this.#options.offerTimeoutMs,
    });
    this.#track(link, transfer);
    this.emit('event', { type: 'offer', transfer, autoAccept: false });
    transfer.start();
    return transfer;
  }

  /** A file message from `link`'s peer. */
  handle(link: PeerLink, message: FileMessage): void {
    const transfer = this.#byLink.get(link)?.get(message.id);
    if (message.type === 'file-offer' && !(transfer instanceof OutgoingTransfer)) {
      const final = this.#finals.get(link)?.get(message.id);
      if (final) {
        if (!message.more) for (const words of final.words) link.send(words);
        return;
      }
      this.#offerPage(link, message.id, message.files, message.more, transfer as IncomingTransfer | undefined);
      return;
    }
    // Anything else for an unknown id is a late message for a finished transfer: ignored.
    transfer?.handle(message);
  }

  /** The link closed, or its conversation is over: every transfer on it ends. */
  linkClosed(link: TransferLink, why?: string): void {
    this.#pages.delete(link);
    this.#finals.delete(link);
    for (const transfer of this.#byLink.get(link)?.values() ?? []) transfer.linkClosed(why);
    this.#byLink.delete(link);
  }

  /** The link was lost but its conversation may resume: its transfers pause, none fails. */
  linkSuspended(link: TransferLink): void {
    this.#pages.delete(link);
    for (const transfer of this.#byLink.get(link)?.values() ?? []) transfer.pause();
  }

  /**
   * The conversation of `from` resumed over `to`: its transfers go on there (each sender offers
   * its transfer again, and each receiver answers with where it stands), and the final words of
   * transfers we sent and ended are said again.
   */
  linkResumed(from: TransferLink, to: TransferLink): void {
    this.#pages.delete(from);
    const finals = this.#finals.get(from);
    this.#finals.delete(from);
    if (finals) {
      this.#finals.set(to, finals);
      for (const final of finals.values()) if (final.direction === 'send') for (const words of final.words) to.send(words);
    }
    const transfers = this.#byLink.get(from);
    if (!transfers) return;
    this.#byLink.delete(from);
    this.#byLink.set(to, new Map([...(this.#byLink.get(to) ?? []), ...transfers]));
    for (const transfer of transfers.values()) transfer.continueOn(to);
  }

  accept(selector?: string, downloadDir = this.#options.downloadDir): IncomingTransfer {
    const transfer = this.#pick(selector, (t) => t instanceof IncomingTransfer && t.state === 'offered', 'pending file offer');
    void (transfer as IncomingTransfer).accept(downloadDir);
    return transfer as IncomingTransfer;
  }

  decline(selector?: string): IncomingTransfer {
    const transfer = this.#pick(selector, (t) => t instanceof IncomingTransfer && t.state === 'offered', 'pending file offer');
    (transfer as IncomingTransfer).decline();
    return transfer as IncomingTransfer;
  }

  cancel(selector?: string): Transfer {
    const transfer = this.#pick(selector, () => true, 'file transfer');
    transfer.cancel();
    return transfer;
  }

  /** End every transfer (the node is quitting). */
  cancelAll(reason: string): void {
    for (const transfer of this.#unfinished()) transfer.cancel(reason);
  }

  /** `again`: the transfer this offer repeats (after a resume), which it must list the same files as. */
  #offerPage(link: PeerLink, id: string, files: readonly OfferedFile[], more: boolean, again?: IncomingTransfer): void {
    let pages = this.#pages.get(link);
    if (!pages) this.#pages.set(link, (pages = new Map()));
    const collected = [...(pages.get(id) ?? []), ...files];
    const tooMany = collected.length > MAX_OFFER_FILES;
    // Pages of at most MAX_PENDING_OFFERS_PER_PEER offers are collected at once, this one included.
    if (more && !tooMany && (pages.has(id) || pages.size < MAX_PENDING_OFFERS_PER_PEER)) {
      pages.set(id, collected);
      return;
    }
    pages.delete(id);
    if (again) return again.offeredAgain(collected);
    const pending = [...(this.#byLink.get(link)?.values() ?? [])].filter((t) => t.state === 'offered').length;
    const refuse = (reason: string) => link.send({ type: 'file-decline', id, reason });
    if (tooMany) return refuse(`offer too large (more than ${MAX_OFFER_FILES} files)`);
    if (more) return refuse('too many offers being sent at once');
    if (collected.length === 0) return refuse('the offer lists no files');
    if (pending >= MAX_PENDING_OFFERS_PER_PEER) return refuse('too many offers waiting for an answer');
    let transfer: IncomingTransfer;
    try {
      transfer = new IncomingTransfer(link, id, collected, {
        ...INCOMING_DEFAULTS,
        ...(this.#options.openDownloadDir ? { openDownloadDir: this.#options.openDownloadDir } : {}),
        clock: this.#options.clock,
        progressIntervalMs: this.#options.progressIntervalMs,
      });
    } catch (err) {
      const error = P2PChatError.from(err, 'ERR_FILE_UNSAFE_NAME');
      refuse(error.message);
      this.emit('event', { type: 'refused', peer: link.peer, id, error });
      return;
    }
    this.#track(link, transfer);
    const policy = this.#options.acceptFiles;
    const autoAccept = policy === 'any' || (policy === 'known' && link.known);
    const declineWhy = autoAccept ? undefined : POLICY_DECLINES[policy];
    // Declined unasked: no offer event, which would invite an /accept that can no longer work.
    if (declineWhy !== undefined) return transfer.decline(declineWhy);
    this.#held.set(transfer, []);
    const predicted = transfer.predictNames(this.#options.downloadDir).catch(() => undefined); // no prediction then
    // Reported in the order the offers came: one whose names were found sooner waits for those
    // before it (a large offer's lookups take longer), so `/transfers` lists them as they arrived.
    const turn = this.#reports.then(() => predicted);
    this.#reports = turn;
    void turn.then(() => {
      const held = this.#held.get(transfer) ?? [];
      this.#held.delete(transfer);
      // Ended while its names were looked up (cancelled, link gone, quitting): an offer shown now
      // would invite an /accept that cannot work. Its end was seen by nobody, so it goes unsaid.
      if (transfer.finished) return;
      this.emit('event', { type: 'offer', transfer, autoAccept });
      for (const event of held) this.emit('event', event);
      if (autoAccept) void transfer.accept(this.#options.downloadDir);
    });
  }

  #track(link: TransferLink, transfer: Transfer): void {
    let transfers = this.#byLink.get(link);
    if (!transfers) this.#byLink.set(link, (transfers = new Map()));
    transfers.set(transfer.id, transfer);
    // By the link it runs over when it ends: a resume may have moved it.
    const ended = () => {
      this.#byLink.get(transfer.link)?.delete(transfer.id);
      this.#keepFinalWords(transfer);
    };
    const emit = (event: TransferEvent) => {
      const held = this.#held.get(transfer);
      if (held) held.push(event);
      else this.emit('event', event);
    };
    transfer.on('accepted', () => emit({ type: 'accepted', transfer }));
    transfer.on('progress', (p) => emit({ type: 'progress', transfer, bytes: p.bytes, total: p.total, carried: transfer.carried }));
    transfer.on('mismatch', (f) => emit({ type: 'mismatch', transfer, path: f.path }));
    transfer.on('done', () => {
      ended();
      emit({ type: 'done', transfer });
    });
    transfer.on('failed', (error, byPeer) => {
      ended();
      emit({ type: 'failed', transfer, error, byPeer });
    });
  }

  #keepFinalWords(transfer: Transfer): void {
    const words = transfer.finalWords;
    // A link already closed (a transfer that ended after it, once its files were placed) has no next connection.
    if (words.length === 0 || !this.#byLink.has(transfer.link)) return;
    let finals = this.#finals.get(transfer.link);
    if (!finals) this.#finals.set(transfer.link, (finals = new Map()));
    finals.set(transfer.id, { direction: transfer.direction, words });
    for (const id of finals.keys()) {
      if (finals.size <= MAX_FINAL_WORDS) break;
      finals.delete(id);
    }
  }

  /** The transfer a command means: by id prefix, or the only candidate. */
  #pick(selector: string | undefined, fits: (t: Transfer) => boolean, what: string): Transfer {
    const candidates = this.list().filter(fits).filter((t) => !selector || t.id.startsWith(selector.toLowerCase()));
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length === 0) {
      throw chatError('ERR_NO_SUCH_TRANSFER', selector ? `no ${what} with id ${selector}` : `no ${what}`);
    }
    const ids = candidates.map((t) => `${t.id.slice(0, 6)} ${t.describe()}`).join('; ');
    throw chatError('ERR_NO_SUCH_TRANSFER', `several of them: ${ids}; name one by its id`);
  }
}
