// Punch sockets over real UDP on 127.0.0.1: a listener's socket dials out while its responder
// answers dials in, punch datagrams go out as the protocol says and nobody answers them, and a
// dial-only socket (openPunchSocket) outlives its dials and waits for its streams to close.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import type { ByteStream } from '../../src/net/byte-stream.js';
import type { PunchSocket } from '../../src/net/datagram-port.js';
import { PUNCH } from '../../src/net/udx-rendezvous.js';
import { openPunchSocket } from '../../src/net/udx-punch-socket.js';
import { udxTransport } from '../../src/net/udx-transport.js';
import { rejectsCode } from '../helpers/assert-code.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { closeUdpProbes, RendezvousProbe } from '../helpers/udp-probe.js';
import { closeUdx, readBytes, udxDial, udxDialFrom, udxListen, type UdxAccepting } from '../helpers/udx-loopback.js';

const udx = udxTransport(SYSTEM_CLOCK);
const opened: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await closeUdx();
  await Promise.all(opened.splice(0).map((socket) => socket.close()));
  await closeUdpProbes();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

function datagramsOf(accepting: UdxAccepting): PunchSocket {
  const datagrams = accepting.listener.datagrams;
  assert.ok(datagrams, 'a udp listener exposes its socket');
  return datagrams;
}

/** `from` writes `text` and `to` reads exactly it. */
async function carries(from: ByteStream, to: ByteStream, text: string): Promise<void> {
  const read = readBytes(to, text.length);
  from.write(Buffer.from(text));
  assert.equal((await read).toString(), text);
}

describe('udx punch sockets', { timeout: 30_000 }, () => {
  it("a listener's socket dials another listener: the stream leaves from the listening port, and the socket outlives it", async () => {
    const a = await udxListen(udx);
    const b = await udxListen(udx);
    assert.equal(datagramsOf(a).port, a.port);
    const dialled = await udxDialFrom(datagramsOf(a), b.port);
    const accepted = await b.next();
    assert.equal(dialled.localPort, a.port);
    assert.equal(dialled.remoteAddress, `127.0.0.1:${b.port}`);
    assert.equal(accepted.remoteAddress, `127.0.0.1:${a.port}`, 'b sees the dial come from a\'s listening port');
    assert.equal(accepted.localPort, b.port);
    await carries(dialled, accepted, 'from a');
    await carries(accepted, dialled, 'from b');

    const closed = new Promise((resolve) => dialled.once('close', resolve));
    dialled.destroy();
    await closed;
    const [inbound, atA] = await Promise.all([udxDial(udx, a.port), a.next()]);
    await carries(inbound, atA, 'a still listens');
    const again = await udxDialFrom(datagramsOf(a), b.port);
    await carries(again, await b.next(), 'and dials again');
  });

  it('sends punches as the protocol says, and a responder answers them with nothing', async () => {
    const a = await udxListen(udx);
    const b = await udxListen(udx);
    const probe = await RendezvousProbe.open();
    datagramsOf(a).punch('127.0.0.1', probe.port);
    assert.deepEqual(await probe.next(), PUNCH);
    assert.equal(probe.received[0]!.toString('hex'), '5032505501060000' + '00'.repeat(12));

    for (let i = 0; i < 5; i++) probe.send(PUNCH, b.port);
    datagramsOf(a).punch('127.0.0.1', b.port);
    await settle();
    assert.equal(probe.received.length, 1, 'no answer to a punch');
    assert.equal(b.accepted.length, 0, 'no stream from a punch');
    const [dialled, accepted] = await Promise.all([udxDial(udx, b.port), b.next()]);
    await carries(dialled, accepted, 'dials go on as before');
  });

  it('a punch arriving at a dialling socket leaves the dial alone', async () => {
    const a = await udxListen(udx);
    const b = await udxListen(udx);
    const probe = await RendezvousProbe.open();
    const dialling = udxDialFrom(datagramsOf(a), b.port);
    for (let i = 0; i < 5; i++) probe.send(PUNCH, a.port);
    const dialled = await dialling;
    await carries(dialled, await b.next(), 'through');
    assert.equal(a.accepted.length, 0);
  });

  it("dials out of a listener's socket and dials into it, all at once", async () => {
    const a = await udxListen(udx);
    const b = await udxListen(udx);
    const [aToB, bToA, intoA, intoB] = await Promise.all([
      udxDialFrom(datagramsOf(a), b.port),
      udxDialFrom(datagramsOf(b), a.port),
      udxDial(udx, a.port),
      udxDial(udx, b.port),
    ]);
    await settle();
    assert.equal(a.accepted.length, 2);
    assert.equal(b.accepted.length, 2);
    const acceptedFrom = (accepting: UdxAccepting, port: number) => {
      const found = accepting.accepted.find((stream) => stream.remoteAddress === `127.0.0.1:${port}`);
      assert.ok(found, `accepted a stream from port ${port}`);
      return found;
    };
    await carries(aToB, acceptedFrom(b, a.port), 'a dialled b');
    await carries(bToA, acceptedFrom(a, b.port), 'b dialled a');
    await carries(intoA, acceptedFrom(a, intoA.localPort!), 'into a');
    await carries(intoB, acceptedFrom(b, intoB.localPort!), 'into b');
    await carries(acceptedFrom(a, b.port), bToA, 'a answers b');
  });

  it('a failed dial from a shared socket leaves the socket working', async () => {
    const a = await udxListen(udx);
    const silent = await RendezvousProbe.open();
    const clock = new ManualClock();
    const dialling = udxDialFrom(datagramsOf(a), silent.port, clock, 3_000);
    await silent.next();
    clock.advance(3_000);
    const error = await rejectsCode(dialling, 'ERR_CONNECT_FAILED');
    assert.equal(error.message, `cannot reach 127.0.0.1:${silent.port}: timed out after 3 s`);
    const [inbound, atA] = await Promise.all([udxDial(udx, a.port), a.next()]);
    await carries(inbound, atA, 'a still listens');
  });

  it('a dial-only punch socket: its streams report its port, and close() waits for them', async () => {
    const socket = await openPunchSocket('127.0.0.1');
    opened.push(socket);
    assert.ok(socket.port > 0);
    const b = await udxListen(udx);
    const dialled = await udxDialFrom(socket, b.port);
    const accepted = await b.next();
    assert.equal(dialled.localPort, socket.port);
    assert.equal(accepted.remoteAddress, `127.0.0.1:${socket.port}`);

    let closed = false;
    const closing = socket.close().then(() => (closed = true));
    await settle();
    assert.equal(closed, false, 'the socket waits for the stream dialled from it');
    await carries(accepted, dialled, 'still open');
    const late = await rejectsCode(socket.dial('127.0.0.1', b.port, { timeoutMs: 5_000, clock: SYSTEM_CLOCK }), 'ERR_CONNECT_FAILED');
    assert.equal(late.message, `cannot reach 127.0.0.1:${b.port}: the socket was closed`);
    dialled.destroy();
    await closing;
    assert.equal(closed, true);
  });
});
