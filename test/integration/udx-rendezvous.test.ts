// The udx rendezvous against a real listener on 127.0.0.1: datagrams sent by hand with node:dgram
// (repeats, replays, wrong or stale cookies, a flood from many sources), and real dials through a
// forwarder that loses or repeats datagrams. Timers run on manual clocks: cookie slots, budgets and
// repeats move when a test says.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { PUNCH_REPEATS } from '../../src/net/udx-dialer.js';
import { decodeRendezvous, PUNCH, RENDEZVOUS_SIZE, type RendezvousMessage } from '../../src/net/udx-rendezvous.js';
import { COOKIE_SLOT_MS } from '../../src/net/rendezvous-cookies.js';
import { RENDEZVOUS_ANSWER_LIMITS } from '../../src/net/udx-responder.js';
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
/** Rendezvous datagrams the probe has received (a stream connected to it may send udx packets too). */
const rendezvousCount = (probe: RendezvousProbe) => probe.received.filter((bytes) => decodeRendezvous(bytes) !== undefined).length;

/** A listener whose cookie slots and budgets run on a manual clock, and a probe to talk to it. */
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

  it('holds nothing for a request, and hands nothing over for a confirm with the wrong cookie, stream or id, or too late', async () => {
    const { clock, accepting, probe, ask } = await setup();
    const before = liveStreamCount();
    const accept = await ask(request(9));
    assert.equal(liveStreamCount(), before, 'a request makes no stream');
    probe.send(confirm({ ...accept, cookie: (accept.cookie + 1) >>> 0 }), accepting.port);
    probe.send(confirm({ ...accept, listenerId: accept.listenerId + 1 }), accepting.port);
    probe.send(confirm({ ...accept, dialerId: 10 }), accepting.port);
    await settle();
    assert.equal(probe.received.length, 1, 'no answer to a confirm that does not match');
    clock.advance(2 * COOKIE_SLOT_MS);
    probe.send(confirm(accept), accepting.port);
    await settle();
    assert.equal(probe.received.length, 1, 'no answer two slots on');
    assert.equal(accepting.accepted.length, 0);
    assert.equal(liveStreamCount(), before);
  });

  it('takes a confirm in the slot after its accept, so a dial across a boundary connects', async () => {
    const { clock, accepting, ask } = await setup();
    clock.advance(COOKIE_SLOT_MS - 1);
    const accept = await ask(request(11));
    clock.advance(1);
    assert.notDeepEqual(await ask(request(11)), accept, 'a repeat in the new slot is given a new ticket');
    assert.deepEqual(await ask(confirm(accept)), { ...accept, type: 'confirmed' }, 'yet the first one still counts');
    await until(() => accepting.accepted.length === 1, 'the stream handed over');
  });

  it('makes no second stream for a replayed confirm, while the stream lives or once it has closed', async () => {
    const { accepting, ask, probe } = await setup();
    const before = liveStreamCount();
    const accept = await ask(request(13));
    assert.equal((await ask(confirm(accept))).type, 'confirmed');
    assert.deepEqual(await ask(confirm(accept)), { ...accept, type: 'confirmed' }, 'answered again while it lives');
    assert.equal(liveStreamCount(), before + 1);
    const stream = await accepting.next();
    stream.destroy();
    await until(() => liveStreamCount() === before, 'the stream closed');
    probe.send(confirm(accept), accepting.port);
    await settle();
    assert.equal(rendezvousCount(probe), 3, 'no answer to a replay of a closed stream');
    assert.equal(liveStreamCount(), before, 'and no stream');
    assert.equal(accepting.accepted.length, 1);
  });

  it('holds nothing for a flood of 10,000 forged requests, answers it within budget, and lets an honest dial through at once', async () => {
    const { clock, accepting, transport } = await setup();
    const before = liveStreamCount();
    // Forty source addresses (every 127/8 address is the loopback), each sending from its own port.
    const sources = await Promise.all(Array.from({ length: 40 }, (_, i) => RendezvousProbe.open(`127.0.0.${i + 2}`)));
    let dialerId = 0x7000_0000;
    for (let round = 0; round < 250; round++) {
      for (const source of sources) source.send(request(dialerId++), accepting.port);
      // Let the listener read as it goes: what is tested is the listener, not loopback's buffers.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answered = () => sources.reduce((sum, source) => sum + source.received.length, 0);
    await until(() => answered() === RENDEZVOUS_ANSWER_LIMITS.totalBurst, 'the total budget spent');
    await settle();
    assert.equal(answered(), RENDEZVOUS_ANSWER_LIMITS.totalBurst, 'no more than the total budget');
    assert.equal(liveStreamCount(), before, 'no stream held for any of them');
    for (const source of sources) {
      assert.ok(source.received.length <= RENDEZVOUS_ANSWER_LIMITS.perGroupBurst, `${source.received.length} to one address`);
      const answers = source.received.map((bytes) => decodeRendezvous(bytes));
      assert.ok(answers.every((answer) => answer?.type === 'accept' && answer.dialerId >= 0x7000_0000), 'accepts, each the size of its request');
    }

    clock.advance(1_000);
    const dialClock = new ManualClock();
    const dialled = await udxDial(transport, accepting.port, dialClock, 5_000);
    assert.equal(dialClock.pending, 0, 'connected on its first request and confirm, repeating nothing');
    const accepted = await accepting.next();
    const echo = readBytes(accepted, 4);
    dialled.write(Buffer.from('ping'));
    assert.equal((await echo).toString(), 'ping');
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
    const answers = probe.received.map((bytes) => decodeRendezvous(bytes)!);
    assert.ok(answers.every((answer) => answer.type === 'accept'));
    const first = new Map(answers.slice(0, 50).map((answer) => [answer.dialerId, answer]));
    for (const repeat of answers.slice(50)) assert.deepEqual(repeat, first.get(repeat.dialerId), 'repeats answered the same');
  });

  it('answers a dialler id anywhere in 32 bits, as a dialler of any build may use', async () => {
    const { accepting, ask } = await setup();
    for (const dialerId of [1, 0xffff_ffff]) {
      const accept = await ask(request(dialerId));
      assert.deepEqual(await ask(confirm(accept)), { ...accept, type: 'confirmed' });
    }
    await until(() => accepting.accepted.length === 2, 'both handed over');
  });

  it('refuses with "full" at maxConnections, counting the streams it holds', async () => {
    const { accepting, probe, ask } = await setup({ maxConnections: 2 });
    const accepts = [await ask(request(1)), await ask(request(2)), await ask(request(3))];
    assert.ok(accepts.every((accept) => accept.type === 'accept'), 'unconfirmed dials take no place');
    assert.equal((await ask(confirm(accepts[0]!))).type, 'confirmed');
    assert.equal((await ask(confirm(accepts[1]!))).type, 'confirmed');
    assert.deepEqual(await ask(request(4)), { type: 'refuse', dialerId: 4, listenerId: 0, cookie: 0, reason: 'full' });
    probe.send(confirm(accepts[2]!), accepting.port);
    await settle();
    assert.equal(rendezvousCount(probe), 6, 'a confirm that came too late for a place is dropped');
    assert.equal(accepting.accepted.length, 2);
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

  it("a listener's punch sends the request again at once, a few times at most", async () => {
    // The dialler's repeats run on a manual clock that never moves: any second request is the punch's.
    const listener = await RendezvousProbe.open();
    const clock = new ManualClock();
    const dial = udxDial(udxTransport(clock), listener.port, clock, 5_000).catch((err: unknown) => err);
    const first = await listener.next();
    assert.equal(first.type, 'request');
    const dialler = listener.sources[listener.received.length - 1]!;
    for (let i = 0; i < PUNCH_REPEATS + 3; i++) {
      listener.send(PUNCH, dialler);
      if (i < PUNCH_REPEATS) assert.deepEqual(await listener.next(), first, `punch ${i + 1}: the same request again`);
    }
    await settle();
    assert.equal(rendezvousCount(listener), 1 + PUNCH_REPEATS, 'no more than PUNCH_REPEATS punches are answered');
    clock.advance(5_000);
    assert.match(String(await dial), /timed out/);
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
