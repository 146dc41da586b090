// Observed endpoints over real loopback sockets: the relay answers endpoint probes on UDP at its
// TCP port's number (and serves TCP alone, saying so, when that UDP port is taken), and tells a
// dialler in `session` where it sees its control connection come from.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { P2PChatError } from '../../src/errors.js';
import type { DatagramSource } from '../../src/net/datagram-port.js';
import { decodeEndpointDatagram, encodeEndpointDatagram, type EndpointDatagram } from '../../src/net/endpoint-probe.js';
import { bindDatagrams, type UdxDatagrams } from '../../src/net/udx-datagrams.js';
import { cleanupRelayTestnet, registered, startRelay, until } from '../helpers/relay-testnet.js';

const sockets: UdxDatagrams[] = [];

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
