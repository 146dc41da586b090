// The splice's timers on a manual clock, over in-memory streams: the idle timeout cuts a session
// at exactly idleTimeoutMs without bytes either way (never while they flow), a throttled
// direction resumes only once the clock has passed its wait, and a side left open after the
// other closed is cut at closeGraceMs. No test sleeps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GarbagePacer } from '../../../src/garbage-pacer.js';
import { Splice, type SpliceEnd, type SpliceOptions } from '../../../src/relay/splice.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';

/** Let queued microtasks and immediates run: the streams deliver on microtasks, the splice writes on setImmediate. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Peer {
  readonly stream: MemoryStream;
  /** Everything that reached this peer through the splice. */
  readonly heard: () => number;
}

function peer(stream: MemoryStream): Peer {
  let heard = 0;
  stream.on('data', (chunk) => (heard += chunk.length));
  stream.resume();
  return { stream, heard: () => heard };
}

/** Alice and Bob joined through a splice on `clock`; `end` is set once the splice has closed. */
function spliced(clock: ManualClock, options: Partial<SpliceOptions> = {}) {
  const [alice, relayA] = memoryStreamPair();
  const [bob, relayB] = memoryStreamPair();
  const splice = new Splice(relayA, relayB, { rateBytesPerSec: 0, byteCap: 0, closeGraceMs: 2_000, clock, ...options });
  const result = { alice: peer(alice), bob: peer(bob), relayA, relayB, splice, end: undefined as SpliceEnd | undefined };
  splice.once('closed', (end) => (result.end = end));
  splice.start();
  return result;
}

/** Read through a call, so TypeScript does not keep an earlier assertion's narrowing. */
function endOf(s: { end: SpliceEnd | undefined }): SpliceEnd | undefined {
  return s.end;
}

describe('Splice over streams that lend their chunks', () => {
  it('forwards what it gathered across several reads, not what later filled their buffers', async () => {
    const [alice, relayA] = memoryStreamPair();
    const [bob, relayB] = memoryStreamPair();
    new Splice(relayA, relayB, { rateBytesPerSec: 0, byteCap: 0, closeGraceMs: 2_000, clock: new ManualClock() }).start();
    const got: Buffer[] = [];
    bob.on('data', (chunk) => got.push(Buffer.from(chunk)));
    bob.resume();
    // Three reads in one turn: the splice gathers them and writes once at the end of the turn,
    // after MemoryStream has scrubbed each chunk as a reused read buffer would have been.
    const sent = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3000, 3)];
    for (const chunk of sent) alice.write(chunk);
    await settle();
    assert.ok(Buffer.concat(got).equals(Buffer.concat(sent)), 'bob hears exactly what alice sent');
  });
});

describe('Splice and the garbage pacer', () => {
  it('tells the pacer of every byte it forwards, both ways', async () => {
    const told: number[] = [];
    const garbage = new (class extends GarbagePacer {
      override add(bytes: number): void {
        told.push(bytes);
        super.add(bytes);
      }
    })(4096, () => undefined);
    const s = spliced(new ManualClock(), { garbage });
    s.alice.stream.write(Buffer.alloc(5000, 1));
    s.bob.stream.write(Buffer.alloc(3000, 2));
    s.alice.stream.write(Buffer.alloc(300, 3));
    await settle();
    assert.equal(s.bob.heard(), 5300);
    assert.equal(s.alice.heard(), 3000);
    assert.deepEqual(told.sort((a, b) => a - b), [300, 3000, 5000]);
    assert.equal(garbage.collections, 1, 'one pace of 4,096 bytes reached before the rest');
  });
});

describe('Splice timers on a manual clock', () => {
  it('cuts both sides after exactly idleTimeoutMs without a byte, and not while bytes flow', async () => {
    const clock = new ManualClock();
    const s = spliced(clock, { idleTimeoutMs: 30_000 });
    // A byte every 20 s, one way and then the other, for far longer than the timeout.
    for (let i = 0; i < 10; i++) {
      clock.advance(20_000);
      (i % 2 === 0 ? s.alice : s.bob).stream.write(Buffer.from('ping'));
      await settle();
    }
    assert.equal(endOf(s), undefined, 'alive after 200 s of traffic');
    assert.deepEqual([s.alice.heard(), s.bob.heard()], [20, 20]);

    clock.advance(30_000 - 1);
    await settle();
    assert.equal(endOf(s), undefined, 'a millisecond short of the timeout');
    clock.advance(1);
    await settle();
    assert.deepEqual(endOf(s), { bytes: 40, reason: 'idle for 30 s' });
    assert.equal(s.alice.stream.destroyed && s.bob.stream.destroyed, true, 'both peers are cut');
    assert.equal(clock.pending, 0);
  });

  it('resumes a throttled direction only once the clock has passed its wait, the other flowing meanwhile', async () => {
    const clock = new ManualClock();
    const s = spliced(clock, { rateBytesPerSec: 1_000 });
    // Bytes pass first and are paid for after: 1 500 at once put the direction 500 in debt,
    // which at 1 000 bytes/s takes 500 ms to pay.
    s.alice.stream.write(Buffer.alloc(1_500));
    await settle();
    assert.equal(s.bob.heard(), 1_500);
    s.alice.stream.write(Buffer.alloc(100));
    s.bob.stream.write(Buffer.alloc(100));
    await settle();
    assert.equal(s.bob.heard(), 1_500, 'alice is held');
    assert.equal(s.alice.heard(), 100, 'bob, within his own rate, is not');

    clock.advance(499);
    await settle();
    assert.equal(s.bob.heard(), 1_500, 'still held a millisecond before the debt is paid');
    clock.advance(1);
    await settle();
    assert.equal(s.bob.heard(), 1_600);
  });

  it('cuts a side still open closeGraceMs after the other closed', async () => {
    const clock = new ManualClock();
    const s = spliced(clock, { closeGraceMs: 2_000 });
    let bobEnded = false;
    s.bob.stream.once('end', () => (bobEnded = true));
    s.alice.stream.destroy();
    await settle();
    assert.equal(bobEnded, true, 'bob is told alice has gone');
    // Bob never closes his side.
    clock.advance(2_000 - 1);
    await settle();
    assert.equal(endOf(s), undefined);
    assert.equal(s.relayB.destroyed, false);
    clock.advance(1);
    await settle();
    assert.equal(s.relayB.destroyed, true);
    assert.deepEqual(endOf(s), { bytes: 0, reason: 'ended' });
  });
});
