// DeferredStream, the session's stream while a relayed session's data connection is still being
// opened: what is written before attach() is kept (its first bytes taken as the first flight),
// what push() brings is read as if the connection had carried it, and from attach() on it is the
// connection. MemoryStream pairs stand in for the connection: `near` is attached, the test reads
// and writes at `far`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatError, type P2PChatError } from '../../../src/errors.js';
import { DeferredStream } from '../../../src/net/deferred-stream.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const bytes = (text: string) => Buffer.from(text);

function deferred(): DeferredStream {
  return new DeferredStream('192.0.2.1', '192.0.2.1:443');
}

/** Every `data` chunk a stream emits, concatenated, and its other events in order. */
function watch(stream: DeferredStream | MemoryStream) {
  const seen = { data: [] as Buffer[], events: [] as string[], closes: [] as Array<P2PChatError | undefined> };
  stream.on('data', (chunk) => seen.data.push(Buffer.from(chunk)));
  for (const event of ['end', 'drain', 'finish'] as const) stream.on(event, () => seen.events.push(event));
  stream.on('close', (error) => {
    seen.events.push('close');
    seen.closes.push(error);
  });
  return { ...seen, text: () => Buffer.concat(seen.data).toString() };
}

/** A connection to attach: our end, and the far end, reading. */
function connection(highWaterMark?: number) {
  const [near, far] = memoryStreamPair(highWaterMark);
  const atFar = watch(far);
  far.resume();
  return { near, far, atFar };
}

describe('DeferredStream', () => {
  it('keeps writes until attach; takeEarly takes exactly the first bytes, the rest follow in order', async () => {
    const stream = deferred();
    stream.write(bytes('0123'));
    stream.writev([bytes('4567'), bytes('89')]);
    const early = stream.takeEarly(6);
    assert.equal(early.toString(), '012345');
    stream.write(bytes('ab'));
    assert.equal(stream.takeEarly(0).length, 0, 'a second take of nothing leaves everything kept');

    const { near, atFar } = connection();
    stream.attach(near);
    stream.write(bytes('cd'));
    await tick();
    assert.equal(atFar.text(), '6789abcd', 'what was not taken, then what came later, in order');
  });

  it('takeEarly of more than was written takes it all, and attach then writes nothing of it again', async () => {
    const stream = deferred();
    stream.write(bytes('hello'));
    assert.equal(stream.takeEarly(1024).toString(), 'hello');
    const { near, atFar } = connection();
    stream.attach(near);
    await tick();
    assert.equal(near.written, 0, 'nothing was left to write');
    stream.write(bytes('next'));
    await tick();
    assert.equal(atFar.text(), 'next');
  });

  it('reads what push() brings in order, only while resumed', () => {
    const stream = deferred();
    const seen = watch(stream);
    stream.push(bytes('a'));
    stream.push(bytes('b'));
    assert.equal(seen.text(), '', 'created paused, like every ByteStream');
    stream.resume();
    assert.equal(seen.text(), 'ab');
    stream.push(bytes('c'));
    assert.equal(seen.text(), 'abc', 'resumed: delivered at once');
    stream.pause();
    stream.push(bytes('d'));
    stream.push(bytes('e'));
    assert.equal(seen.text(), 'abc', 'paused: held');
    stream.resume();
    assert.equal(seen.text(), 'abcde');
    assert.deepEqual(seen.events, []);
  });

  it('what was pushed, after what was unshifted, is read before the connection, also when resumed only after attach', async () => {
    const stream = deferred();
    const seen = watch(stream);
    stream.push(bytes('second'));
    stream.unshift(bytes('first '));
    const { near, far } = connection();
    stream.attach(near);
    far.write(bytes(' third'));
    await tick();
    assert.equal(seen.text(), '', 'still paused: the connection is not read either');
    stream.resume();
    await tick();
    assert.equal(seen.text(), 'first second third');
  });

  it('after attach, re-emits the connection’s events and passes every call on', async () => {
    const stream = deferred();
    const seen = watch(stream);
    const { near, far, atFar } = connection(4);
    stream.attach(near);
    stream.resume();

    far.write(bytes('in'));
    await tick();
    assert.equal(seen.text(), 'in');

    stream.pause();
    far.write(bytes('held'));
    await tick();
    assert.equal(seen.text(), 'in', 'pause() reached the connection');
    stream.resume();
    await tick();
    assert.equal(seen.text(), 'inheld', 'resume() too');

    // Writes go to the connection; past its high-water mark it needs draining, and says when not.
    far.pause();
    stream.write(bytes('12345'));
    stream.writev([bytes('6'), bytes('7')]);
    assert.equal(stream.queuedBytes, 7);
    assert.equal(stream.needsDrain, true);
    far.resume();
    await tick();
    assert.equal(atFar.text(), '1234567');
    assert.equal(stream.queuedBytes, 0);
    assert.equal(stream.needsDrain, false);
    assert.deepEqual(seen.events, ['drain']);

    far.end();
    await tick();
    assert.equal(stream.readEnded, true);
    assert.deepEqual(seen.events, ['drain', 'end']);

    stream.end();
    assert.equal(stream.writable, false, 'ended: writes are dropped');
    stream.write(bytes('dropped'));
    await tick();
    assert.ok(atFar.events.includes('end'), 'the far end read our end');
    assert.equal(atFar.text(), '1234567');
    assert.deepEqual(seen.events, ['drain', 'end', 'finish', 'close'], 'both ways ended: the connection closed, and so did we');
    assert.deepEqual(seen.closes, [undefined]);
    assert.equal(stream.destroyed, true);
  });

  it('after attach, destroy() destroys the connection; its close (with its error) is ours, once', async () => {
    const stream = deferred();
    const seen = watch(stream);
    const { near } = connection();
    stream.attach(near);
    stream.destroy();
    assert.equal(near.destroyed, true);
    assert.equal(stream.destroyed, true, 'destroyed at once, as its connection is');
    assert.equal(stream.writable, false);
    await tick();
    assert.deepEqual(seen.closes, [undefined]);

    const broken = deferred();
    const brokenSeen = watch(broken);
    const other = connection();
    broken.attach(other.near);
    const reset = chatError('ERR_CONNECTION_LOST', 'connection reset');
    other.near.destroy(reset);
    await tick();
    assert.deepEqual(brokenSeen.closes, [reset]);
    broken.fail(chatError('ERR_RELAY_UNREACHABLE', 'too late'));
    await tick();
    assert.deepEqual(brokenSeen.closes, [reset], 'a failure after the close changes nothing');
  });

  it('fail() before attach closes with that error, once; a later attach destroys the connection', async () => {
    const stream = deferred();
    const seen = watch(stream);
    stream.write(bytes('kept'));
    stream.push(bytes('unread'));
    const error = chatError('ERR_RELAY_UNREACHABLE', 'relay 192.0.2.1:443: connection refused');
    stream.fail(error);
    stream.fail(chatError('ERR_RELAY_UNREACHABLE', 'again'));
    stream.destroy();
    assert.deepEqual(seen.closes, [error]);
    assert.equal(stream.destroyed, true);
    assert.equal(stream.writable, false);

    stream.resume();
    stream.push(bytes('late'));
    assert.equal(seen.text(), '', 'nothing is read once closed');
    assert.equal(stream.takeEarly(1024).length, 0, 'what was kept went with it');

    const { near, atFar } = connection();
    stream.attach(near);
    assert.equal(near.destroyed, true, 'the connection that came too late is destroyed');
    await tick();
    assert.equal(near.written, 0);
    assert.equal(atFar.text(), '');
    assert.deepEqual(seen.closes, [error]);
  });

  it('destroy() before attach closes without an error', () => {
    const stream = deferred();
    const seen = watch(stream);
    stream.destroy();
    assert.deepEqual(seen.events, ['close']);
    assert.deepEqual(seen.closes, [undefined]);
  });

  it('end() before attach: later writes are dropped, and the connection is ended on attach', async () => {
    const stream = deferred();
    const seen = watch(stream);
    assert.equal(stream.writable, true);
    stream.write(bytes('last words'));
    stream.end();
    assert.equal(stream.writable, false);
    stream.write(bytes(' dropped'));
    assert.deepEqual(seen.events, [], 'nothing is finished before the connection is there');

    const { near, atFar } = connection();
    stream.attach(near);
    await tick();
    assert.equal(atFar.text(), 'last words');
    assert.deepEqual(atFar.events, ['end']);
    assert.deepEqual(seen.events, ['finish']);
  });

  it('before attach: not ended, not destroyed, never holding the writer back', () => {
    const stream = deferred();
    assert.equal(stream.remoteHost, '192.0.2.1');
    assert.equal(stream.remoteAddress, '192.0.2.1:443');
    assert.equal(stream.transport, 'tcp');
    stream.write(Buffer.alloc(1 << 20));
    assert.equal(stream.writable, true);
    assert.equal(stream.destroyed, false);
    assert.equal(stream.readEnded, false);
    assert.equal(stream.needsDrain, false, 'kept writes wait for the connection, not for a drain');
  });

  it('once attached, its remote address is where the connection went (another relay of a cluster, say)', () => {
    const stream = deferred();
    const { near } = connection();
    stream.attach(near);
    assert.deepEqual([stream.remoteHost, stream.remoteAddress], [near.remoteHost, near.remoteAddress]);
    assert.equal(stream.remoteAddress, '192.0.2.2:5050');
  });

  it('a second attach is refused: that connection is destroyed, the first one stays', async () => {
    const stream = deferred();
    const first = connection();
    const second = connection();
    stream.attach(first.near);
    stream.attach(second.near);
    assert.equal(second.near.destroyed, true);
    assert.equal(first.near.destroyed, false);
    stream.write(bytes('to the first'));
    await tick();
    assert.equal(first.atFar.text(), 'to the first');
  });
});
