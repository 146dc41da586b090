// Who may resume a conversation, with whole ChatNodes (and raw PeerConnections playing a hostile
// peer) on in-memory streams and a manual clock: a peer started again comes back with a new
// conversation, which ends the old one as lost; a peer that lies about what it received, or skips
// the conversation message, is dropped and never suspended; and a host keeps what its other peers
// say for a member that is away, passing it on once each when the member is back.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { listFiles } from '../../../src/app/files/file-list.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair, type KeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { PeerConnection, type CloseOutcome } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { eventsOf, MemoryChat, MEMORY_CONNECTION_TIMING, MEMORY_TIMING, received, say, type MemoryPeer } from '../../helpers/memory-chat.js';

const WINDOW_MS = MEMORY_TIMING.resumeWindowMs!;

let chat: MemoryChat;
afterEach(() => chat?.close());

/** A peer of our own making, dialling `to` from `host`: it says what the test tells it to. */
async function rawPeer(host: string, to: MemoryPeer, keyPair: KeyPair = generateKeyPair()) {
  const stream = await chat.network.transport(host).dial(to.host, 5050, { timeoutMs: 5_000, clock: chat.clock });
  const conn = new PeerConnection(stream, {
    initiator: true,
    keyPair,
    localInfo: { name: 'mallory', version: PROTOCOL_VERSION, features: FEATURES },
    codec: PEER_MESSAGES,
    ...MEMORY_CONNECTION_TIMING,
    clock: chat.clock,
  });
  const seen: SessionMessage[] = [];
  const result = { conn, seen, outcome: undefined as CloseOutcome | undefined };
  conn.on('message', (message) => seen.push(message));
  conn.once('closed', (outcome) => (result.outcome = outcome));
  conn.start();
  await chat.settle();
  assert.ok(conn.established, 'the handshake completes in memory');
  return result;
}

const newId = () => randomBytes(16).toString('hex');

/** How a raw peer's connection ended, read through a call (no stale narrowing). */
function kindOf(peer: { outcome: CloseOutcome | undefined }): string | undefined {
  return peer.outcome?.kind;
}

describe('a peer that started again', () => {
  it('a dialler back with the same key and a new conversation: the old one is lost at once, the new one connected', async () => {
    chat = new MemoryChat();
    const { alice, bob } = await chat.pair();
    say(bob, 'b1');
    await chat.run(100);
    say(bob, 'b2');
    await chat.settle();
    chat.network.last.dialler.destroy();
    alice.node.abort(); // the process is gone before it could dial again
    await chat.run(1_000);
    assert.equal(eventsOf(bob, 'reconnecting').length, 1, 'bob waits for alice');
    assert.equal(eventsOf(bob, 'lost').length, 0);
    assert.equal(chat.network.links.length, 1, 'the dead process dialled nothing');

    const again = chat.peer('alice', '192.0.2.2', {}, alice.home);
    assert.equal(again.node.fingerprint, alice.node.fingerprint, 'same key');
    await chat.connect(again, bob);

    const [lost] = eventsOf(bob, 'lost');
    assert.ok(lost, 'the old conversation is lost');
    assert.deepEqual([lost.name, lost.fingerprint, lost.code, lost.unacknowledged], ['alice', alice.node.fingerprint, 'ERR_CONNECTION_LOST', 1]);
    assert.match(lost.message, /it came back with a new conversation$/);
    assert.equal(eventsOf(bob, 'connected').length, 2, 'the new conversation is connected');
    assert.equal(eventsOf(bob, 'reconnected').length, 0, 'nothing was resumed');
    assert.deepEqual(bob.node.who().map((p) => p.name), ['alice'], 'one alice');
    assert.deepEqual(bob.node.undelivered(), [{ name: 'alice', fingerprint: alice.node.fingerprint, count: 1 }]);

    // The new conversation starts from nothing: b2 is not resent into it.
    say(again, 'hello again');
    say(bob, 'b3');
    await chat.run(100);
    assert.deepEqual(received(bob), ['hello again']);
    assert.deepEqual(received(again), ['b3']);
    assert.equal(eventsOf(again, 'delivered').length, 1);
    await chat.run(WINDOW_MS + 1_000, 100);
    assert.equal(eventsOf(bob, 'lost').length, 1, 'the old window running out says nothing more');
    assert.equal(bob.node.peerCount, 1);
  });

  it('a listener back with the same key that does not know the conversation: the dialler loses it and is connected anew', async () => {
    chat = new MemoryChat();
    const { alice, bob } = await chat.pair();
    say(alice, 'a1');
    await chat.settle();
    const again = await chat.restart(bob);
    await chat.until(() => eventsOf(alice, 'lost').length > 0, 1_000, 'alice loses the old conversation');

    const [lost] = eventsOf(alice, 'lost');
    assert.deepEqual([lost?.name, lost?.unacknowledged], ['bob', 1]);
    assert.match(lost?.message ?? '', /it came back with a new conversation$/);
    assert.equal(eventsOf(alice, 'reconnected').length, 0);
    assert.equal(eventsOf(again, 'connected').length, 1);
    await chat.settle();
    assert.equal(alice.node.peerCount, 1, 'the new conversation is in the room');
    assert.equal(eventsOf(alice, 'connected').length, 2, 'and alice is told it is a new connection');
    assert.deepEqual(received(again), [], 'a1 is not resent into a new conversation');
    say(alice, 'a2');
    say(again, 'b1');
    await chat.run(100);
    assert.deepEqual([received(again), received(alice)], [['a2'], ['b1']]);
    await chat.run(WINDOW_MS, 100);
    assert.equal(eventsOf(alice, 'lost').length, 1);
    assert.equal(alice.node.peerCount, 1);
  });

  it('a dialler back with a new conversation while the old connection still looks up: the old one is lost once found dead', async () => {
    // Two live sessions from one key are legitimate (a `send` beside a chat from the same home),
    // so the new conversation does not end the old one. But once the keepalive finds the old link
    // dead, nobody is going to resume it: a newer conversation from that key is up. It is lost
    // then, not a resume window later.
    chat = new MemoryChat();
    const { alice, bob } = await chat.pair({ bob: { keepaliveIntervalMs: 20_000, keepaliveTimeoutMs: 60_000 } });
    say(bob, 'b1');
    // An offer of alice's waits at bob: it must end with the old conversation, not hang on.
    const file = join(alice.home, 'note.txt');
    writeFileSync(file, 'hello');
    alice.node.sendFiles((await listFiles([file])).files);
    for (let i = 0; i < 200 && eventsOf(bob, 'file-offer').length === 0; i++) {
      await chat.settle();
      await new Promise((resolve) => setTimeout(resolve, 5)); // the offer waits for real file I/O
    }
    assert.equal(eventsOf(bob, 'file-offer').length, 1);
    await chat.settle();
    chat.network.last.dialler.sever();
    alice.node.abort(); // its reset never reaches bob
    const again = chat.peer('alice', '192.0.2.2', {}, alice.home);
    await chat.connect(again, bob);
    await chat.settle();
    assert.equal(bob.node.who().length, 2, 'until the old link is found dead, both sessions stand');
    await chat.run(61_000, 1_000);
    assert.deepEqual(bob.node.who().map((p) => p.name), ['alice'], 'one alice: the old conversation is over');
    const [lost] = eventsOf(bob, 'lost');
    assert.ok(lost, 'bob says the old conversation is lost');
    assert.equal(lost.unacknowledged, 1);
    assert.match(lost.message, /came back with a new conversation/);
    assert.equal(eventsOf(bob, 'reconnecting').length, 0, 'not waited for: its key is here already');
    const [ended] = eventsOf(bob, 'file-error');
    assert.ok(ended, 'the offer from the old conversation ended with it');
    assert.equal(bob.node.files.list().length, 0, 'nothing of the old conversation is left waiting');
  });
});

describe('a peer that lies or skips a step is dropped, not suspended', () => {
  it('an ack for more than was sent drops the peer as lost with ERR_BAD_MESSAGE', async () => {
    chat = new MemoryChat();
    const bob = await chat.listener('bob', '192.0.2.1');
    const mallory = await rawPeer('192.0.2.66', bob);
    const id = newId();
    mallory.conn.send({ type: 'conversation', id, received: 0 });
    await chat.settle();
    assert.deepEqual(mallory.seen[0], { type: 'conversation', id, received: 0 }, 'bob answers a new conversation');
    say(bob, 'b1');
    await chat.settle();
    mallory.conn.send({ type: 'ack', n: 2 });
    await chat.settle();

    const [lost] = eventsOf(bob, 'lost');
    assert.deepEqual([lost?.name, lost?.code], ['mallory', 'ERR_BAD_MESSAGE']);
    assert.match(lost?.message ?? '', /peer acknowledged 2 messages; 1 were sent/);
    assert.equal(eventsOf(bob, 'reconnecting').length, 0, 'a liar is not waited for');
    assert.equal(bob.node.peerCount, 0);
    assert.equal(mallory.outcome?.kind, 'lost');
    await chat.run(WINDOW_MS, 500);
    assert.equal(eventsOf(bob, 'lost').length, 1);
  });

  it('resuming with a count of our messages it cannot have drops the new connection; the conversation stays suspended', async () => {
    chat = new MemoryChat();
    const bob = await chat.listener('bob', '192.0.2.1');
    const keyPair = generateKeyPair();
    const id = newId();
    const first = await rawPeer('192.0.2.66', bob, keyPair);
    first.conn.send({ type: 'conversation', id, received: 0 });
    await chat.settle();
    say(bob, 'b1');
    await chat.settle();
    chat.network.last.dialler.destroy();
    await chat.settle();
    assert.equal(eventsOf(bob, 'reconnecting').length, 1, 'suspended');

    const liar = await rawPeer('192.0.2.66', bob, keyPair);
    liar.conn.send({ type: 'conversation', id, received: 5 });
    await chat.settle();
    assert.equal(liar.outcome?.kind, 'lost', 'dropped');
    assert.equal(eventsOf(bob, 'reconnected').length, 0);
    assert.equal(eventsOf(bob, 'lost').length, 0, 'the conversation itself is still waiting');
    assert.equal(bob.node.peerCount, 1);

    // The same peer with a count it can have resumes it: b1 it had, so nothing is sent again.
    const honest = await rawPeer('192.0.2.66', bob, keyPair);
    honest.conn.send({ type: 'conversation', id, received: 1 });
    await chat.settle();
    assert.deepEqual(honest.seen, [{ type: 'conversation', id, received: 0, resumed: true }]);
    assert.equal(eventsOf(bob, 'reconnected')[0]?.resent, 0);
    assert.equal(honest.outcome, undefined);
    assert.deepEqual(eventsOf(bob, 'delivered').map((e) => e.peer), ['mallory'], 'b1, acknowledged by the count');
  });

  it('a new conversation from a key whose conversation is suspended ends the suspended one, whatever its id', async () => {
    chat = new MemoryChat();
    const bob = await chat.listener('bob', '192.0.2.1');
    const keyPair = generateKeyPair();
    const first = await rawPeer('192.0.2.66', bob, keyPair);
    first.conn.send({ type: 'conversation', id: newId(), received: 0 });
    await chat.settle();
    chat.network.last.dialler.destroy();
    await chat.settle();
    const second = await rawPeer('192.0.2.66', bob, keyPair);
    const id = newId();
    second.conn.send({ type: 'conversation', id, received: 0 });
    await chat.settle();
    assert.deepEqual(second.seen[0], { type: 'conversation', id, received: 0 });
    assert.match(eventsOf(bob, 'lost')[0]?.message ?? '', /came back with a new conversation/);
    assert.equal(bob.node.peerCount, 1);
  });

  it('a session that sends anything before its conversation message is dropped, and never joins', async () => {
    chat = new MemoryChat();
    const bob = await chat.listener('bob', '192.0.2.1');
    const mallory = await rawPeer('192.0.2.66', bob);
    mallory.conn.send({ type: 'chat', id: 'x', time: 1, text: 'hi' });
    await chat.settle();
    assert.equal(mallory.outcome?.kind, 'lost');
    assert.equal(eventsOf(bob, 'connected').length, 0);
    assert.deepEqual(received(bob), []);
  });

  it('a listener that answers our new conversation with a file message is dropped, for good', async () => {
    chat = new MemoryChat();
    const alice = chat.peer('alice', '192.0.2.2');
    let mallory: PeerConnection | undefined;
    await chat.network.transport('192.0.2.66').listen({ host: '192.0.2.66', port: 5050, fallbackTries: 0 }, (stream) => {
      mallory = new PeerConnection(stream, {
        initiator: false,
        keyPair: generateKeyPair(),
        localInfo: { name: 'mallory', version: PROTOCOL_VERSION, features: FEATURES },
        codec: PEER_MESSAGES,
        ...MEMORY_CONNECTION_TIMING,
        clock: chat.clock,
      });
      mallory.once('established', () => mallory!.send({ type: 'file-cancel', id: '00'.repeat(8), reason: 'no' }));
      mallory.start();
    });
    await alice.node.connect('192.0.2.66', 5050);
    await chat.settle();
    const [lost] = eventsOf(alice, 'lost');
    assert.deepEqual([lost?.name, lost?.code], ['mallory', 'ERR_BAD_MESSAGE']);
    assert.match(lost?.message ?? '', /expected a conversation message first, got file-cancel/);
    assert.equal(eventsOf(alice, 'reconnecting').length, 0, 'not suspended');
    assert.equal(alice.node.peerCount, 0);
    mallory?.destroy();
  });

  it('a session that never sends its conversation message is dropped at the handshake timeout', async () => {
    chat = new MemoryChat();
    const bob = await chat.listener('bob', '192.0.2.1');
    const mallory = await rawPeer('192.0.2.66', bob);
    await chat.run(MEMORY_TIMING.handshakeTimeoutMs! - 10, 500);
    assert.equal(mallory.outcome, undefined, 'still waited for');
    await chat.run(10);
    assert.equal(kindOf(mallory), 'lost');
    assert.equal(eventsOf(bob, 'connected').length, 0);
  });
});

describe('a host and a member that is away', () => {
  it("what the others say meanwhile reaches the member once it is back, once each; they never hear it was gone", async () => {
    chat = new MemoryChat();
    const host = await chat.listener('host', '192.0.2.1');
    const alice = chat.peer('alice', '192.0.2.2');
    const carol = chat.peer('carol', '192.0.2.3');
    await chat.connect(alice, host);
    await chat.connect(carol, host);
    await chat.run(100);
    const aliceLink = chat.network.links[0]!;
    say(carol, 'c1');
    await chat.run(100);
    aliceLink.dialler.destroy();
    await chat.settle();
    say(carol, 'c2', 'c3');
    await chat.settle(); // the host has them before it says its own
    say(host, 'h1');
    await chat.run(100);
    assert.equal(eventsOf(carol, 'delivered').filter((e) => e.via === undefined).length, 3, 'carol hears from the host, which has them');
    assert.deepEqual(
      eventsOf(carol, 'delivered').filter((e) => e.via !== undefined).map((e) => [e.peer, e.via]),
      [['alice', 'host']],
      'and, on the host\'s word, that alice has c1 (c2 and c3 wait for her)',
    );
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0, 300, 'alice is back');
    await chat.run(100);

    assert.deepEqual(received(alice), ['c1', 'c2', 'c3', 'h1']);
    assert.deepEqual(
      eventsOf(alice, 'message').map((e) => e.via ?? null),
      ['host', 'host', 'host', null],
    );
    assert.equal(eventsOf(carol, 'lost').length + eventsOf(carol, 'left').length, 0, 'carol never heard alice was away');
    assert.equal(eventsOf(carol, 'joined').filter((e) => e.name === 'alice').length, 1, 'nor that she joined again');
    assert.equal(host.node.unacknowledged, 0, 'alice acknowledged what the host passed on');
    assert.deepEqual(
      alice.node.who().map((p) => [p.name, p.path]),
      [['host', 'direct'], ['carol', 'forwarded']],
      "alice still sees the host's members after the reconnect",
    );
    // End to end: once alice is back and acknowledges, carol learns (from the host) she has all three.
    const sentIds = eventsOf(carol, 'sent').map((e) => e.id);
    const reachedAlice = eventsOf(carol, 'delivered').filter((e) => e.via === 'host' && e.peer === 'alice').map((e) => e.id);
    assert.deepEqual(reachedAlice, sentIds, 'each of carol\'s lines reported reaching alice, once, in order');
  });

  it("a member lost with lines it never got: their writer hears how many, on the host's word", async () => {
    chat = new MemoryChat();
    const host = await chat.listener('host', '192.0.2.1', { resumeWindowMs: 1_000 });
    const alice = chat.peer('alice', '192.0.2.2');
    const carol = chat.peer('carol', '192.0.2.3');
    await chat.connect(alice, host);
    await chat.connect(carol, host);
    await chat.run(100);
    chat.network.links[0]!.dialler.destroy();
    alice.node.abort(); // she will not be back
    await chat.settle();
    say(carol, 'c1', 'c2');
    await chat.run(2_000);
    const lost = eventsOf(carol, 'lost').find((e) => e.name === 'alice');
    assert.ok(lost, 'carol hears alice was lost');
    assert.equal(lost.via, 'host');
    assert.equal(lost.unacknowledged, 2, 'both of her lines never reached alice');
    assert.equal(eventsOf(carol, 'delivered').filter((e) => e.via !== undefined).length, 0);
  });
});
