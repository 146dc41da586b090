// The speed and time left a transfer reports come from the bytes that crossed the connection: a
// resume that starts 8 MiB into a file must not read as 8 MiB carried in the first second.
// Everything runs on a manual clock, so the rates are exact.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileEventReporter } from '../../../../src/app/files/file-events.js';
import { Transfer, type TransferDirection } from '../../../../src/app/files/transfer.js';
import type { TransferEvent } from '../../../../src/app/files/transfers.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { recordingLink } from '../../../helpers/recording-link.js';

const MiB = 1024 * 1024;

/** A one-file transfer whose resume point and carried bytes the test sets. */
class DrivenTransfer extends Transfer {
  readonly direction: TransferDirection = 'send';

  constructor(clock: ManualClock, size: number) {
    super(recordingLink(), 'abc123', [{ path: 'big.bin', size }], { clock, progressIntervalMs: 0 });
  }

  protected onMessage(): void {}
  protected release(): void {}

  accept(): void {
    this.setState('active');
  }

  /** The file starts at `offset` (what the receiver already had). */
  resumeAt(offset: number): void {
    this.noteStart(0, offset);
  }

  /** `carried` bytes have crossed the connection since the start. */
  carry(carried: number): void {
    this.setBytes(this.resumed + carried, carried);
  }

  finish(): void {
    this.complete();
  }
}

/** The reporter's events for a transfer, its progress as Transfers passes it on. */
function reported(clock: ManualClock, transfer: Transfer) {
  const reporter = new FileEventReporter(clock);
  const events: ReturnType<FileEventReporter['toAppEvent']>[] = [];
  const report = (event: TransferEvent) => events.push(reporter.toAppEvent(event));
  transfer.on('accepted', () => report({ type: 'accepted', transfer }));
  transfer.on('progress', (p) => report({ type: 'progress', transfer, bytes: p.bytes, total: p.total, carried: transfer.carried }));
  transfer.on('done', () => report({ type: 'done', transfer }));
  return events;
}

describe('FileEventReporter: speed after a resume', () => {
  it('counts only the bytes carried, not the prefix the resume skipped', () => {
    const clock = new ManualClock(0);
    const transfer = new DrivenTransfer(clock, 10 * MiB);
    const events = reported(clock, transfer);
    transfer.accept();
    transfer.resumeAt(8 * MiB);
    clock.advance(1_000);
    transfer.carry(1 * MiB);

    const progress = events.find((e) => e.type === 'file-progress');
    assert.ok(progress?.type === 'file-progress');
    assert.equal(progress.bytes, 9 * MiB, 'progress shows what the receiver holds, resumed bytes included');
    assert.equal(progress.bytesPerSecond, 1 * MiB, '1 MiB carried in 1 s is 1 MiB/s, not 9');
    assert.equal(progress.etaSeconds, 1, 'the last MiB at 1 MiB/s');

    clock.advance(1_000);
    transfer.carry(2 * MiB);
    transfer.finish();
    const done = events.find((e) => e.type === 'file-done');
    assert.ok(done?.type === 'file-done');
    assert.equal(done.resumed, 8 * MiB);
    assert.equal(done.seconds, 2);
    const last = events.filter((e) => e.type === 'file-progress').at(-1);
    assert.ok(last?.type === 'file-progress');
    assert.equal(last.bytesPerSecond * done.seconds, 2 * MiB, 'rate × time is the bytes carried');
  });

  it('a transfer sent whole reports every byte it carried', () => {
    const clock = new ManualClock(0);
    const transfer = new DrivenTransfer(clock, 4 * MiB);
    const events = reported(clock, transfer);
    transfer.accept();
    transfer.resumeAt(0);
    clock.advance(2_000);
    transfer.carry(3 * MiB);
    const progress = events.find((e) => e.type === 'file-progress');
    assert.ok(progress?.type === 'file-progress');
    assert.equal(progress.bytesPerSecond, 1.5 * MiB);
  });
});
