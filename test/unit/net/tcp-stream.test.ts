// TcpStream over real loopback sockets whose dialling end reads into the shared read buffer, as
// dialTcp's do: its chunks are lent (a chunk kept by reference is overwritten by later reads, which
// is why every consumer copies what it keeps), unshift puts bytes back ahead of the next read,
// pause() stops reading until resume() (the sender is held back by TCP), and the socket's end
// comes after a pause, and after bytes put back.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeferredStream } from '../../../src/net/deferred-stream.js';
import { LentReads, TcpStream } from '../../../src/net/tcp-stream.js';
import { closeTcpPairs, tcpPair } from '../../helpers/tcp-pair.js';

afterEach(closeTcpPairs);

/** [our dialled, lending stream, the accepting socket that talks to it]. */
async function lendingPair(): Promise<[TcpStream, Socket]> {
  const reads = new LentReads();
  const [dialled, accepted] = await tcpPair({ lentReads: reads });
  return [new TcpStream(dialled, reads), accepted];
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Until `probe` holds, looking every few milliseconds, for at most `ms`. */
async function until(probe: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Everything `stream` reads (copied, as the contract asks), and whether it ended. */
function reader(stream: TcpStream | DeferredStream) {
  const copies: Buffer[] = [];
  const seen = { bytes: 0, ended: false, closed: false, all: () => Buffer.concat(copies) };
  stream.on('data', (chunk) => {
    copies.push(Buffer.from(chunk));
    seen.bytes += chunk.length;
  });
  stream.on('end', () => (seen.ended = true));
  stream.on('close', () => (seen.closed = true));
  return seen;
}

describe('TcpStream with lent reads', () => {
  it('lends each chunk for its event only: a copy keeps the bytes, a kept reference does not', async () => {
    const [stream, far] = await lendingPair();
    assert.equal(stream.reusesReadBuffer, true);
    const sent = randomBytes(8 * 1024 * 1024);
    const copies = reader(stream);
    const kept: Buffer[] = [];
    stream.on('data', (chunk) => kept.push(chunk));
    stream.resume();
    far.end(sent);
    await once(stream, 'end');
    assert.equal(sha(copies.all()), sha(sent), 'the copies are what was sent');
    assert.ok(kept.length > 1, 'several reads');
    // Each kept view now shows the last read's bytes: a consumer that kept one would be corrupt.
    assert.notEqual(sha(Buffer.concat(kept)), sha(sent), 'kept references were overwritten');
  });

  it('a DeferredStream attached to it hands its consumer the bytes in order, intact', async () => {
    const [stream, far] = await lendingPair();
    const deferred = new DeferredStream('127.0.0.1', '127.0.0.1:0');
    const seen = reader(deferred);
    deferred.resume();
    deferred.attach(stream);
    assert.equal(deferred.reusesReadBuffer, true);
    const sent = randomBytes(4 * 1024 * 1024);
    far.end(sent);
    await once(deferred, 'end');
    assert.equal(sha(seen.all()), sha(sent));
  });

  it('pause() stops reading until resume(): the sender is held back, then every byte arrives', async () => {
    const [stream, far] = await lendingPair();
    const sent = randomBytes(32 * 1024 * 1024);
    const seen = reader(stream);
    stream.once('data', () => stream.pause());
    stream.resume();
    far.write(sent);
    // TCP holds the sender back once the kernel's buffers between us are full.
    await until(() => far.writableLength > 0 && seen.bytes > 0, 'the sender to be held back');
    const atPause = seen.bytes;
    await sleep(50);
    assert.equal(seen.bytes, atPause, 'nothing is read while paused');
    assert.ok(atPause < sent.length);
    stream.resume();
    await until(() => seen.bytes === sent.length, 'every byte');
    assert.equal(sha(seen.all()), sha(sent));
  });

  it('unshift puts bytes back ahead of the next read, after a resume, and before the end', async () => {
    const [stream, far] = await lendingPair();
    const seen = reader(stream);
    stream.once('data', (chunk) => {
      stream.pause();
      stream.unshift(chunk.subarray(chunk.indexOf(' ') + 1)); // "world", lent: the stream copies it
    });
    stream.resume();
    far.write('hello world');
    await until(() => seen.bytes > 0, 'the first read');
    far.end('!');
    await once(far, 'finish');
    await sleep(50);
    assert.equal(seen.all().toString(), 'hello world', 'paused: the bytes put back wait');
    assert.equal(seen.ended, false, 'paused: the end waits too');
    stream.resume();
    await once(stream, 'end');
    assert.equal(seen.all().toString(), 'hello worldworld!', 'put back first, then the next read, then the end');
    assert.equal(stream.readEnded, true);
    await until(() => seen.closed, 'close after the end');
  });

  it('an end sent while paused comes only after resume(), and close after it', async () => {
    const [stream, far] = await lendingPair();
    const seen = reader(stream);
    stream.once('data', () => stream.pause());
    stream.resume();
    far.end('abc');
    await once(far, 'finish');
    await until(() => seen.bytes === 3, 'the bytes');
    await sleep(50);
    assert.deepEqual([seen.ended, seen.closed], [false, false], 'nothing after the pause');
    stream.resume();
    await once(stream, 'end');
    await until(() => seen.closed, 'close after the end');
    assert.equal(seen.all().toString(), 'abc');
  });
});
