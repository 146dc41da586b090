// Bound TCP dials and openSimultaneous over loopback: a dial may leave from a port another live
// connection is bound to, tries refused for want of the other end are made again until it is
// there, and the deadline ends it in one line. The crossing SYNs themselves need latency between
// the peers, which loopback has not (a SYN is answered within the connect call that sent it);
// test/netlab/punch-primitives.test.ts opens connections that way through two NAT routers.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import type { ByteStream } from '../../src/net/byte-stream.js';
import { dialTcp } from '../../src/net/tcp-dialer.js';
import { openSimultaneous, SIMULTANEOUS_RETRY } from '../../src/net/tcp-simultaneous.js';
import { rejectsCode } from '../helpers/assert-code.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/relay-testnet.js';

const servers: Server[] = [];
const sockets: Array<Socket | ByteStream> = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A server on 127.0.0.1 (port 0 unless told) that keeps the sockets it accepts. */
async function serve(port = 0): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    accepted.push(socket);
  });
  servers.push(server);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, accepted };
}

async function dial(port: number, localPort?: number): Promise<ByteStream> {
  const stream = await dialTcp('127.0.0.1', port, { timeoutMs: 5_000, clock: SYSTEM_CLOCK, localPort });
  sockets.push(stream);
  return stream;
}

/** A stand-in relay and one connection to it from an explicitly bound port: [connection, port]. */
async function relayConnection(relay: { port: number }): Promise<[ByteStream, number]> {
  const connection = await dial(relay.port, 0);
  assert.ok(connection.localPort !== undefined && connection.localPort > 0);
  return [connection, connection.localPort];
}

describe('bound TCP dials and simultaneous open', { timeout: 30_000 }, () => {
  it('a bound dial reports its port, and a second dial may leave from it while the first lives', async () => {
    const relay = await serve();
    const other = await serve();
    const [first, port] = await relayConnection(relay);
    await until(() => relay.accepted[0], 'the relay accepted');
    assert.equal(relay.accepted[0]!.remotePort, port);

    const second = await dial(other.port, port);
    assert.equal(second.localPort, port, 'the same port, with the first connection still up');
    await until(() => other.accepted[0], 'the other accepted');
    assert.equal(other.accepted[0]!.remotePort, port);
    const read = once(relay.accepted[0]!, 'data');
    first.write(Buffer.from('still here'));
    assert.equal(String((await read)[0]), 'still here');
    assert.ok((await dial(other.port)).localPort! > 0, 'an unbound dial reports its port too');
  });

  it('makes a refused try again until the other end is there, from the port the relay connection holds', async () => {
    const relay = await serve();
    const [, ourPort] = await relayConnection(relay);
    const [, theirPort] = await relayConnection(relay);
    const clock = new ManualClock();
    const refusals: string[] = [];
    const opening = openSimultaneous('127.0.0.1', theirPort, ourPort, {
      timeoutMs: 5_000,
      clock,
      onRetry: (error, tries) => refusals.push(`${tries}: ${error.message}`),
    });
    await until(() => refusals.length === 1, 'the first try refused');
    assert.deepEqual(refusals, [`1: cannot reach 127.0.0.1:${theirPort}: connection refused`]);
    // The other side's port answers from now on (a listener may share it with its relay connection).
    const them = await serve(theirPort);
    clock.advance(SIMULTANEOUS_RETRY.firstMs);
    const stream = await opening;
    sockets.push(stream);
    assert.equal(stream.localPort, ourPort);
    assert.equal(stream.remoteAddress, `127.0.0.1:${theirPort}`);
    await until(() => them.accepted[0], 'accepted');
    assert.equal(them.accepted[0]!.remotePort, ourPort);
  });

  it('gives up at the deadline in one line that counts the tries', async () => {
    const relay = await serve();
    const [, ourPort] = await relayConnection(relay);
    const [, theirPort] = await relayConnection(relay);
    const clock = new ManualClock();
    let retries = 0;
    let settled = false;
    const opening = openSimultaneous('127.0.0.1', theirPort, ourPort, { timeoutMs: 1_000, clock, onRetry: () => retries++ });
    void opening.catch(() => undefined).finally(() => (settled = true));
    for (let seen = 0; ; seen++) {
      await until(() => settled || retries > seen, 'a retry or the end');
      if (settled) break;
      clock.advance(clock.nextDueIn()!);
    }
    // Retries wait 50, 100, 200 and 400 ms: the fifth try ends at 750 ms, and a sixth would start past 1 s.
    const error = await rejectsCode(opening, 'ERR_CONNECT_FAILED');
    assert.equal(error.message, `cannot reach 127.0.0.1:${theirPort} from port ${ourPort}: connection refused (5 tries in 1 s)`);
    assert.equal(retries, 4);
  });

  it('fails at once on an error no retry can mend', async () => {
    const relay = await serve();
    const [, ourPort] = await relayConnection(relay);
    const clock = new ManualClock();
    // The kernel refuses a TCP connect to a multicast address before sending anything.
    const error = await rejectsCode(openSimultaneous('224.0.0.1', 9, ourPort, { timeoutMs: 5_000, clock }), 'ERR_CONNECT_FAILED');
    assert.equal(error.message, `cannot reach 224.0.0.1:9 from port ${ourPort}: network unreachable (1 try in 5 s)`);
  });
});
