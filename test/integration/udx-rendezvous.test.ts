// The udx rendezvous against a real listener on 127.0.0.1: datagrams sent by hand with node:dgram
// (repeats, wrong cookies, floods from one address), and real dials through a forwarder that loses
// or repeats datagrams. Timers run on manual clocks: expiry and repeats happen when a test says.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { decodeRendezvous, RENDEZVOUS_SIZE, type RendezvousMessage } from '../../src/net/udx-rendezvous.js';
import { HALF_OPEN_LIMITS } from '../../src/net/udx-responder.js';
import { liveStreamCount } from '../../src/net/udx-runtime.js';
import { udxTransport } from '../../src/net/udx-transport.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/relay-testnet.js';
import { closeUdpProbes, RendezvousProbe, udpForwarder } from '../helpers/udp-probe.js';
import { closeUdx, readBytes, udxDial, udxListen } from '../helpers/udx-loopback.js';

afterEach(async () => {
  await closeUdx();
  await closeUdpProbes();
});

const request = (dialerId: number): RendezvousMessage => ({ type: 'request', dialerId, listenerId: 0, cookie: 0 });
const confirm = (accept: RendezvousMessage): RendezvousMessage => ({ ...accept, type: 'confirm' });
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** A listener whose half-open entries expire on a manual clock, and a probe to talk to it. */
async function setup(options: { maxConnections?: number } = {}) {
  const clock = new ManualClock();
  const transport = udxTransport(clock);
  const accepting = await udxListen(transport, options);
  const probe = await RendezvousProbe.open();
  const ask = async (message: RendezvousMessage) => {
    probe.send(message, accepting.port);
    return probe.next();
  };
  return { clock, transport, accepting, probe, ask };
}

describe('udx rendezvous', { timeout: 30_000 }, () => {
  it('answers a repeated request with the same accept, and repeated confirms make one stream', async () => {
    const { accepting, probe, ask } = await setup();
    const accept = await ask(request(7));
    assert.equal(accept.type, 'accept');
    assert.equal(accept.dialerId, 7);
    assert.notEqual(accept.listenerId, 0);
    assert.deepEqual(await ask(request(7)), accept, 'same stream, same cookie');
    assert.deepEqual(await ask(confirm(accept)), { ...accept, type: 'confirmed' });
    assert.deepEqual(await ask(confirm(accept)), { ...accept, type: 'confirmed' }, 'a repeated confirm is answered again');
    assert.deepEqual(await ask(request(7)), accept, 'a late repeat of the request too');
    await settle();
    assert.equal(accepting.accepted.length, 1, 'one stream for one dialler');
    assert.equal(accepting.accepted[0]!.remoteAddress, `127.0.0.1:${probe.port}`);
  });

  it('hands nothing over for a confirm with the wrong cookie or stream, or after the entry expired', async () => {
    const { clock, accepting, probe, ask } = await setup();
    const before = liveStreamCount();
    const accept = await ask(request(9));
    assert.equal(liveStreamCount(), before + 1, 'a half-open entry holds a stream');
    probe.send(confirm({ ...accept, cookie: (accept.cookie + 1) >>> 0 }), accepting.port);
    probe.send(confirm({ ...accept, listenerId: accept.listenerId + 1 }), accepting.port);
    probe.send(confirm({ ...accept, dialerId: 10 }), accepting.port);
    await settle();
    assert.equal(probe.received.length, 1, 'no answer to a confirm that does not match');
    clock.advance(HALF_OPEN_LIMITS.ttlMs);
    await until(() => liveStreamCount() === before, 'the expired entry let go of its stream');
    probe.send(confirm(accept), accepting.port);
    await settle();
    assert.equal(probe.received.length, 1, 'no answer once expired');
    assert.equal(accepting.accepted.length, 0);
  });

  it('caps half-open entries per address, counts confirmed ones out, and frees the rest when they expire', async () => {
    const { clock, ask } = await setup();
    const accepts: RendezvousMessage[] = [];
    for (let id = 1; id <= HALF_OPEN_LIMITS.perAddress; id++) accepts.push(await ask(request(id)));
    assert.ok(accepts.every((a) => a.type === 'accept'));
    assert.deepEqual(await ask(request(100)), { type: 'refuse', dialerId: 100, listenerId: 0, cookie: 0, reason: 'busy' });
    assert.equal((await ask(confirm(accepts[0]!))).type, 'confirmed');
    assert.equal((await ask(request(101))).type, 'accept', 'a confirmed stream no longer counts as half-open');
    assert.equal((await ask(request(102))).type, 'refuse');
    clock.advance(HALF_OPEN_LIMITS.ttlMs);
    assert.equal((await ask(request(103))).type, 'accept', 'expired entries no longer count');
  });

  it('answers each datagram with at most one of the same size and sends nothing else before a confirm', async () => {
    const { accepting, probe } = await setup();
    for (let id = 1; id <= 50; id++) probe.send(request(id), accepting.port);
    for (let id = 1; id <= 50; id++) probe.send(request(id), accepting.port);
    probe.send({ type: 'confirm', dialerId: 1, listenerId: 1, cookie: 1 }, accepting.port);
    await until(() => probe.received.length === 100, 'an answer to each request');
    await settle();
    assert.equal(probe.received.length, 100, 'one answer per request, none to a bad confirm');
    assert.ok(probe.received.every((bytes) => bytes.length === RENDEZVOUS_SIZE));
    const types = probe.received.map((bytes) => decodeRendezvous(bytes)?.type);
    assert.equal(types.filter((type) => type === 'accept').length, 2 * HALF_OPEN_LIMITS.perAddress, 'repeats answered the same');
  });

  it('refuses with "full" at maxConnections, counting half-open entries', async () => {
    const { ask } = await setup({ maxConnections: 2 });
    assert.equal((await ask(request(1))).type, 'accept');
    assert.equal((await ask(request(2))).type, 'accept');
    assert.deepEqual(await ask(request(3)), { type: 'refuse', dialerId: 3, listenerId: 0, cookie: 0, reason: 'full' });
  });

  it('a dial gets through the loss of its first request, its first confirm and an accept', async () => {
    const { accepting, transport } = await setup();
    const lost = new Set<string>();
    const forwarder = await udpForwarder(accepting.port, (bytes) => {
      const type = decodeRendezvous(bytes)?.type;
      if ((type !== 'request' && type !== 'accept' && type !== 'confirm') || lost.has(type)) return 'pass';
      lost.add(type);
      return 'drop';
    });
    const clock = new ManualClock();
    let dialled = false;
    const dial = udxDial(transport, forwarder.port, clock, 5_000).then((stream) => {
      dialled = true;
      return stream;
    });
    for (let step = 0; step < 6 && !dialled; step++) {
      await settle();
      clock.advance(clock.nextDueIn() ?? 0);
    }
    const stream = await dial;
    assert.deepEqual([...lost].sort(), ['accept', 'confirm', 'request']);
    const accepted = await accepting.next();
    await settle();
    assert.equal(accepting.accepted.length, 1, 'one stream, however many repeats');
    const echo = readBytes(accepted, 4);
    stream.write(Buffer.from('ping'));
    assert.equal((await echo).toString(), 'ping');
  });

  it('a dial through a path that repeats every datagram makes one stream, and its bytes arrive once', async () => {
    const { accepting, transport } = await setup();
    const forwarder = await udpForwarder(accepting.port, () => 'twice');
    const stream = await udxDial(transport, forwarder.port);
    const accepted = await accepting.next();
    const received = readBytes(accepted, 10);
    stream.write(Buffer.from('0123456789'));
    assert.equal((await received).toString(), '0123456789');
    await settle();
    assert.equal(accepting.accepted.length, 1);
  });
});
