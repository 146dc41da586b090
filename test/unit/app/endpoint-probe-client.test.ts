// A peer's probes of its relay's UDP port on a manual clock and an in-memory datagram network,
// against the relay's own reflector: the endpoint learned through a NAT, the repeats of an
// unanswered round and its deadline, the refresh, answers that do not count, and stopping.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointProbeClient, PROBE_REPEAT_INITIAL_MS } from '../../../src/app/endpoint-probe-client.js';
import { decodeEndpointDatagram, encodeEndpointDatagram } from '../../../src/net/endpoint-probe.js';
import { EndpointReflector } from '../../../src/relay/endpoint-reflector.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { MemoryDatagramNetwork } from '../../helpers/memory-datagrams.js';

const RELAY = { host: '198.51.100.1', port: 5050 };
const PUBLIC = { host: '203.0.113.9', port: 41_206 };
const DEADLINE_MS = 10_000;
const REFRESH_MS = 20_000;

/**
 * A peer at 192.168.1.20:5050 behind a NAT that maps it to PUBLIC, and a relay with its reflector;
 * `lose(n)` says whether the network loses the n-th probe (from 1) or the answer to it.
 */
function probing(lose: (n: number) => boolean = () => false) {
  const clock = new ManualClock();
  const network = new MemoryDatagramNetwork();
  const relaySocket = network.bind(RELAY.host, RELAY.port);
  const reflector = new EndpointReflector(relaySocket, clock);
  const socket = network.bind('192.168.1.20', 5050, PUBLIC);
  const observed: string[] = [];
  const client = new EndpointProbeClient({
    datagrams: socket,
    relayHost: RELAY.host,
    relayPort: RELAY.port,
    clock,
    deadlineMs: DEADLINE_MS,
    refreshMs: REFRESH_MS,
    onObserved: (endpoint) => observed.push(endpoint),
  });
  /** When each probe was sent (ms since the start), and its nonce. */
  const probes: Array<{ at: number; nonce: string }> = [];
  const start = clock.now();
  network.drop = (datagram) => {
    const message = decodeEndpointDatagram(datagram.bytes);
    if (message?.type === 'probe') probes.push({ at: clock.now() - start, nonce: message.nonce.toString('hex') });
    return lose(probes.length);
  };
  return { clock, network, socket, relaySocket, reflector, client, observed, probes };
}

describe('EndpointProbeClient', () => {
  it('learns the endpoint the relay sees through the NAT, from one probe, and reports it once', () => {
    const { client, observed, probes } = probing();
    assert.equal(client.observed, undefined);
    client.start();
    assert.deepEqual(observed, ['203.0.113.9:41206']);
    assert.equal(client.observed, '203.0.113.9:41206');
    assert.equal(probes.length, 1);
  });

  it('probes again every refresh after an answer, with a new nonce, reporting only a change', () => {
    const { clock, socket, client, observed, probes } = probing();
    client.start();
    clock.advance(REFRESH_MS - 1);
    assert.equal(probes.length, 1, 'nothing before the refresh');
    clock.advance(1);
    assert.equal(probes.length, 2);
    assert.notEqual(probes[1]!.nonce, probes[0]!.nonce);
    assert.deepEqual(observed, ['203.0.113.9:41206'], 'the same endpoint is not reported again');
    socket.seenAs = { host: '203.0.113.9', port: 50_000 }; // the NAT gave the socket another mapping
    clock.advance(REFRESH_MS);
    assert.deepEqual(observed, ['203.0.113.9:41206', '203.0.113.9:50000']);
    assert.equal(client.observed, '203.0.113.9:50000');
  });

  it('repeats an unanswered probe with doubling waits until the deadline, then tries again a refresh later', () => {
    const { clock, client, observed, probes } = probing(() => true);
    client.start();
    clock.advance(DEADLINE_MS + REFRESH_MS - 1);
    const first = [0, 1, 3, 7, 15, 31].map((n) => n * PROBE_REPEAT_INITIAL_MS);
    assert.deepEqual(probes.map((p) => p.at), first);
    assert.equal(new Set(probes.map((p) => p.nonce)).size, 1, 'one nonce for the round');
    assert.deepEqual(observed, []);
    assert.equal(client.observed, undefined);
    clock.advance(1);
    assert.equal(probes.length, first.length + 1);
    assert.equal(probes.at(-1)!.at, DEADLINE_MS + REFRESH_MS);
    assert.notEqual(probes.at(-1)!.nonce, probes[0]!.nonce);
  });

  it('stops repeating once a repeat is answered', () => {
    const { clock, client, observed, probes } = probing((n) => n <= 2);
    client.start();
    clock.advance(REFRESH_MS - 1);
    assert.deepEqual(probes.map((p) => p.at), [0, 250, 750]);
    assert.deepEqual(observed, ['203.0.113.9:41206']);
  });

  it('takes only a seen with the round\'s nonce from the relay\'s address and port', () => {
    const { clock, socket, client, observed, probes } = probing(() => true);
    client.start();
    const nonce = Buffer.from(probes[0]!.nonce, 'hex');
    const seen = (n: Buffer, port = 1234) => encodeEndpointDatagram({ type: 'seen', nonce: n, host: '192.0.2.66', port });
    socket.deliver(seen(Buffer.alloc(8, 7)), RELAY); // another nonce
    socket.deliver(seen(nonce), { host: '192.0.2.66', port: RELAY.port }); // not the relay
    socket.deliver(seen(nonce), { host: RELAY.host, port: 5051 }); // the relay's address, another port
    socket.deliver(encodeEndpointDatagram({ type: 'probe', nonce }), RELAY); // not a seen
    socket.deliver(Buffer.from('garbage'), RELAY);
    assert.deepEqual(observed, []);
    clock.advance(DEADLINE_MS);
    socket.deliver(seen(nonce), RELAY); // the round is over
    assert.deepEqual(observed, []);
    clock.advance(REFRESH_MS);
    const fresh = Buffer.from(probes.at(-1)!.nonce, 'hex');
    assert.notDeepEqual(fresh, nonce);
    socket.deliver(seen(fresh, 999), RELAY);
    assert.deepEqual(observed, ['192.0.2.66:999']);
  });

  it('stops: no more probes, no timers, no listener; what it learned stays', () => {
    const { clock, socket, client, probes } = probing();
    client.start();
    client.stop();
    assert.equal(clock.pending, 0);
    assert.equal(socket.listeners, 0);
    clock.advance(10 * REFRESH_MS);
    assert.equal(probes.length, 1);
    assert.equal(client.observed, '203.0.113.9:41206');
  });
});
