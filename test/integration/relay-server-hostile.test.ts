// The relay under bad input and at its limits: strangers, silent and half-finished handshakes,
// frames and messages that do not decode, used and unknown tokens each close only their own
// connection while the relay keeps serving; "relay full" is said in words; stop() says goodbye.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { RELAY_SHUTDOWN_REASON } from '../../src/relay/relay-defaults.js';
import { FEATURES, PROTOCOL_VERSION } from '../../src/secure/handshake-payload.js';
import { SecureChannel } from '../../src/secure/secure-channel.js';
import { decodeMessage, type SessionMessage } from '../../src/session/session-messages.js';
import { PREAMBLE } from '../../src/wire/preamble.js';
import {
  cleanupRelayTestnet,
  dataConnection,
  newIdentity,
  registered,
  relayedChat,
  startRelay,
  tcp,
  until,
} from '../helpers/relay-testnet.js';

afterEach(cleanupRelayTestnet);

/**
 * A client that completes the Noise handshake with the relay but then writes whatever it likes:
 * `sendRaw` seals arbitrary plaintext (not a well-formed message), `socket` takes raw bytes.
 */
async function rawSecureClient(port: number, relayFingerprint: string) {
  const socket = await tcp(port);
  const identity = newIdentity();
  const channel = new SecureChannel({
    initiator: true,
    staticKeyPair: identity.keyPair,
    localInfo: { name: 'raw', version: PROTOCOL_VERSION, features: FEATURES },
    expectedFingerprint: relayFingerprint,
  });
  const received: SessionMessage[] = [];
  let established = false;
  socket.on('data', (chunk: Buffer) => {
    const out = channel.receive(chunk);
    for (const bytes of out.send) socket.write(bytes);
    for (const e of out.events) {
      if (e.type === 'established') established = true;
      else received.push(decodeMessage(e.data));
    }
  });
  socket.write(channel.start());
  await until(() => established, 'the raw client handshake');
  const sendRaw = (plaintext: Buffer) => socket.write(channel.seal(plaintext));
  return { socket, received, sendRaw };
}

/** The socket closes (bounded wait). */
const closedSoon = (socket: Socket) => until(() => socket.closed, `socket ${socket.localPort} to close`);

describe('relay server under bad input', { timeout: 60_000 }, () => {
  it('closes only the offending connection and keeps serving', async () => {
    const { port, relay, event, client, events } = await startRelay({ handshakeTimeoutMs: 400 });
    const [alice, bob] = await Promise.all([client('alice'), client('bob')]);
    await Promise.all([registered(alice), registered(bob)]);

    const http = await tcp(port);
    http.write('GET / HTTP/1.1\r\nHost: relay\r\n\r\n');
    await closedSoon(http);
    assert.match((await event('rejected', (e) => e.code === 'ERR_NOT_P2P_CHAT')).message, /an HTTP request/);

    const silent = await tcp(port);
    const halfway = await tcp(port);
    halfway.write(PREAMBLE); // and never a handshake message
    halfway.resume(); // read the relay's preamble, or its close would wait behind it
    await Promise.all([closedSoon(silent), closedSoon(halfway)]);
    await until(() => events.filter((e) => e.type === 'rejected' && e.code === 'ERR_HANDSHAKE_TIMEOUT').length === 2, 'two timeouts');

    // After a good handshake: a maximal frame of garbage, a body that is not JSON, a bad field.
    const garbage = await rawSecureClient(port, relay.fingerprint);
    garbage.socket.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(65_535, 0x41)]));
    const notJson = await rawSecureClient(port, relay.fingerprint);
    notJson.sendRaw(Buffer.concat([Buffer.from([0x20]), Buffer.from('{not json')]));
    const badField = await rawSecureClient(port, relay.fingerprint);
    badField.sendRaw(Buffer.concat([Buffer.from([0x20]), Buffer.from('{"rid":1,"name":"x","port":"five"}')]));
    await Promise.all([closedSoon(garbage.socket), closedSoon(notJson.socket), closedSoon(badField.socket)]);
    // Each is logged as rejected, with what was wrong: the forged frame too, though it came after
    // the handshake (a session that simply ends without registering is not logged).
    const rejected = (code: string) => events.filter((e) => e.type === 'rejected' && e.code === code).length;
    await until(() => rejected('ERR_DECRYPT_FAILED') === 1 && rejected('ERR_BAD_MESSAGE') === 2, 'the three logged as rejected');

    // Unknown fields are only ignored.
    const extra = await rawSecureClient(port, relay.fingerprint);
    extra.sendRaw(Buffer.concat([Buffer.from([0x20]), Buffer.from('{"rid":7,"name":"eve","port":0,"addresses":[],"admin":true}')]));
    await until(() => extra.received.find((m) => m.type === 'registered' && m.rid === 7), 'registered #7');

    // A token works once; an unknown one not at all.
    const { session } = await relayedChat(port, alice, bob);
    const reused = await dataConnection(port, session.token);
    const unknown = await dataConnection(port, 'ab'.repeat(32));
    await Promise.all([closedSoon(reused), closedSoon(unknown)]);
    await until(() => events.filter((e) => e.type === 'rejected' && e.code === 'ERR_BAD_TOKEN').length === 2, 'two bad tokens');

    assert.equal(alice.outcome, undefined, 'alice is still connected');
    const fresh = await client('fresh');
    await registered(fresh);
    const again = await relayedChat(port, fresh, alice);
    again.peerA.connection.send({ type: 'chat', id: 'x', time: Date.now(), text: 'still serving' });
    await again.peerB.waitFor('chat', (m) => m.text === 'still serving');
  });

  it('gives the first bytes and the handshake after them one deadline, not one each', async () => {
    // The relay's clock is moved, not waited on: 59.9 of the 60 s pass while the preamble trickles.
    let offset = 0;
    const { port, relay, event } = await startRelay({ handshakeTimeoutMs: 60_000 }, { clock: { ...SYSTEM_CLOCK, now: () => Date.now() + offset } });
    const slow = await tcp(port);
    slow.resume();
    slow.write(PREAMBLE.subarray(0, 3));
    await until(() => relay.connectionCount === 1, 'the relay to accept');
    offset += 59_900;
    slow.write(PREAMBLE.subarray(3)); // a control connection, and never a handshake message
    const timeout = await event('rejected', (e) => e.code === 'ERR_HANDSHAKE_TIMEOUT');
    assert.match(timeout.message, /handshake with .* did not finish in time/);
    await closedSoon(slow);
  });

  it('says "relay full" in words when maxPeers is reached, and admits again when one leaves', async () => {
    const { client, event } = await startRelay({ maxPeers: 1 });
    const first = await client('first');
    await registered(first);
    const second = await client('second');
    const error = await second.waitFor('relay-error');
    assert.deepEqual([error.rid, error.code], [0, 'ERR_RELAY_FULL']);
    assert.match(error.message, /relay is full \(1 peers connected\)/);
    const outcome = await second.closed;
    assert.ok(outcome.kind === 'left' && /relay is full/.test(outcome.reason), JSON.stringify(outcome));
    await event('rejected', (e) => e.code === 'ERR_RELAY_FULL');
    assert.equal((await first.request({ type: 'lookup', query: 'first' })).type, 'lookup-result');

    await first.connection.close('bye');
    await event('unregistered', (e) => e.name === 'first');
    const third = await client('third');
    await registered(third);
  });

  it('says "relay full" near the open-file limit and past the per-address cap', async () => {
    const nearFdLimit = await startRelay({ fdHeadroom: 10 }, { fdLimit: 12 });
    await nearFdLimit.client('one');
    await nearFdLimit.client('two');
    const three = await nearFdLimit.client('three');
    assert.match((await three.waitFor('relay-error')).message, /near its limit of 12 open files/);

    const perIp = await startRelay({ maxConnectionsPerIp: 2 });
    const [a, b] = await Promise.all([perIp.client('a'), perIp.client('b')]);
    await Promise.all([registered(a), registered(b)]);
    const c = await perIp.client('c');
    assert.match((await c.waitFor('relay-error')).message, /more than 2 connections from 127\.0\.0\.1/);
    await c.closed;
    // A data connection over the cap is closed too, with an event.
    const dial = await a.request({ type: 'dial', fingerprint: b.fingerprint });
    const data = await dataConnection(perIp.port, (dial as { token: string }).token);
    await closedSoon(data);
    await perIp.event('rejected', (e) => e.code === 'ERR_RELAY_FULL' && /data connection/.test(e.message));
  });

  it('stop() says goodbye to every peer and ends every spliced session', async () => {
    const { port, relay, client, event } = await startRelay();
    const [alice, bob] = await Promise.all([client('alice'), client('bob')]);
    await Promise.all([registered(alice), registered(bob)]);
    const { peerA, peerB } = await relayedChat(port, alice, bob);

    await relay.stop();
    assert.deepEqual(await alice.closed, { kind: 'left', reason: RELAY_SHUTDOWN_REASON });
    assert.deepEqual(await bob.closed, { kind: 'left', reason: RELAY_SHUTDOWN_REASON });
    const [a, b] = await Promise.all([peerA.closed, peerB.closed]);
    assert.deepEqual([a.kind, b.kind], ['lost', 'lost'], 'a relayed stream just ends: the relay cannot speak inside it');
    assert.equal((await event('session-closed')).reason, RELAY_SHUTDOWN_REASON);
    await event('stopped');
    assert.equal(relay.connectionCount, 0);
    await assert.rejects(tcp(port), /ECONNREFUSED/);
  });
});
