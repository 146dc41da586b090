// The file-data send window, driven with explicit clock readings: its initial size, growth by the
// acknowledged bytes while acks come back near the base delay, a ×0.7 decrease (at most once per
// window of data, never below the minimum) when they queue up, the maximum, impossible acks, and
// a measured base delay given as an option.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SEND_WINDOW_DEFAULTS, SendWindow } from '../../../src/session/send-window.js';

const SMALL = { initialBytes: 1000, minBytes: 500, maxBytes: 100_000, targetDelayMs: 100 } as const;

describe('SendWindow: initial state', () => {
  it('uses the defaults when given no options', () => {
    assert.deepEqual({ ...SEND_WINDOW_DEFAULTS }, {
      initialBytes: 256 * 1024,
      minBytes: 128 * 1024,
      maxBytes: 16 * 1024 * 1024,
      targetDelayMs: 100,
    });
    assert.ok(Object.isFrozen(SEND_WINDOW_DEFAULTS));
    const w = new SendWindow();
    assert.equal(w.windowBytes, 256 * 1024);
    assert.equal(w.available, 256 * 1024);
    assert.equal(w.inFlight, 0);
  });

  it('starts at initialBytes with all of it available', () => {
    const w = new SendWindow(SMALL);
    assert.equal(w.windowBytes, 1000);
    assert.equal(w.available, 1000);
    assert.equal(w.inFlight, 0);
  });

  it('merges partial options over the defaults', () => {
    const w = new SendWindow({ initialBytes: 4096 });
    assert.equal(w.windowBytes, 4096);
  });

  it('counts sent bytes in flight and never reports a negative availability', () => {
    const w = new SendWindow(SMALL);
    w.sent(400, 0);
    assert.equal(w.inFlight, 400);
    assert.equal(w.available, 600);
    w.sent(600, 0);
    assert.equal(w.available, 0);
    w.sent(300, 0); // a caller may overshoot by one chunk
    assert.equal(w.inFlight, 1300);
    assert.equal(w.available, 0);
    assert.equal(w.windowBytes, 1000, 'sending alone does not change the window');
  });
});

describe('SendWindow: growth', () => {
  it('grows by the acknowledged bytes while the delay stays near the base delay', () => {
    const w = new SendWindow(SMALL);
    w.sent(500, 0);
    assert.equal(w.acked(500, 20), true); // first sample: base delay 20 ms
    assert.equal(w.windowBytes, 1500);
    assert.equal(w.inFlight, 0);
    assert.equal(w.available, 1500);

    w.sent(700, 100);
    assert.equal(w.acked(1200, 150), true); // 50 ms: within base + target
    assert.equal(w.windowBytes, 2200);

    w.sent(300, 200);
    assert.equal(w.acked(1500, 320), true); // 120 ms = base + target exactly: still growth
    assert.equal(w.windowBytes, 2500);
  });

  it('grows only by the bytes newly acknowledged, once a whole send is covered', () => {
    const w = new SendWindow(SMALL);
    w.sent(1000, 0);
    assert.equal(w.acked(400, 10), true); // the send is not fully acknowledged yet: no delay sample
    assert.equal(w.windowBytes, 1000);
    assert.equal(w.inFlight, 600);
    assert.equal(w.available, 400);
    assert.equal(w.acked(1000, 20), true);
    assert.equal(w.windowBytes, 1600, 'grew by the 600 bytes of this ack');
    assert.equal(w.inFlight, 0);
  });

  it('measures the delay from the latest send an ack covers', () => {
    // Base 0, target 20: an ack at 60 covering sends at 0 and 50 is 10 ms late (growth), not 60.
    const w = new SendWindow({ ...SMALL, baseDelayMs: 0, targetDelayMs: 20 });
    w.sent(100, 0);
    w.sent(100, 50);
    assert.equal(w.acked(200, 60), true);
    assert.equal(w.windowBytes, 1200);
  });

  it('never grows above maxBytes', () => {
    const w = new SendWindow({ ...SMALL, maxBytes: 2000 });
    w.sent(1000, 0);
    w.acked(1000, 10);
    assert.equal(w.windowBytes, 2000);
    w.sent(2000, 20);
    w.acked(3000, 30);
    assert.equal(w.windowBytes, 2000);
    for (let i = 0; i < 100; i++) {
      w.sent(2000, 40 + i * 10);
      w.acked(5000 + i * 2000, 45 + i * 10);
      assert.ok(w.windowBytes <= 2000);
    }
    assert.equal(w.windowBytes, 2000);
  });

  it('keeps its bookkeeping right over many small sends (sample list compaction)', () => {
    const w = new SendWindow({ ...SMALL, maxBytes: 1_000_000 });
    let total = 0;
    for (let i = 0; i < 5000; i++) {
      w.sent(10, i);
      total += 10;
      if (i % 3 === 2) assert.equal(w.acked(total, i), true);
    }
    assert.equal(w.acked(total, 5000), true);
    assert.equal(w.inFlight, 0);
    assert.equal(w.windowBytes, 1000 + total, 'every acknowledged byte grew the window (all delays were small)');
  });
});

describe('SendWindow: decrease', () => {
  /** A window with a base delay of 20 ms established, at 1500 bytes, all acknowledged. */
  function settled(): SendWindow {
    const w = new SendWindow(SMALL);
    w.sent(500, 0);
    w.acked(500, 20);
    assert.equal(w.windowBytes, 1500);
    return w;
  }

  it('shrinks ×0.7 when the delay exceeds base + target', () => {
    const w = settled();
    w.sent(500, 100);
    assert.equal(w.acked(1000, 221), true); // 121 ms > 20 + 100
    assert.equal(w.windowBytes, 1050);
    assert.equal(w.inFlight, 0);
  });

  it('shrinks at most once per window of data', () => {
    const w = settled();
    w.sent(500, 100); // ends at 1000
    w.sent(500, 100); // ends at 1500
    w.sent(500, 100); // ends at 2000
    w.acked(1000, 400); // 300 ms: congestion
    assert.equal(w.windowBytes, 1050);
    // Data sent before the decrease is acknowledged late too: no second decrease for it.
    w.acked(1500, 500);
    assert.equal(w.windowBytes, 1050);
    w.acked(2000, 600);
    assert.equal(w.windowBytes, 1050);
    // Data sent after the decrease that is still late: a second decrease.
    w.sent(500, 700);
    w.acked(2500, 1000);
    assert.equal(w.windowBytes, 735);
  });

  it('never shrinks below minBytes', () => {
    const w = settled();
    let sent = 500;
    let now = 100;
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      w.sent(100, now);
      sent += 100;
      w.acked(sent, now + 1000);
      now += 2000;
      seen.push(w.windowBytes);
    }
    assert.deepEqual(seen.slice(0, 3), [1050, 735, 514]);
    assert.ok(seen.slice(3).every((b) => b === 500), seen.join(', '));
  });

  it('grows again once the delay falls back', () => {
    const w = settled();
    w.sent(500, 100);
    w.acked(1000, 400);
    assert.equal(w.windowBytes, 1050);
    w.sent(400, 500);
    w.acked(1400, 530); // 30 ms
    assert.equal(w.windowBytes, 1450);
  });
});

describe('SendWindow: impossible acknowledgements', () => {
  it('refuses an ack beyond the bytes sent, changing nothing', () => {
    const w = new SendWindow(SMALL);
    assert.equal(w.acked(1, 0), false, 'nothing sent yet');
    w.sent(300, 0);
    assert.equal(w.acked(301, 10), false);
    assert.equal(w.inFlight, 300);
    assert.equal(w.windowBytes, 1000);
    assert.equal(w.acked(300, 10), true);
    assert.equal(w.inFlight, 0);
  });

  it('refuses an ack going backwards, and takes a repeated ack as a no-op', () => {
    const w = new SendWindow(SMALL);
    w.sent(300, 0);
    w.sent(300, 5);
    assert.equal(w.acked(400, 10), true);
    const window = w.windowBytes;
    assert.equal(w.acked(399, 11), false);
    assert.equal(w.inFlight, 200);
    assert.equal(w.acked(400, 12), true);
    assert.equal(w.inFlight, 200);
    assert.equal(w.windowBytes, window);
    assert.equal(w.acked(0, 13), false);
  });

  it('accepts an ack of zero before anything was sent', () => {
    const w = new SendWindow(SMALL);
    assert.equal(w.acked(0, 0), true);
    assert.equal(w.windowBytes, 1000);
  });
});

describe('SendWindow: baseDelayMs', () => {
  it('judges the first ack against a measured base delay instead of taking it as the base', () => {
    // Without a base, the first ack's 200 ms becomes the base: growth.
    const unmeasured = new SendWindow(SMALL);
    unmeasured.sent(500, 0);
    unmeasured.acked(500, 200);
    assert.equal(unmeasured.windowBytes, 1500);

    // With a measured 10 ms base, 200 ms is 190 ms of queueing (> 100): decrease.
    const measured = new SendWindow({ ...SMALL, baseDelayMs: 10 });
    measured.sent(500, 0);
    measured.acked(500, 200);
    assert.equal(measured.windowBytes, 700);
  });

  it('grows within base + target of the given base', () => {
    const w = new SendWindow({ ...SMALL, baseDelayMs: 50 });
    w.sent(500, 0);
    w.acked(500, 150); // exactly 50 + 100
    assert.equal(w.windowBytes, 1500);
  });

  it('lowers the base when an ack comes back faster than the given base', () => {
    const w = new SendWindow({ ...SMALL, baseDelayMs: 500 });
    w.sent(100, 0);
    w.acked(100, 5); // base is now 5 ms
    assert.equal(w.windowBytes, 1100);
    w.sent(100, 10);
    w.acked(200, 210); // 200 ms: congestion against a 5 ms base, though under the 500 ms given
    assert.equal(w.windowBytes, 770);
  });
});
