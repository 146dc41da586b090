// PeerConnection over udx streams on 127.0.0.1, unchanged: the preamble, the Noise handshake,
// frames both ways, the goodbye (which rides on end and finish) and a link that breaks.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { DEFAULTS } from '../../src/defaults.js';
import type { ByteStream } from '../../src/net/byte-stream.js';
import { udxTransport } from '../../src/net/udx-transport.js';
import { fingerprintOf } from '../../src/secure/fingerprint.js';
import { FEATURES, PROTOCOL_VERSION } from '../../src/secure/handshake-payload.js';
import { generateKeyPair } from '../../src/secure/noise/crypto-primitives.js';
import type { RemotePeer } from '../../src/secure/secure-channel.js';
import { type CloseOutcome, PeerConnection } from '../../src/session/peer-connection.js';
import { PEER_MESSAGES } from '../../src/session/session-messages.js';
import { closeUdx, udxListen, udxPair } from '../helpers/udx-loopback.js';

afterEach(closeUdx);

const udx = udxTransport(SYSTEM_CLOCK);

class Peer {
  readonly keys = generateKeyPair();
  readonly conn: PeerConnection;
  readonly established: Promise<RemotePeer>;
  readonly closed: Promise<CloseOutcome>;

  constructor(stream: ByteStream, name: string, initiator: boolean) {
    this.conn = new PeerConnection(stream, {
      initiator,
      keyPair: this.keys,
      localInfo: { name, version: PROTOCOL_VERSION, features: FEATURES },
      handshakeTimeoutMs: DEFAULTS.handshakeTimeoutMs,
      keepaliveIntervalMs: DEFAULTS.keepaliveIntervalMs,
      keepaliveTimeoutMs: DEFAULTS.keepaliveTimeoutMs,
      byeGraceMs: DEFAULTS.byeGraceMs,
      maxQueuedBytes: DEFAULTS.maxQueuedBytes,
      clock: SYSTEM_CLOCK,
      codec: PEER_MESSAGES,
    });
    this.established = new Promise((resolve) => this.conn.once('established', resolve));
    this.closed = new Promise((resolve) => this.conn.once('closed', resolve));
    this.conn.start();
  }
}

async function establishedPair(): Promise<{ alice: Peer; bob: Peer }> {
  const [dialled, accepted] = await udxPair(udx, await udxListen(udx));
  const alice = new Peer(dialled, 'alice', true);
  const bob = new Peer(accepted, 'bob', false);
  await Promise.all([alice.established, bob.established]);
  return { alice, bob };
}

describe('PeerConnection over udx', { timeout: 20_000 }, () => {
  it('runs the handshake and carries messages both ways', async () => {
    const { alice, bob } = await establishedPair();
    assert.equal((await alice.established).fingerprint, fingerprintOf(bob.keys.publicKey));
    assert.equal((await bob.established).info.name, 'alice');
    const atBob = once(bob.conn, 'message');
    alice.conn.send({ type: 'chat', id: 'm1', time: 1, text: 'over udp' });
    assert.deepEqual(await atBob, [{ type: 'chat', id: 'm1', time: 1, text: 'over udp' }]);
    const atAlice = once(alice.conn, 'message');
    bob.conn.send({ type: 'chat', id: 'm2', time: 2, text: 'and back' });
    assert.deepEqual(await atAlice, [{ type: 'chat', id: 'm2', time: 2, text: 'and back' }]);
  });

  it('says goodbye: the other side hears the reason, the closer sees closed, everything flushed', async () => {
    const { alice, bob } = await establishedPair();
    assert.equal(await alice.conn.close('bye over udp'), true, 'flushed before the stream closed');
    assert.deepEqual(await bob.closed, { kind: 'left', reason: 'bye over udp' });
    assert.deepEqual(await alice.closed, { kind: 'closed' });
  });

  it('reports a link that breaks as lost, with the coded error', async () => {
    const { alice, bob } = await establishedPair();
    alice.conn.destroy();
    const outcome = await bob.closed;
    assert.equal(outcome.kind, 'lost');
    assert.equal(outcome.kind === 'lost' && outcome.error.code, 'ERR_CONNECTION_LOST');
  });
});
