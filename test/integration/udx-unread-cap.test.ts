// What a paused udx stream holds for its reader, over real udx streams on 127.0.0.1: udx-native's
// receive window does not close while we are not reading, so the stream counts what waits and cuts
// off a peer that sends past UDX_MAX_BUFFERED_BYTES, while an honest peer (within our application
// windows, paused and resumed as a file receiver does) passes whole and in order.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { INCOMING_DEFAULTS } from '../../src/app/files/incoming-transfer.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { DEFAULTS } from '../../src/defaults.js';
import type { ByteStream } from '../../src/net/byte-stream.js';
import { UDX_MAX_BUFFERED_BYTES, UdxStream } from '../../src/net/udx-stream.js';
import { udxTransport } from '../../src/net/udx-transport.js';
import { TAG_LENGTH } from '../../src/secure/noise/crypto-primitives.js';
import { SEND_WINDOW_DEFAULTS } from '../../src/session/send-window.js';
import { FRAME_HEADER_SIZE } from '../../src/wire/frame-encoder.js';
import { until } from '../helpers/relay-testnet.js';
import { closeUdx, readToEnd, udxListen, udxPair } from '../helpers/udx-loopback.js';

afterEach(closeUdx);

const udx = udxTransport(SYSTEM_CLOCK);
const MiB = 1024 * 1024;
const CAP = UDX_MAX_BUFFERED_BYTES;
/** The most udx hands over in one data event (a datagram's payload), with room to spare. */
const READ_CHUNK = 64 * 1024;

function unreadOf(stream: ByteStream): UdxStream {
  assert.ok(stream instanceof UdxStream);
  return stream;
}

/** `size` bytes no stretch of which repeats at a chunk boundary, so reordering would show. */
function pattern(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed + (i >> 16)) % 251;
  return bytes;
}

/** Write `data` in 64 KiB chunks, waiting for drain whenever the stream asks. */
async function writeAll(stream: ByteStream, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    stream.write(data.subarray(offset, offset + 64 * 1024));
    if (stream.needsDrain) await once(stream, 'drain');
  }
}

describe('udx unread cap', { timeout: 60_000 }, () => {
  it('is twice what an honest peer can have unacknowledged under our application windows', () => {
    // One file transfer's window with the slack the receiver allows, and the chat a host passes
    // on before it cuts a peer that fell behind (4 x the delivery limits), with each message's framing.
    const file = INCOMING_DEFAULTS.maxBufferedBytes;
    assert.ok(file >= SEND_WINDOW_DEFAULTS.maxBytes);
    const chat = 4 * (DEFAULTS.maxUnackedBytes + DEFAULTS.maxUnackedMessages * (FRAME_HEADER_SIZE + TAG_LENGTH));
    assert.ok(CAP >= 2 * (file + chat), `${CAP} bytes is less than twice the ${file + chat} an honest peer may send unasked-for`);
    assert.ok(CAP <= 128 * MiB, `${CAP} bytes is more than a peer should be able to park in our memory`);
  });

  it('cuts off a peer that floods a paused reader, holding no more than the cap meanwhile', async (t) => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const reader = unreadOf(accepted);
    const closed = once(accepted, 'close');
    const writerClosed = once(dialled, 'close');
    const baseline = process.memoryUsage().arrayBuffers;
    let peakUnread = 0;
    let peakMemory = 0;
    let sampling = true;
    const sample = () => {
      peakUnread = Math.max(peakUnread, reader.unreadBytes);
      peakMemory = Math.max(peakMemory, process.memoryUsage().arrayBuffers - baseline);
      if (sampling) setImmediate(sample);
    };
    sample();
    let deadline: NodeJS.Timeout | undefined;
    let written = 0;
    let error;
    try {
      // One buffer written again and again: the writer holds no copies of what it sent.
      const flood = Buffer.alloc(64 * 1024, 0x5a);
      while (!dialled.destroyed && written < 2 * CAP) {
        dialled.write(flood);
        written += flood.length;
        if (dialled.needsDrain) await Promise.race([once(dialled, 'drain'), writerClosed]);
      }
      const late = new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`not cut off after ${written} bytes sent`)), 2_000);
      });
      [error] = await Promise.race([closed, late]);
    } finally {
      clearTimeout(deadline);
      sampling = false;
    }
    t.diagnostic(`cut off after ${written} bytes sent; held at most ${peakUnread} unread, array buffers grew by at most ${peakMemory}`);
    assert.equal(error?.code, 'ERR_CONNECTION_LOST');
    const match = /^connection to 127\.0\.0\.1:\d+ dropped: the peer sent (\d+) bytes while we were not reading, more than we asked for$/.exec(error.message);
    assert.ok(match, error.message);
    const count = Number(match[1]);
    assert.ok(count > CAP && count <= CAP + READ_CHUNK, `tripped at ${count}, just past ${CAP}`);
    assert.ok(peakUnread <= CAP, `held ${peakUnread} unread`);
    // udx reads into 66 KiB slabs it leaves up to 2 KiB of unused; the rest is the test's own.
    assert.ok(peakMemory <= CAP + CAP / 16 + 4 * MiB, `array buffers grew by ${peakMemory} for a cap of ${CAP}`);
    assert.equal(reader.unreadBytes, 0, 'what was held is let go');
    assert.equal(accepted.destroyed, true);
    const [writerError] = await writerClosed;
    assert.equal(writerError?.code, 'ERR_CONNECTION_LOST', 'the flooder is reset');
  });

  it('holds an honest 8 MiB for a paused reader, then hands it over in order, then the end', async () => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const reader = unreadOf(accepted);
    const data = pattern(8 * MiB, 3);
    await writeAll(dialled, data);
    const finished = once(dialled, 'finish');
    dialled.end();
    await until(() => reader.unreadBytes === data.length, 'all 8 MiB held unread');
    await finished;
    await sleep(50);
    assert.equal(accepted.readEnded, false, 'no end before the bytes that came first are read');
    assert.equal(accepted.destroyed, false);
    const closed = [once(accepted, 'close'), once(dialled, 'close')];
    const atDialler = readToEnd(dialled);
    // Read it a megabyte at a time, stopping in between: what is still held is what is left.
    const chunks: Buffer[] = [];
    let received = 0;
    let nextStop = MiB;
    const held: Array<[left: number, unread: number]> = [];
    accepted.on('data', (chunk) => {
      chunks.push(Buffer.from(chunk)); // lent for the event only (byte-stream.ts)
      received += chunk.length;
      if (received < nextStop) return;
      nextStop += MiB;
      accepted.pause();
      held.push([data.length - received, reader.unreadBytes]);
      setImmediate(() => accepted.resume());
    });
    accepted.resume();
    await once(accepted, 'end');
    assert.ok(Buffer.concat(chunks).equals(data), 'every byte, in order, then the end');
    assert.ok(held.length >= 7, `${held.length} stops`);
    for (const [left, unread] of held) assert.equal(unread, left, 'unread bytes are what is still to come');
    assert.equal(reader.unreadBytes, 0);
    assert.equal((await atDialler).length, 0);
    for (const [error] of await Promise.all(closed)) assert.equal(error, undefined, 'closed, not cut off');
  });

  it('keeps a clean close back until what came before the end is read', async () => {
    // The listener's side stays open after the dialler's end, to send then.
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx, { allowHalfOpen: true }));
    let closed = false;
    dialled.once('close', () => (closed = true));
    dialled.end();
    assert.equal((await readToEnd(accepted)).length, 0);
    const data = pattern(MiB, 4);
    await writeAll(accepted, data);
    accepted.end();
    await once(accepted, 'close');
    await sleep(50);
    assert.equal(closed, false, 'not closed while 1 MiB waits unread');
    assert.equal(dialled.destroyed, false);
    assert.equal(unreadOf(dialled).unreadBytes, data.length);
    const [[error], got] = await Promise.all([once(dialled, 'close'), readToEnd(dialled)]);
    assert.ok(got.equals(data), 'every byte, in order, then the end');
    assert.equal(error, undefined);
    assert.equal(dialled.destroyed, true);
  });

  it('closes a stream whose close was held at destroy, dropping what waited', async () => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx, { allowHalfOpen: true }));
    dialled.end();
    assert.equal((await readToEnd(accepted)).length, 0);
    await writeAll(accepted, pattern(MiB, 5));
    accepted.end();
    await once(accepted, 'close');
    await until(() => unreadOf(dialled).unreadBytes === MiB, 'the megabyte held');
    let closed: unknown = 'not yet';
    dialled.once('close', (error) => (closed = error));
    dialled.destroy();
    assert.equal(closed, 'not yet', 'close comes after destroy() has returned');
    assert.equal(dialled.destroyed, true);
    await until(() => closed !== 'not yet', 'the close');
    assert.equal(closed, undefined);
    assert.equal(unreadOf(dialled).unreadBytes, 0);
  });

  it('passes a file transfer\'s worth of pauses and resumes, more than the cap in all, without tripping', async (t) => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const reader = unreadOf(accepted);
    // The sender keeps at most a full file window unacknowledged; the receiver "acknowledges" what
    // it has read, and stops reading for a moment after every pauseReadingAtBytes, as one waiting
    // for its disk does.
    const window = SEND_WINDOW_DEFAULTS.maxBytes;
    const total = CAP + window;
    const blocks = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) => pattern(64 * 1024, seed));
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    let sinceHold = 0;
    let holds = 0;
    let peakUnread = 0;
    let ackWaiter: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      accepted.on('data', (chunk) => {
        got.update(chunk);
        received += chunk.length;
        sinceHold += chunk.length;
        peakUnread = Math.max(peakUnread, reader.unreadBytes);
        ackWaiter?.();
        if (received === total) resolve();
        else if (sinceHold >= INCOMING_DEFAULTS.pauseReadingAtBytes) {
          sinceHold = 0;
          holds++;
          accepted.pause();
          setTimeout(() => accepted.resume(), 1 + (holds % 3));
        }
      });
    });
    accepted.resume();
    for (let written = 0, k = 0; written < total; k++) {
      while (written - received >= window) await new Promise<void>((resolve) => (ackWaiter = resolve));
      const block = blocks[k % blocks.length]!.subarray(0, Math.min(64 * 1024, total - written));
      sent.update(block);
      dialled.write(block);
      written += block.length;
      if (dialled.needsDrain) await once(dialled, 'drain');
    }
    await done;
    t.diagnostic(`${total} bytes through ${holds} holds, at most ${peakUnread} waiting unread`);
    assert.equal(got.digest('hex'), sent.digest('hex'), 'every byte, in order');
    assert.ok(holds >= 100, `${holds} holds`);
    assert.equal(accepted.destroyed, false);
    assert.equal(reader.unreadBytes, 0);
    assert.ok(peakUnread <= window, `${peakUnread} unread, more than the window`);
  });
});
