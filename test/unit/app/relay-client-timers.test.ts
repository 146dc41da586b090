// RelayClient's timers on a manual clock, against a relay address that refuses (a closed port on
// 127.0.0.1): each retry waits for the clock to pass the wait the `disconnected` status announced,
// whatever real time does, and the waits' windows double up to relayBackoffMaxMs; whenRegistered()
// gives up at exactly its timeout; and a relay that fails its pinned key is never tried again.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayClient, type RelayStatus } from '../../../src/app/relay-client.js';
import { P2PChatError } from '../../../src/errors.js';
import type { ByteStream, Transport } from '../../../src/net/byte-stream.js';
import { parseRelayAddress } from '../../../src/net/relay-address.js';
import { TCP_TRANSPORT } from '../../../src/net/tcp-transport.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { cleanupRelayTestnet, newIdentity, startRelay } from '../../helpers/relay-testnet.js';

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

/** TCP, with every dial the client makes recorded. */
function recordingTcp(): { transport: Transport; dials: Promise<ByteStream>[] } {
  const dials: Promise<ByteStream>[] = [];
  const transport: Transport = {
    ...TCP_TRANSPORT,
    dial: (host, port, options) => {
      const dial = TCP_TRANSPORT.dial(host, port, options);
      dials.push(dial);
      dial.catch(() => undefined);
      return dial;
    },
  };
  return { transport, dials };
}

afterEach(cleanupRelayTestnet);

/** A client of the relay at `port` on 127.0.0.1 (pinned to `pin` if given) that counts its dials. */
function relayClient(clock: ManualClock, port: number, pin?: string) {
  const relay = parseRelayAddress(`127.0.0.1:${port}`);
  const { transport, dials } = recordingTcp();
  const client = new RelayClient({ relay, ...(pin ? { pin } : {}), identity: newIdentity(), name: () => 'alice', port: 0, timing: BACKOFF, clock, transport });
  const close = async () => {
    await client.close();
    await Promise.allSettled(dials);
  };
  return { client, relay, dials, close };
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
});
