// The process's udx stream ids (udx-runtime.ts) with the native module loaded: a given id taken
// only while free, counted ids passing over it, all of them in the one window that keeps udx's
// id table small.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type UDX from 'udx-native';
import { createRawStream, createRawStreamWithId, ID_WINDOW, streamIdFor } from '../../src/net/udx-runtime.js';

const closing = (stream: UDX.Stream) => new Promise<void>((resolve) => stream.once('close', () => resolve()));

describe('udx stream ids', () => {
  it('takes a given id when it is free, refuses it while a stream holds it, and gives it again once closed', async () => {
    const id = streamIdFor(12_345);
    const first = createRawStreamWithId(id)!;
    assert.equal(first.id, id);
    assert.equal(createRawStreamWithId(id), undefined, 'taken while the first lives');
    const closed = closing(first);
    first.destroy();
    await closed;
    const again = createRawStreamWithId(id)!;
    assert.equal(again.id, id, 'free again once closed');
    const closedAgain = closing(again);
    again.destroy();
    await closedAgain;
  });

  it('counts ids past one taken by id, all within the window', async () => {
    const low = streamIdFor(0);
    const streams = [createRawStream()];
    const next = streams[0]!.id + 1 < low + ID_WINDOW ? streams[0]!.id + 1 : low;
    streams.push(createRawStreamWithId(next)!);
    for (let i = 0; i < 100; i++) streams.push(createRawStream());
    assert.equal(streams[2]!.id, streamIdFor(next - low + 1), 'the counter stepped over the taken id');
    assert.equal(new Set(streams.map((stream) => stream.id)).size, streams.length, 'no id twice');
    assert.ok(streams.every((stream) => stream.id >= low && stream.id < low + ID_WINDOW && stream.id !== 0), 'all in the window');
    const closed = streams.map(closing);
    for (const stream of streams) stream.destroy();
    await Promise.all(closed);
  });
});
