// Splice over real loopback sockets: bytes both ways and counted, half-close passed on, one side
// closing ends the other, backpressure (a reader that stops slows the writer instead of filling
// the relay's memory) and the byte cap. Its timers (idle, rate limit, grace) are tested on a
// manual clock in splice-timers.test.ts.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash, randomBytes } from 'node:crypto';
import { SYSTEM_CLOCK } from '../../../src/clock.js';
import { TcpStream } from '../../../src/net/tcp-stream.js';
import { closeTcpPairs, tcpPair } from '../../helpers/tcp-pair.js';
import { Splice, SPLICE_COALESCE_BYTES, type SpliceEnd, type SpliceOptions } from '../../../src/relay/splice.js';

afterEach(closeTcpPairs);

/** [client end, relay end] of one loopback connection; the relay end half-open like the relay's. */
const pair = () => tcpPair({ allowHalfOpen: true });

async function spliced(options: Partial<SpliceOptions> = {}) {
  const [a, relayA] = await pair();
  const [b, relayB] = await pair();
  // The relay's ends as the relay sees them; the raw sockets stay at hand for what they count.
  const splice = new Splice(new TcpStream(relayA), new TcpStream(relayB), { rateBytesPerSec: 0, byteCap: 0, closeGraceMs: 1_000, clock: SYSTEM_CLOCK, ...options });
  const closed = once(splice, 'closed') as Promise<[SpliceEnd]>;
  splice.start();
  return { a, b, relayA, relayB, splice, closed };
}

function collect(socket: Socket): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return { bytes: () => Buffer.concat(chunks) };
}

async function until(probe: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('Splice', () => {
  it('forwards both ways, counts the bytes and passes a half-close on', async () => {
    const { a, b, splice, closed } = await spliced();
    const atA = collect(a);
    const atB = collect(b);
    a.write('hello from a');
    b.write('hello from b');
    await until(() => atB.bytes().length === 12 && atA.bytes().length === 12, 'both messages');
    assert.equal(atB.bytes().toString(), 'hello from a');
    assert.equal(splice.bytes, 24);

    a.end(); // a says it is done; b may still talk
    await once(b, 'end');
    b.write('last words');
    b.end();
    await until(() => atA.bytes().toString().endsWith('last words'), 'the reply after the half-close');
    const [end] = await closed;
    assert.deepEqual(end, { bytes: 34, reason: 'ended' });
  });

  it('carries bulk both ways at once whole and in order, through the writes it gathers', async () => {
    const { a, b, splice } = await spliced();
    const fromA = randomBytes(8 * 1024 * 1024);
    const fromB = randomBytes(3 * 1024 * 1024 + 17);
    const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    const atA = collect(a);
    const atB = collect(b);
    // Odd sizes, so reads and gathered writes never line up with what was sent.
    for (let at = 0; at < fromA.length; at += 100_003) a.write(fromA.subarray(at, at + 100_003));
    for (let at = 0; at < fromB.length; at += 70_001) b.write(fromB.subarray(at, at + 70_001));
    await until(() => atB.bytes().length === fromA.length && atA.bytes().length === fromB.length, 'both streams', 20_000);
    assert.equal(digest(atB.bytes()), digest(fromA));
    assert.equal(digest(atA.bytes()), digest(fromB));
    assert.equal(splice.bytes, fromA.length + fromB.length);
  });

  it('ends the other side when one side is cut', async () => {
    const { a, b, closed } = await spliced();
    a.destroy();
    await once(b, 'end');
    b.end();
    assert.equal((await closed)[0].reason, 'ended');
  });

  it('stops reading from a writer whose reader does not read', async () => {
    const { a, b, relayA, relayB } = await spliced();
    b.pause();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    while (written < 32 * 1024 * 1024 && a.write(chunk)) written += chunk.length;
    for (let i = 0; i < 64; i++) a.write(chunk); // keep pushing past the writer's own high-water mark
    await sleep(300);
    // What one turn gathers, plus a read in flight and the stream's high-water mark: no more.
    const most = SPLICE_COALESCE_BYTES + 64 * 1024 + relayB.writableHighWaterMark;
    assert.ok(relayB.writableLength <= most, `relay queued ${relayB.writableLength} bytes for a reader that does not read`);
    // The writer's bytes wait in the kernel (loopback's receive buffer may grow to 32 MiB and
    // take them all), not in the relay: it has stopped reading.
    const read = relayA.bytesRead;
    await sleep(200);
    assert.equal(relayA.bytesRead, read, 'the relay still reads from the writer');
  });

  it('closes both ends when the byte cap is reached', async () => {
    const { a, b, closed } = await spliced({ byteCap: 1_000 });
    const atB = collect(b);
    a.write(Buffer.alloc(600));
    await until(() => atB.bytes().length === 600, 'the first 600 bytes');
    a.write(Buffer.alloc(600));
    const [end] = await closed;
    assert.equal(end.reason, 'byte cap of 1000 bytes reached');
    assert.equal(end.bytes, 600);
  });

  it('close() ends both streams and reports the reason', async () => {
    const { a, b, splice, closed } = await spliced();
    splice.close('relay shutting down');
    await Promise.all([once(a, 'end'), once(b, 'end')]);
    a.end();
    b.end();
    assert.equal((await closed)[0].reason, 'relay shutting down');
  });
});
