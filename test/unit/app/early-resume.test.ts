// Resuming a conversation in Noise IK's message 1, with whole ChatNodes (and raw PeerConnections
// playing listeners of other builds) on in-memory streams and a manual clock: a cut conversation
// comes back in one exchange; a message 1 replayed by someone who saw it go by resumes, starts and
// ends nothing; and a dialler whose IK try does not resume falls back to XX, which settles the rest.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../../src/app/app-events.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { PeerConnection, type CloseOutcome } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { PREAMBLE } from '../../../src/wire/preamble.js';
import { eventsOf, MemoryChat, MEMORY_CONNECTION_TIMING, received, say, type MemoryPeer } from '../../helpers/memory-chat.js';
import type { MemoryStream } from '../../helpers/memory-stream.js';
import type { MemoryLink } from '../../helpers/memory-transport.js';

/** XX's message 1 is the bare ephemeral key. */
const XX_MESSAGE_1 = 32;
/** What a replayed message 1 must not make the listener say. */
const SESSION_EVENTS = new Set<AppEvent['type']>(['connected', 'reconnected', 'reconnecting', 'lost', 'left', 'joined', 'rejected']);

let chat: MemoryChat;
afterEach(() => chat?.close());

/** The length of the handshake message 1 the dialler of `link` sent (its first write: preamble, then the frame). */
function messageOneLength(link: MemoryLink): number {
  const first = link.dialler.firstWrite;
  assert.ok(first && first.length > PREAMBLE.length + 2, 'the dialler wrote its preamble and message 1');
  return first.readUInt16BE(PREAMBLE.length);
}

/** The session events `peer` reported from event `since` on. */
function sessionEventsSince(peer: MemoryPeer, since: number): string[] {
  return peer.log.events.slice(since).filter((e) => SESSION_EVENTS.has(e.type)).map((e) => e.type);
}

/** Someone at another address who saw message 1 go by sends the same bytes to `to`; returns their end. */
async function replay(to: MemoryPeer, firstWrite: Buffer | undefined): Promise<MemoryStream> {
  assert.ok(firstWrite, 'there is a message 1 to replay');
  await chat.network.transport('192.0.2.66').dial(to.host, 5050, { timeoutMs: 5_000, clock: chat.clock });
  const stream = chat.network.last.dialler;
  stream.write(firstWrite);
  await chat.settle();
  return stream;
}

/**
 * Alice and bob, whose conversation was cut (a reset both see) and resumed over IK. Returns the
 * link alice came back on.
 */
async function resumedOverIk(): Promise<{ alice: MemoryPeer; bob: MemoryPeer; back: MemoryLink }> {
  chat = new MemoryChat();
  const { alice, bob } = await chat.pair();
  await chat.run(100);
  chat.network.last.dialler.destroy();
  await chat.until(() => eventsOf(alice, 'reconnected').length > 0 && eventsOf(bob, 'reconnected').length > 0, 2_000, 'both reconnected');
  const back = chat.network.last;
  assert.ok(messageOneLength(back) > XX_MESSAGE_1, 'alice came back over IK');
  return { alice, bob, back };
}

describe('resuming in IK message 1', () => {
  it('a cut conversation resumes over IK; what both sides said meanwhile arrives once each, in order', async () => {
    chat = new MemoryChat();
    const { alice, bob } = await chat.pair();
    const first = chat.network.last;
    assert.equal(messageOneLength(first), XX_MESSAGE_1, 'the first connect runs XX: alice has no key of bob to go on');
    say(alice, 'a0');
    say(bob, 'b0');
    await chat.run(200);

    first.dialler.destroy();
    await chat.settle();
    say(alice, 'a1', 'a2');
    say(bob, 'b1', 'b2');
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0 && eventsOf(bob, 'reconnected').length > 0, 2_000, 'both reconnected');
    await chat.run(500);

    const back = chat.network.last;
    assert.equal(chat.network.links.length, 2, 'one try was enough');
    assert.ok(messageOneLength(back) > XX_MESSAGE_1, `the reconnect's message 1 is IK's (${messageOneLength(back)} bytes)`);
    assert.deepEqual(received(bob), ['a0', 'a1', 'a2']);
    assert.deepEqual(received(alice), ['b0', 'b1', 'b2']);
    assert.equal(eventsOf(alice, 'reconnected').length, 1);
    assert.equal(eventsOf(bob, 'reconnected').length, 1);
    assert.equal(eventsOf(alice, 'lost').length + eventsOf(bob, 'lost').length, 0);
    assert.equal(eventsOf(bob, 'connected').length, 1, 'the resume is no new connection');
    assert.equal(alice.node.unacknowledged + bob.node.unacknowledged, 0);
  });
});

describe('a replayed message 1', () => {
  it('resumes nothing while the conversation is live, and leaves it untouched', async () => {
    const { alice, bob, back } = await resumedOverIk();
    await chat.run(100);
    const since = { alice: alice.log.events.length, bob: bob.log.events.length };

    // Nothing new was said, so the count the message carries would still pass: only its key is spent.
    const replayed = await replay(bob, back.dialler.firstWrite);
    assert.equal(replayed.destroyed, true, 'the replayed session is closed');
    await chat.run(100);
    assert.deepEqual(sessionEventsSince(bob, since.bob), [], 'bob says nothing of it');
    assert.deepEqual(sessionEventsSince(alice, since.alice), [], "alice's connection was not replaced");
    assert.equal(back.dialler.destroyed, false, 'the live link stands');

    say(alice, 'after');
    await chat.run(200);
    assert.deepEqual(received(bob), ['after'], 'the live conversation goes on, once');
    assert.deepEqual(bob.node.who().map((p) => p.name), ['alice']);
  });

  it('resumes nothing while the conversation is suspended again; alice herself comes back after', async () => {
    const { alice, bob, back } = await resumedOverIk();
    await chat.run(100);

    // Cut again, with the network down: alice's tries fail, and the conversation waits at bob.
    chat.network.down = true;
    back.dialler.destroy();
    await chat.run(1_000);
    assert.equal(eventsOf(bob, 'reconnecting').length, 2, 'bob waits for alice again');
    const links = chat.network.links.length;
    chat.network.down = false;
    const since = bob.log.events.length;
    const replayed = await replay(bob, back.dialler.firstWrite);
    assert.equal(replayed.destroyed, true, 'the replayed session is closed');
    assert.deepEqual(sessionEventsSince(bob, since), [], 'bob says nothing of it');
    assert.equal(eventsOf(bob, 'reconnected').length, 1, 'the replay did not resume the suspended conversation');
    assert.equal(chat.network.links.length, links + 1, 'alice did not dial meanwhile');

    say(bob, 'b1');
    await chat.until(() => eventsOf(alice, 'reconnected').length === 2 && eventsOf(bob, 'reconnected').length === 2, 6_000, 'alice is back');
    await chat.run(200);
    const again = chat.network.last;
    assert.notEqual(again.from, '192.0.2.66');
    assert.ok(messageOneLength(again) > XX_MESSAGE_1, 'a new suspension tries IK again, with a fresh key');
    assert.deepEqual(received(alice), ['b1']);
    assert.equal(eventsOf(alice, 'lost').length + eventsOf(bob, 'lost').length, 0);
  });

  it('after the dialler said goodbye, makes no ghost', async () => {
    const { alice, bob, back } = await resumedOverIk();
    assert.equal(await alice.node.quit('bye'), true);
    await chat.until(() => eventsOf(bob, 'left').length > 0, 1_000, 'bob sees alice leave');
    assert.deepEqual(bob.node.who(), []);

    const since = bob.log.events.length;
    const replayed = await replay(bob, back.dialler.firstWrite);
    assert.equal(replayed.destroyed, true, 'the replayed session is closed');
    await chat.run(100);
    assert.deepEqual(sessionEventsSince(bob, since), [], 'no ghost joins');
    assert.equal(eventsOf(bob, 'connected').length, 1);
    assert.deepEqual(bob.node.who(), []);
  });
});

describe('an IK try that does not resume', () => {
  it('a listener started again with the same key: closed without a word, then XX starts a new conversation', async () => {
    chat = new MemoryChat();
    const { alice, bob } = await chat.pair();
    say(alice, 'a1');
    await chat.settle();
    const again = await chat.restart(bob);
    assert.equal(again.node.fingerprint, bob.node.fingerprint, 'same key');
    const since = again.log.events.length;
    const links = chat.network.links.length;

    await chat.until(() => chat.network.links.length > links, 2_000, 'alice dials');
    const ik = chat.network.links[links]!;
    assert.ok(messageOneLength(ik) > XX_MESSAGE_1, 'her first try is IK');
    await chat.settle();
    assert.equal(ik.dialler.destroyed, true, 'the IK try is closed');
    assert.deepEqual(again.log.events.slice(since), [], 'without a word from the restarted bob');
    assert.equal(eventsOf(alice, 'reconnected').length + eventsOf(alice, 'lost').length, 0, 'it neither resumed nor ended anything');

    await chat.until(() => eventsOf(alice, 'lost').length > 0, 2_000, 'alice loses the old conversation');
    const xx = chat.network.links[links + 1]!;
    assert.equal(messageOneLength(xx), XX_MESSAGE_1, 'her next try is XX');
    const [lost] = eventsOf(alice, 'lost');
    assert.match(lost?.message ?? '', /it came back with a new conversation$/);
    assert.equal(lost?.unacknowledged, 1);
    assert.equal(eventsOf(alice, 'reconnected').length, 0);
    await chat.settle();
    assert.deepEqual(again.log.events.slice(since).map((e) => e.type), ['connected'], 'the restarted bob only saw the new conversation');
    assert.equal(alice.node.peerCount, 1, 'the new conversation is in the room');
    say(alice, 'a2');
    await chat.run(100);
    assert.deepEqual(received(again), ['a2']);
  });
});

/** A session of a raw listener: what it received and how it ended. */
interface RawSession {
  readonly conn: PeerConnection;
  readonly messages: SessionMessage[];
  outcome: CloseOutcome | undefined;
}

/**
 * A listener of another build at 192.0.2.1:5050 with a fixed key, spoken by hand: it lists
 * `features` and takes no IK message 1. It answers a conversation it has not seen as new, and one
 * it has as resumed (having received none of the dialler's messages).
 */
async function rawListener(features: readonly string[]): Promise<RawSession[]> {
  const keyPair = generateKeyPair();
  const sessions: RawSession[] = [];
  const known = new Set<string>();
  await chat.network.transport('192.0.2.1').listen({ host: '192.0.2.1', port: 5050, fallbackTries: 0 }, (stream) => {
    const conn = new PeerConnection(stream, {
      initiator: false,
      keyPair,
      localInfo: { name: 'host', version: PROTOCOL_VERSION, features },
      codec: PEER_MESSAGES,
      ...MEMORY_CONNECTION_TIMING,
      clock: chat.clock,
    });
    const session: RawSession = { conn, messages: [], outcome: undefined };
    sessions.push(session);
    conn.on('message', (m) => {
      session.messages.push(m);
      if (m.type !== 'conversation') return;
      conn.send(known.has(m.id) ? { type: 'conversation', id: m.id, received: 0, resumed: true } : { type: 'conversation', id: m.id, received: 0 });
      known.add(m.id);
    });
    conn.once('closed', (outcome) => (session.outcome = outcome));
    conn.start();
  });
  return sessions;
}

/** The conversation ids a raw session was named, in order. */
function named(session: RawSession | undefined): string[] {
  return (session?.messages ?? []).flatMap((m) => (m.type === 'conversation' ? [m.id] : []));
}

/** The chat lines a raw session received. */
function chats(session: RawSession | undefined): string[] {
  return (session?.messages ?? []).flatMap((m) => (m.type === 'chat' ? [m.text] : []));
}

/**
 * Alice talks to a raw listener of `features`; her link is cut, she says a1 meanwhile, and comes
 * back. Returns the listener's sessions and the conversation she named first.
 */
async function cutFromRawListener(features: readonly string[]): Promise<{ sessions: RawSession[]; id: string }> {
  const sessions = await rawListener(features);
  const alice = chat.peer('alice', '192.0.2.2');
  await alice.node.connect('192.0.2.1', 5050);
  await chat.settle();
  const [id] = named(sessions[0]);
  assert.ok(id, 'alice named a conversation');
  chat.network.last.dialler.destroy();
  await chat.settle();
  say(alice, 'a1');
  await chat.until(() => eventsOf(alice, 'reconnected').length > 0, 3_000, 'alice reconnected');
  await chat.run(100);
  assert.equal(eventsOf(alice, 'reconnected').length, 1);
  assert.equal(eventsOf(alice, 'lost').length, 0);
  return { sessions, id };
}

describe('a peer that does not take IK', () => {
  it('one that does not list "ik" is resumed over XX', async () => {
    chat = new MemoryChat();
    const { sessions, id } = await cutFromRawListener(FEATURES.filter((f) => f !== 'ik'));
    assert.equal(chat.network.links.length, 2, 'one try was enough');
    assert.equal(messageOneLength(chat.network.last), XX_MESSAGE_1, 'the resume runs XX');
    assert.deepEqual(named(sessions[1]), [id], 'and names the same conversation once the session is up');
    assert.deepEqual(chats(sessions[1]), ['a1'], 'what alice said meanwhile is sent on the new session');
  });

  it('one that lists "ik" but does not take it: the IK try fails, the next one resumes over XX', async () => {
    chat = new MemoryChat();
    assert.ok(FEATURES.includes('ik'));
    const { sessions, id } = await cutFromRawListener(FEATURES);
    const [, ik, xx, ...more] = chat.network.links;
    assert.ok(ik && xx, 'alice tried twice');
    assert.equal(more.length, 0, 'and no more');
    assert.ok(messageOneLength(ik) > XX_MESSAGE_1, 'her first try is IK');
    assert.equal(sessions[1]?.outcome?.kind, 'failed', 'which the listener could not read');
    assert.deepEqual(named(sessions[1]), []);
    assert.equal(messageOneLength(xx), XX_MESSAGE_1, 'her next try is XX');
    assert.deepEqual(named(sessions[2]), [id], 'and resumes the same conversation');
    assert.deepEqual(chats(sessions[2]), ['a1']);
  });
});
