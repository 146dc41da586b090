// A dial that binds its own port (the relay's control connection) to a host with several
// addresses, as a DNS name with several records gives: Node's own dial, which would try them in
// turn, binds no port of ours, so dialEach tries them itself: on at once past one that refuses,
// on after its share of the timeout past one that never answers, the last one's error when none
// connects. Real sockets on loopback addresses; the timeouts on a manual clock.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import type { ByteStream } from '../../src/net/byte-stream.js';
import { dialEach, dialTcp } from '../../src/net/tcp-dialer.js';
import { rejectsCode } from '../helpers/assert-code.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { unansweredPort } from '../helpers/unanswered-port.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A listener on `host` (port 0: any), closed after the test; its port. */
async function listenOn(host: string, port = 0): Promise<number> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** A dialled stream, destroyed after the test. */
function kept(stream: ByteStream): ByteStream {
  cleanups.push(() => stream.destroy());
  return stream;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a bound dial to a host of several addresses', { timeout: 20_000 }, () => {
  it('moves on at once past an address that refuses, from a port of its own', async () => {
    const port = await listenOn('127.0.0.1');
    const stream = kept(await dialEach(['127.0.0.2', '127.0.0.1'], port, { timeoutMs: 5_000, clock: SYSTEM_CLOCK, localPort: 0 }, `relay.example:${port}`));
    assert.equal(stream.remoteAddress, `127.0.0.1:${port}`);
    assert.ok((stream.localPort ?? 0) > 0, 'bound');
  });

  it('moves on past an address that never answers once its share of the timeout is over', async () => {
    const hole = await unansweredPort(); // on 127.0.0.1: SYNs dropped
    cleanups.push(() => hole.close());
    await listenOn('127.0.0.2', hole.port);
    const clock = new ManualClock();
    let done = false;
    const dialling = dialEach(['127.0.0.1', '127.0.0.2'], hole.port, { timeoutMs: 2_000, clock, localPort: 0 }).finally(() => (done = true));
    clock.advance(999);
    await settle();
    assert.equal(done, false, 'the first address keeps its half of the time');
    clock.advance(1);
    const stream = kept(await dialling);
    assert.equal(stream.remoteAddress, `127.0.0.2:${hole.port}`);
  });

  it('when no address connects, the last one’s error, naming the host as given', async () => {
    const port = await listenOn('127.0.0.1');
    const error = await rejectsCode(dialEach(['127.0.0.2', '127.0.0.3'], port, { timeoutMs: 5_000, clock: SYSTEM_CLOCK, localPort: 0 }, `relay.example:${port}`), 'ERR_CONNECT_FAILED');
    assert.equal(error.message, `cannot reach relay.example:${port}: connection refused`);
  });

  it('dialTcp resolves a name to its addresses for a bound dial', async () => {
    const port = await listenOn('127.0.0.1');
    const stream = kept(await dialTcp('localhost', port, { timeoutMs: 5_000, clock: SYSTEM_CLOCK, localPort: 0 }));
    assert.equal(stream.remoteAddress, `127.0.0.1:${port}`);
  });
});
