// Transfers as the user interface sees them: their events (AppEvent `file-*`: who, which
// transfer, what files, and for progress the speed and time left measured here, from the bytes
// that crossed the connection), and a summary of one as plain data for /transfers and the file
// commands.

import type { Clock } from '../../clock.js';
import type { AppEvent, FileEntryEvent, FileRef, TransferSummary } from '../app-events.js';
import { IncomingTransfer } from './incoming-transfer.js';
import { etaSeconds, RateMeter } from './rate-meter.js';
import type { Transfer } from './transfer.js';
import type { TransferEvent } from './transfers.js';

export class FileEventReporter {
  readonly #clock: Clock;
  readonly #meters = new WeakMap<Transfer, RateMeter>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  toAppEvent(event: TransferEvent): AppEvent {
    if (event.type === 'refused') {
      const ref: FileRef = { id: event.id, direction: 'receive', peer: event.peer.name, fingerprint: event.peer.fingerprint };
      return { type: 'file-error', ...ref, code: event.error.code, message: event.error.message, resumable: false };
    }
    const transfer = event.transfer;
    const ref = refOf(transfer);
    switch (event.type) {
      case 'offer':
        return { type: 'file-offer', ...ref, files: entries(transfer), total: transfer.total, autoAccept: event.autoAccept };
      case 'accepted': {
        this.#meters.set(transfer, new RateMeter(this.#clock.now(), 0)); // nothing is carried before the accept
        const dir = transfer instanceof IncomingTransfer ? transfer.downloadDir : undefined;
        return { type: 'file-accepted', ...ref, ...(dir ? { dir } : {}) };
      }
      case 'progress': {
        // The speed counts carried bytes only: a resume's skipped prefix moves `bytes` at once,
        // and would otherwise read as a burst far faster than the link.
        const rate = this.#meter(transfer).update(this.#clock.now(), event.carried);
        const eta = etaSeconds(event.total - event.bytes, rate);
        return { type: 'file-progress', ...ref, bytes: event.bytes, total: event.total, bytesPerSecond: Math.round(rate), ...(eta !== undefined ? { etaSeconds: eta } : {}) };
      }
      case 'mismatch':
        return { type: 'warning', code: 'ERR_FILE_CORRUPT', message: `${event.path} did not match its SHA-256; ${transfer.direction === 'send' ? 'sending' : 'receiving'} it again` };
      case 'done': {
        const seconds = (this.#clock.now() - this.#meter(transfer).startedAt) / 1000;
        const dir = transfer instanceof IncomingTransfer ? transfer.downloadDir : undefined;
        const done = { files: entries(transfer), total: transfer.total, resumed: transfer.resumed, ...(dir ? { dir } : {}) };
        return { type: 'file-done', ...ref, ...done, sha256Verified: true, seconds: Math.round(seconds * 10) / 10 };
      }
      case 'failed':
        // A peer that broke the protocol is not one to offer the rest to again.
        return { type: 'file-error', ...ref, code: event.error.code, message: event.error.message, resumable: transfer.bytes > 0 && event.error.code !== 'ERR_BAD_MESSAGE' };
    }
  }

  #meter(transfer: Transfer): RateMeter {
    let meter = this.#meters.get(transfer);
    if (!meter) this.#meters.set(transfer, (meter = new RateMeter(this.#clock.now(), transfer.carried)));
    return meter;
  }
}

/** What a transfer is now, as plain data for a front end. */
export function summaryOfTransfer(transfer: Transfer): TransferSummary {
  return { ...refOf(transfer), files: entries(transfer), total: transfer.total, bytes: transfer.bytes, state: transfer.state };
}

function refOf(transfer: Transfer): FileRef {
  return { id: transfer.id, direction: transfer.direction, peer: transfer.link.peer.name, fingerprint: transfer.link.peer.fingerprint };
}

function entries(transfer: Transfer): FileEntryEvent[] {
  return transfer.files.map((f, i) => {
    const savedAs = transfer instanceof IncomingTransfer ? transfer.savedAs(i) : undefined;
    return { path: f.path, size: f.size, ...(savedAs !== undefined && savedAs !== f.path ? { savedAs } : {}) };
  });
}

