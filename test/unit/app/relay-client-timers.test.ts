// RelayClient's timers on a manual clock, against a relay address that refuses (a closed port on
// 127.0.0.1): each retry waits for the clock to pass the wait the `disconnected` status announced,
// whatever real time does, and the waits' windows double up to relayBackoffMaxMs; whenRegistered()
// gives up at exactly its timeout; and a relay that fails its pinned key is never tried again.
// Given a list, the client tries the next relay at once and waits only when all have failed.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayClient, type RelayStatus } from '../../../src/app/relay-client.js';
import { DEFAULTS } from '../../../src/defaults.js';
import { P2PChatError } from '../../../src/errors.js';
import type { ByteStream, Transport } from '../../../src/net/byte-stream.js';
import { parseRelayAddress } from '../../../src/net/relay-address.js';
import { TCP_TRANSPORT } from '../../../src/net/tcp-transport.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { cleanupRelayTestnet, newIdentity, startRelay, until } from '../../helpers/relay-testnet.js';

const BACKOFF = { relayBackoffInitialMs: 4, relayBackoffMaxMs: 32 };

/** Let I/O callbacks and promises run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A port on 127.0.0.1 that was just bound and closed: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A port on 127.0.0.1 whose listener resets every connection at once; closed after the test. */
async function resettingPort(): Promise<number> {
  const server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}
const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve())))));

/** TCP, with every dial the client makes recorded (the port it went to, and the time it was given). */
function recordingTcp(): { transport: Transport; dials: Promise<ByteStream>[]; ports: number[]; timeouts: number[] } {
  const dials: Promise<ByteStream>[] = [];
  const ports: number[] = [];
  const timeouts: number[] = [];
  const transport: Transport = {
    ...TCP_TRANSPORT,
    dial: (host, port, options) => {
      const dial = TCP_TRANSPORT.dial(host, port, options);
      dials.push(dial);
      ports.push(port);
      timeouts.push(options.timeoutMs ?? -1);
      dial.catch(() => undefined);
      return dial;
    },
  };
  return { transport, dials, ports, timeouts };
}

afterEach(cleanupRelayTestnet);

/** A client of the relay at `port` on 127.0.0.1 (pinned to `pin` if given) that counts its dials. */
function relayClient(clock: ManualClock, port: number, pin?: string) {
  const { client, relays, dials, close } = relayListClient(clock, [{ port, ...(pin ? { pin } : {}) }]);
  return { client, relay: relays[0]!, dials, close };
}

/** A client of the relays at these ports on 127.0.0.1, in order (each pinned if given), that records the ports it dials. */
function relayListClient(clock: ManualClock, list: ReadonlyArray<{ port: number; pin?: string }>, port = 0) {
  const relays = list.map((r) => parseRelayAddress(`127.0.0.1:${r.port}`));
  const { transport, dials, ports, timeouts } = recordingTcp();
  const entries = relays.map((address, i) => ({ address, ...(list[i]!.pin ? { pin: list[i]!.pin } : {}) }));
  const client = new RelayClient({ relays: entries, identity: newIdentity(), name: () => 'alice', port, timing: BACKOFF, clock, transport });
  const close = async () => {
    await client.close();
    await Promise.allSettled(dials);
  };
  return { client, relays, dials, ports, timeouts, close };
}

function nextStatus(client: RelayClient): Promise<RelayStatus> {
  return (once(client, 'status') as Promise<[RelayStatus]>).then(([status]) => status);
}

describe('RelayClient timers on a manual clock', () => {
  it('retries only when the clock has passed the announced wait, the windows doubling up to the maximum', async () => {
    const clock = new ManualClock();
    const { client, relay, dials, close } = relayClient(clock, await closedPort());
    try {
      let status = nextStatus(client);
      client.start();
      for (let attempt = 1; attempt <= 6; attempt++) {
        const reported = await status;
        assert.equal(reported.state, 'disconnected');
        if (reported.state !== 'disconnected') return;
        assert.equal(reported.error.code, 'ERR_RELAY_UNREACHABLE');
        assert.match(reported.error.message, new RegExp(`cannot reach relay ${relay.label}: connection refused`));
        const window = Math.min(BACKOFF.relayBackoffInitialMs * 2 ** (attempt - 1), BACKOFF.relayBackoffMaxMs);
        const wait = reported.retryInMs;
        assert.ok(wait >= window / 2 && wait <= window, `attempt ${attempt}: waits ${wait} ms, from a window of ${window} ms`);
        assert.equal(dials.length, attempt);
        if (attempt === 1) {
          await sleep(25 * window);
          assert.equal(dials.length, 1, 'real time passing does not bring the retry');
        }
        clock.advance(wait - 1);
        await settle();
        assert.equal(dials.length, attempt, 'no retry a millisecond before the wait is over');
        status = nextStatus(client);
        clock.advance(1);
        assert.equal(dials.length, attempt + 1, 'exactly one retry when it is');
      }
      await status;
    } finally {
      await close();
    }
  });

  it('whenRegistered() rejects at exactly its timeout on the clock, retries going on meanwhile', async () => {
    const clock = new ManualClock();
    const { client, relay, close } = relayClient(clock, await closedPort());
    try {
      const refused = nextStatus(client);
      client.start();
      let outcome: unknown = 'pending';
      // Read through a call, so TypeScript does not keep the first assertion's narrowing.
      const settled = (): unknown => outcome;
      client.whenRegistered(5_000).then(
        () => (outcome = 'registered'),
        (err: unknown) => (outcome = err),
      );
      await refused;
      clock.advance(5_000 - 1);
      await settle();
      assert.equal(settled(), 'pending');
      clock.advance(1);
      await settle();
      const error = settled();
      assert.ok(error instanceof P2PChatError, `rejected: ${String(error)}`);
      assert.equal(error.code, 'ERR_RELAY_UNREACHABLE');
      assert.equal(error.message, `cannot register with relay ${relay.label} within 5 s`);
    } finally {
      await close();
    }
  });

  it('never tries again a relay that failed its pinned key, however far the clock goes', async () => {
    const clock = new ManualClock();
    const { port, relay: server } = await startRelay();
    const wrongPin = newIdentity().fingerprint;
    const { client, relay, dials, close } = relayClient(clock, port, wrongPin);
    try {
      const statuses: RelayStatus[] = [];
      client.on('status', (status) => statuses.push(status));
      const stopped = nextStatus(client);
      client.start();
      const status = await stopped;
      assert.equal(status.state, 'stopped');
      assert.equal(status.state === 'stopped' && status.error.code, 'ERR_PEER_KEY_MISMATCH');
      assert.match(status.state === 'stopped' ? status.error.message : '', new RegExp(`^relay ${relay.label} presented key ${server.fingerprint}, expected ${wrongPin}`));
      for (let i = 0; i < 10; i++) {
        clock.advance(BACKOFF.relayBackoffMaxMs);
        await settle();
      }
      assert.equal(dials.length, 1, 'no retry');
      assert.equal(statuses.length, 1, 'said once');
    } finally {
      await close();
    }
  });

  it('given a list, the next relay at once after a failure, and the backoff only once the whole list has failed', async () => {
    const clock = new ManualClock();
    // Ports held by listeners that reset each connection (a closed port could be taken meanwhile
    // by another process): the handshake fails on each relay.
    const [first, second] = [await resettingPort(), await resettingPort()];
    const { client, relays, ports, timeouts, close } = relayListClient(clock, [{ port: first }, { port: second }]);
    try {
      const statuses: RelayStatus[] = [];
      client.on('status', (status) => statuses.push(status));
      client.start();
      await until(() => statuses.length === 2, 'both relays to be tried');
      const [moved, waiting] = statuses;
      assert.ok(moved?.state === 'disconnected' && waiting?.state === 'disconnected');
      assert.deepEqual([moved.relay, moved.next, moved.retryInMs], [relays[0]!.label, relays[1]!.label, 0]);
      // Reset as the dial completes, or just after: either way this relay cannot be had.
      for (const { error } of [moved, waiting]) assert.ok(['ERR_RELAY_UNREACHABLE', 'ERR_CONNECTION_LOST', 'ERR_HANDSHAKE_FAILED'].includes(error.code), error.message);
      assert.deepEqual([waiting.relay, waiting.next], [relays[1]!.label, undefined], 'the pass is over: no next');
      assert.ok(waiting.retryInMs >= BACKOFF.relayBackoffInitialMs / 2, `then a backoff (${waiting.retryInMs} ms)`);
      assert.deepEqual(ports, [first, second], 'in the order given, the second without waiting for the clock');
      // A host that is down drops the dial without a word: the first of a list is passed over
      // after relayFailoverMs, and only the last is given the whole connect timeout.
      assert.deepEqual(timeouts, [DEFAULTS.relayFailoverMs, DEFAULTS.connectTimeoutMs]);

      clock.advance(waiting.retryInMs - 1);
      await settle();
      assert.equal(ports.length, 2, 'nothing before the backoff is over');
      clock.advance(1);
      await until(() => statuses.length === 4, 'the second pass');
      assert.deepEqual(ports, [first, second, first, second], 'the next pass starts from the first again');
      const again = statuses[3]!;
      assert.ok(again.state === 'disconnected' && again.retryInMs >= BACKOFF.relayBackoffInitialMs, 'its backoff window doubled');
    } finally {
      await close();
    }
  });

  it('given a list, a relay that fails its pinned key leaves it; the client goes on with the others and never tries it again', async () => {
    const clock = new ManualClock();
    const wrong = await startRelay();
    const right = await startRelay();
    const wrongPin = newIdentity().fingerprint;
    const { client, relays, ports, close } = relayListClient(clock, [{ port: wrong.port, pin: wrongPin }, { port: right.port, pin: right.relay.fingerprint }], 5050);
    try {
      const statuses: RelayStatus[] = [];
      client.on('status', (status) => statuses.push(status));
      client.start();
      await until(() => statuses.find((s) => s.state === 'registered'), 'registered on the second relay');
      const [mismatch, registered] = statuses;
      assert.ok(mismatch?.state === 'disconnected');
      assert.deepEqual([mismatch.relay, mismatch.next, mismatch.retryInMs, mismatch.error.code], [relays[0]!.label, relays[1]!.label, 0, 'ERR_PEER_KEY_MISMATCH']);
      assert.match(mismatch.error.message, new RegExp(`^relay ${relays[0]!.label} presented key ${wrong.relay.fingerprint}, expected ${wrongPin}; not using it$`));
      assert.deepEqual([registered?.state, registered?.relay, client.label], ['registered', relays[1]!.label, relays[1]!.label]);

      // The relay in use goes away: the next pass has only it left, after the backoff.
      await right.relay.stop();
      const lost = await until(() => statuses.slice(2).find((s) => s.state === 'going-away'), 'the relay to go away');
      assert.ok(lost.state === 'going-away' && lost.next === undefined && lost.retryInMs > 0);
      clock.advance(lost.retryInMs);
      await until(() => statuses.length === 4, 'the next try');
      assert.deepEqual(ports, [wrong.port, right.port, right.port], 'the mispinned relay is not tried again');
    } finally {
      await close();
    }
  });
});
