// FileSink on real temporary files: chunks reach the disk in order, and the backlog shared by a
// transfer's sinks counts what is queued and what waits for the write under way as running
// totals, back to nothing once every byte is written.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FileSink, WriteBacklog } from '../../../../src/app/files/file-sink.js';

describe('FileSink', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'p2p-chat-sink-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function sink(name: string, backlog: WriteBacklog, written: number[]): FileSink {
    return new FileSink({
      handle: open(join(root, name), 'w'),
      path: name,
      position: 0,
      hash: createHash('sha256'),
      backlog,
      onWritten: (bytes) => written.push(bytes),
      onError: (err) => assert.fail(err),
    });
  }

  it('counts two sinks in one backlog while they write, and nothing once they are done', async () => {
    const backlog = new WriteBacklog();
    const written: number[] = [];
    const a = sink('a', backlog, written);
    const b = sink('b', backlog, written);
    a.push(Buffer.from('hello '));
    a.push(Buffer.from('world'));
    b.push(Buffer.from('1234'));
    // Nothing can have been written yet (the files are still opening): all queued, all waiting.
    assert.deepEqual({ ...backlog }, { queued: 15, waiting: 15 });

    const [hashA] = await Promise.all([a.finish(), b.finish()]);
    assert.deepEqual({ ...backlog }, { queued: 0, waiting: 0 });
    assert.equal(written.reduce((sum, n) => sum + n, 0), 15);
    assert.equal(await readFile(join(root, 'a'), 'utf8'), 'hello world');
    assert.equal(await readFile(join(root, 'b'), 'utf8'), '1234');
    assert.equal(hashA, createHash('sha256').update('hello world').digest('hex'));
  });

  it('takes a failed write off the backlog, and reports the error once', async () => {
    const backlog = new WriteBacklog();
    await writeFile(join(root, 'ro'), '');
    const errors: Error[] = [];
    const failing = new FileSink({
      handle: open(join(root, 'ro'), 'r'), // writing to it fails (EBADF)
      path: 'ro',
      position: 0,
      hash: createHash('sha256'),
      backlog,
      onWritten: () => assert.fail('nothing was written'),
      onError: (err) => errors.push(err),
    });
    failing.push(Buffer.alloc(1000));
    await assert.rejects(failing.finish(), (err: Error) => /cannot write ro/.test(err.message));
    assert.equal(errors.length, 1);
    await failing.abort();
    assert.deepEqual({ ...backlog }, { queued: 0, waiting: 0 });
  });

  it('takes what waits off the backlog when aborted', async () => {
    const backlog = new WriteBacklog();
    const a = sink('a', backlog, []);
    a.push(Buffer.alloc(1000));
    await a.abort();
    assert.deepEqual({ ...backlog }, { queued: 0, waiting: 0 });
  });
});
