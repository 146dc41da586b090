// Issue 11, item 3, exactly as found: a peer that sends 600 messages of 16 KiB in 150 ms to a
// listener used to make it drop another peer that had paused reading for 1.2 s ("not reading;
// dropped with 4 MiB queued"). The host now forwards each sender within its share and stops
// reading a sender while a recipient's backlog is high: the brief pause costs the slow reader
// nothing, every message reaches it in order, and the flooder is the one held back.

import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { DEFAULTS } from '../../src/defaults.js';
import { TcpStream } from '../../src/net/tcp-stream.js';
import { FEATURES, PROTOCOL_VERSION } from '../../src/secure/handshake-payload.js';
import { PeerConnection } from '../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../src/session/session-messages.js';
import { cleanupNodes, EventLog, tempNode } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, newIdentity, tcp, speakConversation, TestPeer, until } from '../helpers/relay-testnet.js';

afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
});
after(cleanupNodes);

const MESSAGES = 600;
const TEXT_BYTES = 16 * 1024 - 64; // 16 KiB with the JSON around it
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a host forwarding a flood', { timeout: 120_000 }, () => {
  it('keeps a peer that paused reading for 1.2 s, and delivers it every message in order', async () => {
    const host = tempNode('host');
    const hostLog = new EventLog(host);
    const port = await host.listen('127.0.0.1', 0, false);

    const slowSocket = await tcp(port);
    const slow = new TestPeer(slowSocket, newIdentity(), 'slow', true);
    // The flooder queues all it sends itself: its own limit must not be what stops it.
    const flooder = new PeerConnection(new TcpStream(await tcp(port)), {
      initiator: true,
      keyPair: newIdentity().keyPair,
      localInfo: { name: 'flooder', version: PROTOCOL_VERSION, features: FEATURES },
      handshakeTimeoutMs: 5_000,
      keepaliveIntervalMs: DEFAULTS.keepaliveIntervalMs,
      keepaliveTimeoutMs: DEFAULTS.keepaliveTimeoutMs,
      byeGraceMs: 1_000,
      maxQueuedBytes: 64 * 1024 * 1024,
      clock: SYSTEM_CLOCK,
      codec: PEER_MESSAGES,
    });
    speakConversation(flooder, true);
    const flooderEstablished = new Promise((resolve) => flooder.once('established', resolve));
    flooder.start();
    await Promise.all([slow.established, flooderEstablished]);
    await until(() => host.peerCount === 2, 'both peers in the host\'s room');

    // The slow peer stops reading; 600 messages of 16 KiB go out in 150 ms; 1.2 s later it reads again.
    slowSocket.pause();
    const paused = Date.now();
    const text = (i: number) => `${String(i).padStart(4, '0')} ${'x'.repeat(TEXT_BYTES)}`;
    for (let batch = 0; batch < 15; batch++) {
      for (let i = batch * 40; i < (batch + 1) * 40; i++) flooder.send({ type: 'chat', id: `m${i}`, time: Date.now(), text: text(i) });
      await pause(10);
    }
    await pause(Math.max(0, 1_200 - (Date.now() - paused)));
    slowSocket.resume();

    const forwarded = () => slow.messages.filter((m): m is Extract<SessionMessage, { type: 'forwarded' }> => m.type === 'forwarded');
    await until(() => forwarded().length === MESSAGES || slow.outcome, 'every message at the slow peer', 90_000);
    assert.equal(slow.outcome, undefined, `the slow peer was dropped: ${JSON.stringify(slow.outcome)}`);
    assert.equal(hostLog.count('lost'), 0, 'the host lost nobody');
    const received = forwarded();
    assert.equal(received.length, MESSAGES);
    assert.deepEqual(
      received.map((m) => m.text.slice(0, 4)),
      Array.from({ length: MESSAGES }, (_, i) => String(i).padStart(4, '0')),
      'in the order sent',
    );
    assert.equal(received[0]!.from.name, 'flooder');
    flooder.destroy();
  });
});
