// The udx transport over real UDP sockets on 127.0.0.1: dial and listen, bytes both ways in order
// (10 MB with backpressure), concurrent streams, half-close and reset, and how dials fail (nobody
// there, a closed listener, a full one) and ports are taken. The rendezvous' loss, duplicates and
// caps are in udx-rendezvous.test.ts.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import type { ByteStream } from '../../src/net/byte-stream.js';
import { liveStreamCount } from '../../src/net/udx-runtime.js';
import { udxTransport } from '../../src/net/udx-transport.js';
import { rejectsCode } from '../helpers/assert-code.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/relay-testnet.js';
import { closeUdpProbes, RendezvousProbe } from '../helpers/udp-probe.js';
import { closeUdx, readBytes, readToEnd, udxDial, udxListen, udxPair } from '../helpers/udx-loopback.js';

afterEach(async () => {
  await closeUdx();
  await closeUdpProbes();
});

const udx = udxTransport(SYSTEM_CLOCK);

/** `size` bytes no stretch of which repeats at a chunk boundary, so reordering would show. */
function pattern(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed + (i >> 16)) % 251;
  return bytes;
}

/** Write `data` in chunks, waiting for drain whenever the stream asks; returns what it saw. */
async function writeAll(stream: ByteStream, data: Buffer, chunk = 64 * 1024): Promise<{ drains: number; maxQueued: number }> {
  let drains = 0;
  let maxQueued = 0;
  for (let offset = 0; offset < data.length; offset += chunk) {
    stream.write(data.subarray(offset, offset + chunk));
    maxQueued = Math.max(maxQueued, stream.queuedBytes);
    if (stream.needsDrain) {
      drains++;
      await once(stream, 'drain');
    }
  }
  return { drains, maxQueued };
}

describe('udx transport', { timeout: 60_000 }, () => {
  it('dials and accepts udp streams that name each other as TCP streams do', async () => {
    const accepting = await udxListen(udx);
    assert.equal(accepting.listener.transport, 'udp');
    assert.equal(accepting.listener.host, '127.0.0.1');
    assert.ok(accepting.port > 0);
    const [dialled, accepted] = await udxPair(udx, accepting);
    assert.equal(dialled.transport, 'udp');
    assert.equal(accepted.transport, 'udp');
    assert.equal(dialled.remoteAddress, `127.0.0.1:${accepting.port}`);
    assert.equal(dialled.remoteHost, '127.0.0.1');
    assert.match(accepted.remoteAddress, /^127\.0\.0\.1:\d+$/);
    assert.equal(accepted.remoteHost, '127.0.0.1');
    for (const stream of [dialled, accepted]) {
      assert.equal(stream.writable, true);
      assert.equal(stream.readEnded, false);
      assert.equal(stream.destroyed, false);
      assert.equal(stream.needsDrain, false);
      assert.equal(stream.queuedBytes, 0);
    }
  });

  it('carries bytes both ways in order, writev included', async () => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const atListener = readBytes(accepted, 11);
    dialled.write(Buffer.from('hello'));
    dialled.writev([Buffer.from(' '), Buffer.from('there')]);
    assert.equal((await atListener).toString(), 'hello there');

    const atDialler = readBytes(dialled, 9);
    accepted.write(Buffer.from('and back'));
    accepted.write(Buffer.from('!'));
    assert.equal((await atDialler).toString(), 'and back!');
  });

  it('puts bytes back to be read first, on a stream not yet resumed', async () => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    dialled.write(Buffer.from('world'));
    dialled.end();
    accepted.unshift(Buffer.from('hello '));
    assert.equal((await readToEnd(accepted)).toString(), 'hello world');
  });

  it('moves 10 MB each way in order, writers held by backpressure', async (t) => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const up = pattern(10 * 1024 * 1024, 1);
    const down = pattern(10 * 1024 * 1024, 2);
    const started = performance.now();
    const received = [readBytes(accepted, up.length), readBytes(dialled, down.length)];
    const written = await Promise.all([writeAll(dialled, up), writeAll(accepted, down)]);
    const [atListener, atDialler] = await Promise.all(received);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(atListener!.equals(up), 'dialler to listener: every byte, in order');
    assert.ok(atDialler!.equals(down), 'listener to dialler: every byte, in order');
    for (const { drains, maxQueued } of written) {
      assert.ok(drains > 0, 'the writer was told to wait for drain');
      assert.ok(maxQueued <= 256 * 1024, `queued at most a little over one chunk, saw ${maxQueued}`);
    }
    t.diagnostic(`20 MB (10 MB each way at once) in ${seconds.toFixed(2)} s: ${((20 * 8) / seconds).toFixed(0)} Mbit/s in all`);
  });

  it('serves several concurrent streams on one listener, each its own', async () => {
    const accepting = await udxListen(udx);
    const dialled = await Promise.all([1, 2, 3, 4, 5].map(() => udxDial(udx, accepting.port)));
    await until(() => accepting.accepted.length === 5, 'five accepted streams');
    for (const stream of accepting.accepted) {
      stream.on('data', (chunk) => stream.write(Buffer.concat([Buffer.from('echo:'), chunk])));
      stream.resume();
    }
    const answers = dialled.map((stream, i) => readBytes(stream, `echo:stream ${i}`.length));
    dialled.forEach((stream, i) => stream.write(Buffer.from(`stream ${i}`)));
    assert.deepEqual((await Promise.all(answers)).map(String), [0, 1, 2, 3, 4].map((i) => `echo:stream ${i}`));
  });

  it('half-closes as TCP does: end reaches the other side, which ends too, and both finish and close', async () => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const finished = once(dialled, 'finish');
    const closed = [once(dialled, 'close'), once(accepted, 'close')];
    const atListener = readToEnd(accepted);
    const atDialler = readToEnd(dialled);
    dialled.write(Buffer.from('goodbye'));
    dialled.end();
    assert.equal(dialled.writable, false, 'not writable once ended');
    dialled.write(Buffer.from('dropped after end'));
    await finished;
    assert.equal((await atListener).toString(), 'goodbye');
    assert.equal(accepted.readEnded, true);
    assert.equal((await atDialler).toString(), '', 'the listener ended in turn (not half-open)');
    for (const [error] of await Promise.all(closed)) assert.equal(error, undefined, 'closed, not broken');
    assert.equal(dialled.destroyed, true);
  });

  it('with allowHalfOpen, the side that saw the end may still send, then end', async () => {
    const accepting = await udxListen(udx, { allowHalfOpen: true });
    const [dialled, accepted] = await udxPair(udx, accepting);
    const ended = once(accepted, 'end');
    accepted.resume();
    dialled.end();
    await ended;
    assert.equal(accepted.writable, true, 'still writable after the other side ended');
    const atDialler = readToEnd(dialled);
    accepted.write(Buffer.from('last words'));
    accepted.end();
    assert.equal((await atDialler).toString(), 'last words');
    const [[dialledError], [acceptedError]] = await Promise.all([once(dialled, 'close'), once(accepted, 'close')]);
    assert.equal(dialledError, undefined);
    assert.equal(acceptedError, undefined);
  });

  it('destroy closes the other side at once, with a coded connection-lost error', async () => {
    const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
    const started = performance.now();
    const closedThere = once(accepted, 'close');
    const closedHere = once(dialled, 'close');
    dialled.destroy();
    assert.equal(dialled.destroyed, true);
    assert.equal(dialled.writable, false);
    const [[here], [there]] = await Promise.all([closedHere, closedThere]);
    assert.equal(here, undefined, 'our own destroy is no error');
    assert.equal(there?.code, 'ERR_CONNECTION_LOST');
    assert.equal(there?.message, `connection to ${accepted.remoteAddress} failed: connection reset by peer`);
    assert.ok(performance.now() - started < 1_000, 'within a second');
  });

  it('fails a dial where nobody answers with ERR_CONNECT_FAILED at timeoutMs, repeating with backoff meanwhile', async () => {
    const silent = await RendezvousProbe.open();
    const clock = new ManualClock();
    let settled = false;
    const dial = udx.dial('127.0.0.1', silent.port, { timeoutMs: 3_000, clock }).finally(() => (settled = true));
    await until(() => silent.received.length === 1, 'the first request');
    for (const [ms, count] of [[250, 2], [500, 3], [1_000, 4]] as const) {
      clock.advance(ms);
      await until(() => silent.received.length === count, `request ${count}`);
    }
    clock.advance(1_249);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(settled, false, 'still trying a millisecond before the timeout');
    clock.advance(1);
    const error = await rejectsCode(dial, 'ERR_CONNECT_FAILED');
    assert.equal(error.message, `cannot reach 127.0.0.1:${silent.port}: timed out after 3 s`);
    assert.equal(clock.pending, 0, 'no timer left behind');
    await until(() => liveStreamCount() === 0, 'the dialler stream released');
    clock.advance(10_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(silent.received.length, 4, 'nothing more sent after giving up');
  });

  it('a closed listener accepts nothing more; a stream it accepted before lives on until it closes', async () => {
    const accepting = await udxListen(udx);
    const [dialled, accepted] = await udxPair(udx, accepting);
    let closed = false;
    const closing = accepting.listener.close().then(() => (closed = true));
    const clock = new ManualClock();
    const late = udx.dial('127.0.0.1', accepting.port, { timeoutMs: 1_000, clock });
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(1_000);
    await rejectsCode(late, 'ERR_CONNECT_FAILED');
    assert.equal(accepting.accepted.length, 1, 'nothing accepted after close');

    const echo = readBytes(dialled, 5);
    accepted.write(Buffer.from('still'));
    assert.equal((await echo).toString(), 'still');
    assert.equal(closed, false, 'the socket waits for its streams');
    dialled.end();
    accepted.resume();
    await closing;
    const again = await udxListen(udx, { port: accepting.port });
    assert.equal(again.port, accepting.port, 'the port is free once closed');
  });

  it('refuses past maxConnections at once, and tells onDrop where from', async () => {
    const drops: string[] = [];
    const accepting = await udxListen(udx, { maxConnections: 2, onDrop: (address) => drops.push(address) });
    await udxPair(udx, accepting);
    await udxPair(udx, accepting);
    const started = performance.now();
    const error = await rejectsCode(udxDial(udx, accepting.port), 'ERR_CONNECT_FAILED');
    assert.equal(error.message, `cannot reach 127.0.0.1:${accepting.port}: it refused the connection (too many connections)`);
    assert.ok(performance.now() - started < 1_000, 'refused, not timed out');
    assert.equal(drops.length, 1);
    assert.match(drops[0]!, /^127\.0\.0\.1:\d+$/);
  });

  it('takes the next port when the one asked is busy with fallback tries, and fails in one line without', async () => {
    const squatter = createSocket('udp4');
    squatter.bind(0, '127.0.0.1');
    await once(squatter, 'listening');
    const busy = squatter.address().port;
    try {
      const error = await rejectsCode(udx.listen({ host: '127.0.0.1', port: busy, fallbackTries: 0 }, () => undefined), 'ERR_LISTEN_FAILED');
      assert.equal(error.message, `cannot listen on 127.0.0.1:${busy}: port ${busy} is in use`);
      const moved = await udxListen(udx, { port: busy, fallbackTries: 10 });
      assert.ok(moved.port > busy && moved.port <= busy + 10, `took ${moved.port}`);
      assert.equal(moved.listener.busyPort, busy);
      await udxPair(udx, moved);
    } finally {
      squatter.close();
    }
  });
});
