// Progress reporting is throttled once, in Transfer, at the rate the front end asked for: a front
// end shows every progress event it gets, so none may come sooner than the interval, the last
// bytes of a transfer included.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Transfer, type TransferDirection, type TransferProgress } from '../../../../src/app/files/transfer.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { recordingLink } from '../../../helpers/recording-link.js';

const LINK = recordingLink();

/** A Transfer whose bytes and end the test drives, on a manual clock it moves to given times. */
class DrivenTransfer extends Transfer {
  readonly direction: TransferDirection = 'send';
  readonly #clock: ManualClock;

  constructor(progressIntervalMs: number, clock = new ManualClock(0)) {
    super(LINK, 'abc123', [{ path: 'a.bin', size: 1000 }], { clock, progressIntervalMs });
    this.#clock = clock;
  }

  set clock(at: number) {
    this.#clock.advance(at - this.#clock.now());
  }

  protected onMessage(): void {}
  protected release(): void {}

  report(bytes: number): void {
    this.setBytes(bytes);
  }

  finish(): void {
    this.complete();
  }
}

function progressOf(transfer: Transfer): TransferProgress[] {
  const seen: TransferProgress[] = [];
  transfer.on('progress', (p) => seen.push(p));
  return seen;
}

/** Half the bytes reported at 0 ms, then the transfer completes at `clock`. */
function completedAt(clock: number): { transfer: DrivenTransfer; seen: TransferProgress[] } {
  const transfer = new DrivenTransfer(1_000);
  const seen = progressOf(transfer);
  transfer.report(500);
  transfer.clock = clock;
  transfer.finish();
  return { transfer, seen };
}

describe('Transfer progress', () => {
  it('reports the first bytes at once, then at most once per interval', () => {
    const transfer = new DrivenTransfer(1_000);
    const seen = progressOf(transfer);
    for (const [at, bytes] of [[0, 10], [400, 20], [999, 30], [1_000, 40], [1_500, 50], [2_100, 60]] as const) {
      transfer.clock = at;
      transfer.report(bytes);
    }
    assert.deepEqual(seen.map((p) => p.bytes), [10, 40, 60]);
    assert.equal(transfer.bytes, 60, 'bytes are counted even when not reported');
  });

  it('does not report the last bytes sooner than the interval when it completes', () => {
    const { transfer, seen } = completedAt(300);
    assert.deepEqual(seen.map((p) => p.bytes), [500]);
    assert.equal(transfer.bytes, 1000);
    assert.equal(transfer.state, 'done');
  });

  it('reports the last bytes at completion once the interval has passed', () => {
    const { seen } = completedAt(1_000);
    assert.deepEqual(seen, [{ bytes: 500, total: 1000 }, { bytes: 1000, total: 1000 }]);
  });
});
