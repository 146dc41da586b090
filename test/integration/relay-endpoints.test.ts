// Observed endpoints over real loopback sockets: the relay answers endpoint probes on UDP at its
// TCP port's number (and serves TCP alone, saying so, when that UDP port is taken), and tells a
// dialler in `session` where it sees its control connection come from; a RelayClient given a UDP
// socket learns both of its endpoints, and against a relay without UDP just does without.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { RelayClient, type RelayClientOptions, type RelayStatus } from '../../src/app/relay-client.js';
import type { ObservedEndpoints } from '../../src/app/observed-endpoints.js';
import { DEFAULTS } from '../../src/defaults.js';
import { P2PChatError } from '../../src/errors.js';
import type { Transport } from '../../src/net/byte-stream.js';
import type { DatagramPort, DatagramSource } from '../../src/net/datagram-port.js';
import { decodeEndpointDatagram, encodeEndpointDatagram, type EndpointDatagram } from '../../src/net/endpoint-probe.js';
import { parseRelayAddress } from '../../src/net/relay-address.js';
import { TcpStream } from '../../src/net/tcp-stream.js';
import { TCP_TRANSPORT } from '../../src/net/tcp-transport.js';
import { bindDatagrams, type UdxDatagrams } from '../../src/net/udx-datagrams.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { cleanupRelayTestnet, newIdentity, registered, startRelay, tcp, until } from '../helpers/relay-testnet.js';

const sockets: UdxDatagrams[] = [];
const clients: RelayClient[] = [];

/**
 * A RelayClient of the relay at 127.0.0.1:`port`, started, with what it reports collected and the
 * sockets of the control connections it opened kept (for their local ports).
 */
function relayClient(port: number, options: Partial<RelayClientOptions> = {}) {
  const controls: Socket[] = [];
  const transport: Transport = {
    ...TCP_TRANSPORT,
    dial: async (_host, toPort) => {
      const socket = await tcp(toPort);
      controls.push(socket);
      return new TcpStream(socket);
    },
  };
  const name = options.port ? 'alice' : 'dialler';
  const client = new RelayClient({ relays: [{ address: parseRelayAddress(`127.0.0.1:${port}`) }], identity: newIdentity(), name: () => name, port: 0, transport, ...options });
  clients.push(client);
  const statuses: RelayStatus[] = [];
  const endpoints: ObservedEndpoints[] = [];
  client.on('status', (status) => statuses.push(status));
  client.on('endpoints', (seen) => endpoints.push(seen));
  client.start();
  /** `host:port` of our end of the control connection. */
  const controlAt = () => `127.0.0.1:${controls.at(-1)?.localPort}`;
  return { client, statuses, endpoints, controlAt };
}

/** A udx socket on 127.0.0.1 (any port unless told), closed after the test; it keeps what it hears. */
async function udpSocket(port = 0) {
  const socket = await bindDatagrams({ host: '127.0.0.1', port, fallbackTries: 0 });
  sockets.push(socket);
  const heard: Array<{ message: EndpointDatagram | undefined; from: DatagramSource }> = [];
  socket.onDatagram((bytes, from) => heard.push({ message: decodeEndpointDatagram(bytes), from }));
  return { socket, heard };
}

/** A relay on a port whose UDP side `blocker` already holds (a TCP port of that number is nearly always free). */
async function relayWithUdpTaken() {
  for (let tries = 1; ; tries++) {
    const blocker = await udpSocket();
    try {
      return { blocker, ...(await startRelay({}, { port: blocker.socket.port })) };
    } catch (err) {
      if (!P2PChatError.is(err, 'ERR_LISTEN_FAILED') || tries === 5) throw err;
    }
  }
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await cleanupRelayTestnet();
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

describe('relay endpoint reflection', () => {
  it('listens on UDP at its TCP port and answers a probe with the source it saw', async () => {
    const { relay, port, events } = await startRelay();
    assert.equal(relay.udpPort, port);
    assert.deepEqual(events.find((e) => e.type === 'started'), { type: 'started', host: '127.0.0.1', port, fingerprint: relay.fingerprint, udp: true });
    const { socket, heard } = await udpSocket();
    const nonce = randomBytes(8);
    const probe = encodeEndpointDatagram({ type: 'probe', nonce });
    socket.send(probe, port, '127.0.0.1');
    const answer = await until(() => heard[0], 'the relay\'s answer');
    assert.deepEqual(answer.message, { type: 'seen', nonce, host: '127.0.0.1', port: socket.port });
    assert.deepEqual(answer.from, { host: '127.0.0.1', port });
  });

  it('serves TCP alone when its UDP port is taken, and says so in one warning', async () => {
    const { relay, port, events, client, blocker } = await relayWithUdpTaken();
    assert.equal(relay.udpPort, undefined);
    assert.deepEqual(events.map((e) => e.type), ['warning', 'started']);
    const warning = events[0];
    assert.equal(warning?.type === 'warning' && warning.code, 'ERR_LISTEN_FAILED');
    assert.match(warning?.type === 'warning' ? warning.message : '', new RegExp(`^no UDP on port ${port} \\(.*in use.*\\): peers cannot learn their public UDP endpoints here; TCP is served as usual$`));
    assert.deepEqual(events[1], { type: 'started', host: '127.0.0.1', port, fingerprint: relay.fingerprint, udp: false });
    assert.match(await registered(await client('alice')), /^127\.0\.0\.1:\d+$/);
    assert.equal(blocker.heard.length, 0);
  });

  it('tells a dialler in `session` the address of its control connection, registered or not', async () => {
    const { client } = await startRelay();
    const alice = await client('alice');
    const aliceAt = await registered(alice);
    const bob = await client('bob');
    await registered(bob);
    const fromAlice = await alice.request({ type: 'dial', fingerprint: bob.fingerprint });
    assert.equal(fromAlice.type === 'session' && fromAlice.observed, aliceAt);
    const carol = await client('carol');
    const fromCarol = await carol.request({ type: 'dial', fingerprint: bob.fingerprint });
    assert.equal(fromCarol.type, 'session');
    assert.match(fromCarol.type === 'session' ? String(fromCarol.observed) : '', /^127\.0\.0\.1:\d+$/);
    assert.notEqual(fromCarol.type === 'session' && fromCarol.observed, aliceAt);
  });
});

describe('RelayClient and its observed endpoints', () => {
  it('a registered client learns where the relay sees its control connection and its UDP socket', async () => {
    const { port } = await startRelay();
    const { socket } = await udpSocket();
    const { client, endpoints, controlAt } = relayClient(port, { port: 5050, datagrams: socket });
    await until(() => client.observedUdp, 'the observed UDP endpoint');
    assert.equal(client.observedUdp, `127.0.0.1:${socket.port}`);
    assert.equal(client.observed, controlAt());
    assert.deepEqual(client.endpoints, { tcp: controlAt(), udp: `127.0.0.1:${socket.port}` });
    assert.deepEqual(endpoints, [{ tcp: controlAt() }, { tcp: controlAt(), udp: `127.0.0.1:${socket.port}` }]);
  });

  it('a client that only dials learns its UDP endpoint once connected, and its TCP one from `session`', async () => {
    const { port, client: controlClient } = await startRelay();
    const bob = await controlClient('bob');
    await registered(bob);
    const { socket } = await udpSocket();
    const { client, statuses, endpoints, controlAt } = relayClient(port, { datagrams: socket });
    await client.whenRegistered(5_000);
    assert.deepEqual(statuses, [{ state: 'ready', relay: `127.0.0.1:${port}` }]);
    await until(() => client.observedUdp, 'the observed UDP endpoint');
    assert.equal(client.observed, undefined, 'not registered: not told yet');
    await client.dial(bob.fingerprint);
    assert.equal(client.observed, controlAt());
    assert.deepEqual(endpoints, [{ udp: `127.0.0.1:${socket.port}` }, { tcp: controlAt(), udp: `127.0.0.1:${socket.port}` }]);
  });

  it('forgets both when the control connection drops', async () => {
    const { relay, port } = await startRelay();
    const { socket } = await udpSocket();
    const { client, endpoints } = relayClient(port, { port: 5050, datagrams: socket });
    await until(() => client.observedUdp, 'the observed UDP endpoint');
    await relay.stop();
    await until(() => endpoints.length === 3, 'the endpoints forgotten');
    assert.deepEqual(endpoints.at(-1), {});
    assert.deepEqual([client.observed, client.observedUdp], [undefined, undefined]);
  });

  it('against a relay without UDP: probes with backoff until the deadline, then at the refresh, and never fails', async () => {
    const { port, blocker } = await relayWithUdpTaken();
    const clock = new ManualClock();
    // The probes' waits run on the manual clock; the keepalive must not fire while it jumps ahead.
    const timing = { keepaliveIntervalMs: 3_600_000, keepaliveTimeoutMs: 7_200_000 };
    const { socket } = await udpSocket();
    let sent = 0;
    const counting: DatagramPort = {
      port: socket.port,
      onDatagram: (listener) => socket.onDatagram(listener),
      send: (bytes, toPort, host) => {
        sent++;
        socket.send(bytes, toPort, host);
      },
    };
    const { client, statuses, endpoints, controlAt } = relayClient(port, { port: 5050, datagrams: counting, clock, timing });
    await until(() => sent === 1, 'the first probe');
    assert.equal(statuses[0]?.state, 'registered');
    const round = [0, 1, 3, 7, 15, 31].map((n) => n * 250).filter((at) => at < DEFAULTS.connectTimeoutMs);
    clock.advance(DEFAULTS.connectTimeoutMs);
    assert.equal(sent, round.length, 'the first round, repeats and all');
    clock.advance(DEFAULTS.endpointRefreshMs - 1);
    assert.equal(sent, round.length, 'none until the refresh');
    clock.advance(1);
    assert.equal(sent, round.length + 1, 'the next round');
    const probes = () => blocker.heard.filter((h) => h.message?.type === 'probe').length;
    await until(() => probes() === sent, 'every probe at the relay\'s UDP port');
    assert.equal(client.observedUdp, undefined);
    assert.deepEqual(statuses.map((s) => s.state), ['registered']);
    assert.deepEqual(endpoints, [{ tcp: controlAt() }]);
  });
});
