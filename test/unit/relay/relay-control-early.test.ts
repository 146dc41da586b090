// First flights through the relay's control sessions (RelayControl with its RelaySessions), with
// peers' control sessions over in-memory streams on a manual clock: a dial's first flight goes in
// the invite only to a peer whose control session lists "early" (to another, in front of the
// dialler's data connection); an answer counts only from the dialled key's own control session,
// and not against its rate limit: a refusal would come as relay-error rid 0, which means the whole
// connection, and each answer is good once anyway.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayControl } from '../../../src/relay/relay-control.js';
import { RELAY_FEATURES, relayLimits, type RelayLimits } from '../../../src/relay/relay-defaults.js';
import { Admission } from '../../../src/relay/relay-limits.js';
import { RelaySessions } from '../../../src/relay/relay-sessions.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import type { Identity } from '../../../src/secure/identity-store.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { PeerConnection } from '../../../src/session/peer-connection.js';
import { EARLY_FLIGHT_FEATURE } from '../../../src/session/relay-messages.js';
import { RELAY_CONTROL_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { memoryStreamPair, type MemoryStream } from '../../helpers/memory-stream.js';

/** Alice's preamble and handshake message 1, and bob's preamble and message 2, as hex on the wire. */
const FLIGHT = Buffer.from('[alice: preamble, message 1]');
const ANSWER = Buffer.from('[bob: preamble, message 2]');

/** Let the memory streams and the sessions on them pass everything on. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

function identity(): Identity {
  const keyPair = generateKeyPair();
  return { keyPair, fingerprint: fingerprintOf(keyPair.publicKey), path: '', created: true };
}

/** A relay's control side, without its listening socket. */
function relay(overrides: Partial<RelayLimits> = {}) {
  const clock = new ManualClock();
  const limits = relayLimits(overrides);
  const emit = () => undefined;
  const sessions = new RelaySessions({ ...limits, emit, clock });
  const control = new RelayControl({ identity: identity(), limits, admission: new Admission({ ...limits, fdLimit: Infinity }), sessions, emit, clock, features: RELAY_FEATURES });
  let hosts = 0;

  /** A peer's control session (under `id`, a new key by default); it lists "early" in its handshake payload if `early`. */
  async function peer(name: string, early: boolean, id = identity()) {
    const [peerEnd, relayEnd] = memoryStreamPair();
    const connection = new PeerConnection(peerEnd, {
      initiator: true,
      keyPair: id.keyPair,
      localInfo: { name, version: PROTOCOL_VERSION, features: early ? [...FEATURES, EARLY_FLIGHT_FEATURE] : FEATURES },
      codec: RELAY_CONTROL_MESSAGES,
      handshakeTimeoutMs: 5_000,
      keepaliveIntervalMs: limits.keepaliveIntervalMs,
      keepaliveTimeoutMs: limits.keepaliveTimeoutMs,
      byeGraceMs: limits.byeGraceMs,
      maxQueuedBytes: 1 << 20,
      clock,
    });
    const messages: SessionMessage[] = [];
    connection.on('message', (m) => messages.push(m));
    control.adopt(relayEnd, { ip: `192.0.2.${++hosts}`, refusal: undefined, handshakeTimeoutMs: 5_000 });
    connection.start();
    await flush();
    assert.ok(connection.established, `${name}'s control session is up`);
    const find = <T extends SessionMessage['type']>(type: T) =>
      messages.filter((m): m is Extract<SessionMessage, { type: T }> => m.type === type);
    const register = async () => {
      connection.send({ type: 'register', rid: 1, name, port: 5050, addresses: [] });
      await flush();
      assert.equal(find('registered').length, 1, `${name} is registered`);
    };
    return { name, id, fingerprint: id.fingerprint, connection, messages, find, register };
  }

  const stop = async () => {
    control.stop('test over');
    sessions.stop('test over');
    await flush();
  };
  return { clock, sessions, control, peer, stop };
}

/** A data connection: the peer's end, reading from the start, and the relay's, paused. */
function dataConnection(): { peer: MemoryStream; relay: MemoryStream; heard: () => Buffer } {
  const [peer, relayEnd] = memoryStreamPair();
  const chunks: Buffer[] = [];
  peer.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
  peer.resume();
  return { peer, relay: relayEnd, heard: () => Buffer.concat(chunks) };
}

describe('RelayControl and first flights', () => {
  it('puts a first flight in the invite only of a peer that lists "early"; another reads it on its data connection', async () => {
    const { sessions, peer, stop } = relay();
    const alice = await peer('alice', true);
    const bob = await peer('bob', true);
    const carol = await peer('carol', false);
    await bob.register();
    await carol.register();

    alice.connection.send({ type: 'dial', rid: 1, fingerprint: bob.fingerprint, early: FLIGHT.toString('hex') });
    alice.connection.send({ type: 'dial', rid: 2, fingerprint: carol.fingerprint, early: FLIGHT.toString('hex') });
    await flush();
    const [toBob] = bob.find('invite');
    const [toCarol] = carol.find('invite');
    assert.equal(toBob?.early, FLIGHT.toString('hex'), 'bob takes first flights');
    assert.ok(toCarol, 'carol is invited');
    assert.equal('early' in toCarol, false, 'carol does not take them');

    const sessionWithCarol = alice.find('session').find((m) => m.rid === 2);
    assert.ok(sessionWithCarol);
    const fromAlice = dataConnection();
    const toCarolsData = dataConnection();
    fromAlice.peer.write(Buffer.from('[message 3]'));
    assert.equal(sessions.attach(sessionWithCarol.token, fromAlice.relay), undefined);
    assert.equal(sessions.attach(toCarol.token, toCarolsData.relay), undefined);
    await flush();
    assert.equal(toCarolsData.heard().toString(), `${FLIGHT}[message 3]`);
    await stop();
  });

  it("takes an answer from the dialled key's control session only", async () => {
    const { sessions, peer, stop } = relay();
    const alice = await peer('alice', true);
    const bob = await peer('bob', true);
    const mallory = await peer('mallory', true);
    await bob.register();
    alice.connection.send({ type: 'dial', rid: 1, fingerprint: bob.fingerprint, early: FLIGHT.toString('hex') });
    await flush();
    const [invite] = bob.find('invite');
    const [session] = alice.find('session');
    assert.ok(invite && session);
    const aliceData = dataConnection();
    assert.equal(sessions.attach(session.token, aliceData.relay), undefined);

    const forged = { type: 'answer', token: invite.token, early: Buffer.from('[forged]').toString('hex') } as const;
    mallory.connection.send(forged);
    alice.connection.send(forged);
    await flush();
    assert.equal(aliceData.heard().length, 0, 'an answer from another key is ignored');

    bob.connection.send({ type: 'answer', token: invite.token, early: ANSWER.toString('hex') });
    await flush();
    assert.deepEqual(aliceData.heard(), ANSWER, "bob's own answer is written to alice's data connection");
    await stop();
  });

  it('does not count answers against the control session rate limit: past the burst they are still taken', async () => {
    const { peer, stop } = relay({ controlRequestBurst: 2 });
    const bob = await peer('bob', true);
    await bob.register();
    const answer = { type: 'answer', token: 'ef'.repeat(32), early: ANSWER.toString('hex') } as const;
    for (let i = 0; i < 6; i++) bob.connection.send(answer);
    await flush();
    assert.deepEqual(bob.find('relay-error'), [], 'answers nobody waits for are dropped without a word, however many');
    // What is left of the burst (its register took one) is still there for requests: answers took nothing.
    bob.connection.send({ type: 'lookup', rid: 7, query: 'bob' });
    await flush();
    assert.deepEqual(bob.find('relay-error'), [], 'the lookup is served');
    assert.equal(bob.find('lookup-result').length, 1);
    await stop();
  });
});

describe('RelayControl: a key that registers on a new control connection', () => {
  it('is invited again to what it has not taken up, with the first flight; not to what it answered, nor on a rename', async () => {
    const { peer, stop } = relay();
    const alice = await peer('alice', true);
    const carol = await peer('carol', true);
    const dave = await peer('dave', true);
    const bob = await peer('bob', true);
    await bob.register();
    alice.connection.send({ type: 'dial', rid: 1, fingerprint: bob.fingerprint, early: FLIGHT.toString('hex') });
    carol.connection.send({ type: 'dial', rid: 1, fingerprint: bob.fingerprint, early: FLIGHT.toString('hex') });
    dave.connection.send({ type: 'dial', rid: 1, fingerprint: bob.fingerprint });
    await flush();
    const invites = bob.find('invite');
    assert.equal(invites.length, 3);
    const [fromAlice, fromCarol, fromDave] = invites;
    bob.connection.send({ type: 'answer', token: fromAlice!.token, early: ANSWER.toString('hex') });
    await flush();

    // Bob moved: his old control connection may be dead, and he registers from a new one.
    const again = await peer('bob', true, bob.id);
    await again.register();
    assert.deepEqual(
      again.find('invite').map((m) => [m.token, m.from.name, m.early]),
      [
        [fromCarol!.token, 'carol', FLIGHT.toString('hex')],
        [fromDave!.token, 'dave', undefined],
      ],
      "the invitations he had not taken up, each as it was first sent; alice's, answered, is not",
    );
    assert.equal(bob.find('invite').length, 3, 'the old connection is sent nothing more');

    // A new nickname registered on the same connection invites nobody again.
    again.connection.send({ type: 'register', rid: 2, name: 'robert', port: 5050, addresses: [] });
    await flush();
    assert.equal(again.find('invite').length, 2);
    await stop();
  });

  it('registering anew without "early", it is invited without the flight, which then goes in front of the dialler\'s data connection', async () => {
    const { sessions, peer, stop } = relay();
    const alice = await peer('alice', true);
    const bob = await peer('bob', true);
    await bob.register();
    alice.connection.send({ type: 'dial', rid: 1, fingerprint: bob.fingerprint, early: FLIGHT.toString('hex') });
    await flush();
    const [first] = bob.find('invite');
    assert.equal(first?.early, FLIGHT.toString('hex'));
    const [session] = alice.find('session');
    const fromAlice = dataConnection();
    fromAlice.peer.write(Buffer.from('[message 3]'));
    assert.equal(sessions.attach(session!.token, fromAlice.relay), undefined, 'alice waits for bob');

    // Bob comes back from an older build that does not take first flights.
    const older = await peer('bob', false, bob.id);
    await older.register();
    const [again] = older.find('invite');
    assert.equal(again?.token, first!.token);
    assert.equal(again && 'early' in again, false, 'no flight for a peer that does not take it');
    const toBob = dataConnection();
    assert.equal(sessions.attach(again!.token, toBob.relay), undefined);
    await flush();
    assert.equal(toBob.heard().toString(), `${FLIGHT}[message 3]`, "alice's flight first, then what she sent: no answer is waited for");
    older.connection.send({ type: 'answer', token: again!.token, early: ANSWER.toString('hex') });
    await flush();
    assert.equal(fromAlice.heard().length, 0, 'a late answer is not written to alice');
    await stop();
  });
});
