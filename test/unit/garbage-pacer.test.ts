// The garbage pacer: it collects once per `everyBytes` of records, its real collector runs a
// young-generation collection that frees dead buffers without leaving `gc` to the program, and a
// PeerConnection tells it of every record it seals and opens, over real sockets.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { GARBAGE_PACE_BYTES, GarbagePacer, processGarbagePacer, youngCollector } from '../../src/garbage-pacer.js';
import { TcpStream } from '../../src/net/tcp-stream.js';
import { FEATURES, PROTOCOL_VERSION } from '../../src/secure/handshake-payload.js';
import { generateKeyPair } from '../../src/secure/noise/crypto-primitives.js';
import { PeerConnection } from '../../src/session/peer-connection.js';
import { MESSAGE_TYPES, PEER_MESSAGES } from '../../src/session/session-messages.js';
import { closeTcpPairs, tcpPair } from '../helpers/tcp-pair.js';

afterEach(closeTcpPairs);

const MiB = 1024 * 1024;
/** The connections' pacers collect after this many bytes: two of Alice's writes. */
const EVERY = 2 * 8 * 64_000;

describe('GarbagePacer', () => {
  it('collects once per everyBytes added, carrying nothing over past a collection', () => {
    let collections = 0;
    const pacer = new GarbagePacer(100, () => collections++);
    pacer.add(99);
    assert.equal(collections, 0, 'not before 100 bytes');
    pacer.add(1);
    assert.equal(collections, 1, 'at 100 bytes');
    pacer.add(250);
    assert.equal(collections, 2, 'one collection for one large add');
    pacer.add(99);
    assert.equal(collections, 2, 'the count starts again after a collection');
    for (let i = 0; i < 1000; i++) pacer.add(1);
    assert.equal(collections, 12);
    assert.equal(pacer.collections, 12, 'it counts what it asked for');
  });

  it('is one pacer for the whole process, collecting every 8 MiB', () => {
    assert.equal(GARBAGE_PACE_BYTES, 8 * MiB);
    assert.equal(processGarbagePacer(), processGarbagePacer());
  });
});

describe('youngCollector', () => {
  it('runs a young-generation collection then and there, and the dead buffers it held are freed', async () => {
    const collect = youngCollector();
    assert.ok(collect, 'V8 gives a collector on this Node');
    const collections: PerformanceEntry[] = [];
    const observer = new PerformanceObserver((list) => collections.push(...list.getEntries()));
    observer.observe({ entryTypes: ['gc'] });
    try {
      let garbage: Buffer[] = [];
      for (let i = 0; i < 320; i++) garbage.push(Buffer.allocUnsafeSlow(64 * 1024));
      const deadBufferBytes = process.memoryUsage().arrayBuffers;
      assert.ok(deadBufferBytes >= 20 * MiB, `${deadBufferBytes} bytes of buffers allocated`);
      garbage = [];
      const before = performance.now();
      collect();
      const after = performance.now();
      // V8 frees the buffers' memory on a thread of its own after the collection, and reports the
      // collection a little later: wait for both (at most 5 s, for a loaded machine).
      const ours = () => collections.some((e) => (e as PerformanceEntry & { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MINOR && e.startTime >= before && e.startTime <= after);
      for (let i = 0; i < 500 && (process.memoryUsage().arrayBuffers > 4 * MiB || !ours()); i++) await sleep(10);
      assert.ok(ours(), `a minor collection during the call (${collections.length} collections seen)`);
      assert.ok(process.memoryUsage().arrayBuffers <= 4 * MiB, `${process.memoryUsage().arrayBuffers} bytes of buffers left`);
      assert.equal(garbage.length, 0);
    } finally {
      observer.disconnect();
    }
  });

  it('uses the gc of a node run with --expose-gc, and leaves it to later contexts', () => {
    const module = pathToFileURL(fileURLToPath(new URL('../../src/garbage-pacer.js', import.meta.url))).href;
    const script = `import('${module}').then((m) => { const c = m.youngCollector(); c(); console.log(typeof c, typeof gc, require('node:vm').runInNewContext('typeof gc')); })`;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }).trim();
    assert.equal(out, 'function function function');
  });

  it('leaves no gc function to the program or to contexts made later', () => {
    assert.ok(youngCollector());
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
    assert.equal(runInNewContext('typeof gc'), 'undefined');
  });
});

/** An established PeerConnection pair over real TCP; each side's pacer is `garbage` of its name, or the process's. */
async function connectedPair(garbage?: (name: 'alice' | 'bob') => GarbagePacer) {
  const [aliceSocket, bobSocket] = await tcpPair();
  const connection = (socket: typeof aliceSocket, name: 'alice' | 'bob', initiator: boolean) =>
    new PeerConnection(new TcpStream(socket), {
      initiator,
      keyPair: generateKeyPair(),
      localInfo: { name, version: PROTOCOL_VERSION, features: FEATURES },
      codec: PEER_MESSAGES,
      handshakeTimeoutMs: 5_000,
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: 30_000,
      byeGraceMs: 1_000,
      maxQueuedBytes: 64 * MiB,
      clock: SYSTEM_CLOCK,
      ...(garbage ? { garbage: garbage(name) } : {}),
    });
  const alice = connection(aliceSocket, 'alice', true);
  const bob = connection(bobSocket, 'bob', false);
  alice.start();
  bob.start();
  await Promise.all([once(alice, 'established'), once(bob, 'established')]);
  return { alice, bob };
}

/** Alice sends 64 records of 64,000 bytes of a type the chat does not use (ignored) and then a chat message; resolves once Bob has it. */
async function sendRecords(alice: PeerConnection, bob: PeerConnection): Promise<void> {
  const unused = 0xee;
  assert.equal(Object.values(MESSAGE_TYPES).includes(unused as never), false);
  const record = Buffer.alloc(64_000, unused);
  for (let i = 0; i < 8; i++) alice.sendEncoded(Array.from({ length: 8 }, () => record));
  const marker = new Promise<void>((resolve) => bob.on('message', (m) => m.type === 'chat' && m.id === 'marker' && resolve()));
  alice.send({ type: 'chat', id: 'marker', time: 1_700_000_000_000, text: 'after the records' });
  await marker;
}

describe('PeerConnection and the pacer', { timeout: 15_000 }, () => {
  it('counts each record it seals once, and each it opens twice (the read and the plaintext)', async () => {
    const counted = { alice: 0, bob: 0 };
    const { alice, bob } = await connectedPair((name) => new GarbagePacer(EVERY, () => counted[name]++));
    counted.alice = counted.bob = 0;
    // Once Bob has the chat message after them, he has read and opened every record.
    await sendRecords(alice, bob);

    // Alice's eight writes of 512,000 bytes: a collection after every second one.
    assert.equal(counted.alice, 4, 'Alice: one collection per 1,024,000 bytes sealed');
    // Bob reads at most 64 KiB at a time, so each collection comes within two reads' count past EVERY.
    const opened = 2 * 64 * 64_000;
    assert.ok(counted.bob >= Math.floor(opened / (EVERY + 2 * 65_536)), `Bob: ${counted.bob} collections for ${opened} bytes counted`);
    assert.ok(counted.bob <= Math.floor(opened / EVERY), `Bob: ${counted.bob} collections, no more than ${opened} bytes allow`);
  });

  it('counts the messages it encodes itself (chat) as well', async () => {
    const counted = { alice: 0, bob: 0 };
    const { alice, bob } = await connectedPair((name) => new GarbagePacer(EVERY, () => counted[name]++));
    counted.alice = 0;
    // 128 chat messages of 16,000 characters: over 2,048,000 bytes sealed, two collections.
    const last = new Promise<void>((resolve) => bob.on('message', (m) => m.type === 'chat' && m.id === 'c127' && resolve()));
    for (let i = 0; i < 128; i++) alice.send({ type: 'chat', id: `c${i}`, time: 1_700_000_000_000, text: 'x'.repeat(16_000) });
    await last;
    assert.equal(counted.alice, 2);
  });

  it("uses the process's pacer when given none", async () => {
    const { alice, bob } = await connectedPair();
    const before = processGarbagePacer().collections;
    // 4 MiB sealed and twice that opened, all in this process: at least one collection every 8 MiB.
    await sendRecords(alice, bob);
    assert.ok(processGarbagePacer().collections - before >= 1, `${processGarbagePacer().collections - before} collections`);
  });
});
