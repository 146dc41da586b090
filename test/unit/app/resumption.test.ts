// Conversations that outlive their connection, with whole ChatNodes on in-memory streams and one
// manual clock: a cut leaves both sides suspended (the listener waits, the dialler dials again
// within 250 ms), the resumed conversation delivers every message exactly once and in order both
// ways, a window that runs out ends it as lost with what was never acknowledged, a link that went
// silent is replaced by the peer's new connection, and a goodbye ends it at once.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { delivered, eventsOf, MemoryChat, MEMORY_TIMING, received, say } from '../../helpers/memory-chat.js';

const WINDOW_MS = MEMORY_TIMING.resumeWindowMs!;

let chat: MemoryChat;
afterEach(() => chat?.close());

/** A new MemoryChat (closed after the test) with alice connected to bob. */
function pair(timing: Parameters<MemoryChat['pair']>[0] = {}) {
  chat = new MemoryChat();
  return chat.pair(timing);
}

describe('a conversation suspended by a reset and resumed', () => {
  it('both sides suspend, the dialler is back within 250 ms, and every message arrives once, in order, both ways', async () => {
    const { alice, bob } = await pair();
    const ids = say(alice, 'a1', 'a2');
    await chat.run(100); // acknowledged
    assert.deepEqual(delivered(alice), ids);
    ids.push(...say(alice, 'a3'));
    const bobIds = say(bob, 'b1');
    await chat.settle(); // arrived, not yet acknowledged
    ids.push(...say(alice, 'a4'));
    bobIds.push(...say(bob, 'b2'));
    chat.network.last.dialler.destroy(); // a4 and b2 are lost on the way
    await chat.settle();

    const [waiting] = eventsOf(bob, 'reconnecting');
    assert.deepEqual(waiting && { ...waiting, message: '' }, {
      type: 'reconnecting',
      peer: 'alice',
      fingerprint: alice.node.fingerprint,
      code: 'ERR_CONNECTION_LOST',
      message: '',
      attempt: 0,
      retryInMs: 0,
    });
    const [dialling] = eventsOf(alice, 'reconnecting');
    assert.ok(dialling, 'the dialler says it reconnects');
    assert.deepEqual([dialling.peer, dialling.fingerprint, dialling.code, dialling.attempt], ['bob', bob.node.fingerprint, 'ERR_CONNECTION_LOST', 1]);
    assert.ok(dialling.retryInMs >= 125 && dialling.retryInMs <= 250, `first retry in ${dialling.retryInMs} ms`);
    assert.equal(eventsOf(alice, 'lost').length + eventsOf(bob, 'lost').length, 0, 'nobody is told the peer is lost');
    assert.equal(alice.node.peerCount, 1, 'the suspended peer stays in the room');

    // Said while suspended: kept, sent once the peer is back.
    ids.push(...say(alice, 'a5'));
    bobIds.push(...say(bob, 'b3'));
    const links = chat.network.links.length;
    await chat.run(dialling.retryInMs - 1);
    assert.equal(chat.network.links.length, links, 'no dial before the announced wait');
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0 && eventsOf(bob, 'reconnected').length > 0, 100, 'reconnected');

    const back = eventsOf(alice, 'reconnected')[0]!;
    const { cipher } = eventsOf(alice, 'connected')[0]!;
    assert.deepEqual({ ...back, downtimeMs: 0 }, { type: 'reconnected', peer: 'bob', fingerprint: bob.node.fingerprint, path: 'direct', address: '192.0.2.1:5050', cipher, resent: 2, downtimeMs: 0 });
    assert.ok(back.downtimeMs >= dialling.retryInMs && back.downtimeMs < dialling.retryInMs + 20, `downtime ${back.downtimeMs} ms`);
    assert.equal(eventsOf(bob, 'reconnected')[0]?.resent, 2, 'bob sends b2 and b3 again');
    assert.equal(chat.network.links.length, links + 1, 'one dial did it');

    await chat.run(100);
    assert.deepEqual(received(bob), ['a1', 'a2', 'a3', 'a4', 'a5']);
    assert.deepEqual(received(alice), ['b1', 'b2', 'b3']);
    assert.deepEqual(delivered(alice), ids, 'each of alice’s lines delivered once, in order');
    assert.deepEqual(delivered(bob), bobIds);
    assert.equal(alice.node.unacknowledged + bob.node.unacknowledged, 0);
    assert.deepEqual(alice.node.undelivered(), []);
    assert.equal(eventsOf(alice, 'connected').length, 1, 'a resumption is not a new connection');
    assert.deepEqual(bob.node.who().map((p) => p.name), ['alice']);

    // And it goes on over the new connection.
    say(alice, 'a6');
    await chat.run(100);
    assert.deepEqual(received(bob).at(-1), 'a6');
    assert.equal(delivered(alice).length, 6);
  });

  it('/who shows a suspended peer as away until it is back', async () => {
    const { alice, bob } = await pair({ alice: { resumeWindowMs: 60_000 } });
    chat.network.down = true;
    chat.network.last.listener.destroy();
    await chat.settle();
    assert.deepEqual(bob.node.who().map((p) => [p.name, 'away' in p && p.away === true]), [['alice', true]]);
    assert.deepEqual(alice.node.who().map((p) => [p.name, 'away' in p && p.away === true]), [['bob', true]]);
    chat.network.down = false;
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0, 10_000, 'back');
    assert.deepEqual(bob.node.who().map((p) => [p.name, 'away' in p && p.away === true]), [['alice', false]]);
  });

  it('the resent count is what the peer lacked: nothing, when everything had been acknowledged', async () => {
    const { alice, bob } = await pair();
    say(alice, 'a1');
    say(bob, 'b1');
    await chat.run(100);
    chat.network.last.listener.destroy();
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0, 300, 'reconnected');
    assert.equal(eventsOf(alice, 'reconnected')[0]?.resent, 0);
    assert.equal(eventsOf(bob, 'reconnected')[0]?.resent, 0);
    await chat.run(100);
    assert.deepEqual([received(alice), received(bob)], [['b1'], ['a1']]);
  });

  it("the tries of an earlier suspension stop once it resumed: a later one is dialled for once, not twice", async () => {
    const { alice, bob } = await pair();
    chat.network.last.listener.destroy();
    await chat.settle();
    assert.equal(eventsOf(alice, 'reconnecting').length, 1, 'the first suspension has its try scheduled');
    // Back before that try, by a dial of its own (a /connect), and cut again at once.
    const back = alice.node.connect('192.0.2.1', 5050);
    await chat.settle();
    await back;
    assert.equal(eventsOf(alice, 'reconnected').length, 1);
    // The network is down for a while: every try of the second suspension fails, and so would a
    // stray one of the first.
    chat.network.down = true;
    chat.network.last.listener.destroy();
    await chat.settle();
    const refused = chat.network.refused;
    await chat.run(3_000, 10);
    const second = eventsOf(alice, 'reconnecting').slice(1);
    assert.deepEqual(second.map((e) => e.attempt), second.map((_, i) => i + 1), 'one run of attempts, numbered 1, 2, 3, …');
    assert.equal(chat.network.refused - refused, second.length - 1, 'one dial per attempt: the first suspension\'s try was dropped');
    chat.network.down = false;
    await chat.until(() => eventsOf(alice, 'reconnected').length === 2, 10_000, 'back again');
    assert.equal(bob.node.peerCount, 1, 'no second conversation from a stray dial');
    assert.equal(eventsOf(alice, 'connected').length, 1);
  });

  it('a link gone silent is found by both keepalives, each side suspends, and nothing is lost', async () => {
    // The listener notices first; the dialler a second later, then dials again.
    const { alice, bob } = await pair({ bob: { keepaliveTimeoutMs: 2_000 } });
    chat.network.last.dialler.sever();
    say(alice, 'into the void');
    say(bob, 'also lost');
    await chat.until(() => eventsOf(bob, 'reconnecting').length > 0, 3_000, 'bob suspends');
    assert.equal(eventsOf(bob, 'reconnecting')[0]?.code, 'ERR_KEEPALIVE_TIMEOUT');
    assert.equal(eventsOf(alice, 'reconnecting').length, 0, 'alice has not noticed yet');
    await chat.until(() => eventsOf(alice, 'reconnecting').length > 0, 2_000, 'alice suspends');
    assert.equal(eventsOf(alice, 'reconnecting')[0]?.code, 'ERR_KEEPALIVE_TIMEOUT');
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0, 300, 'reconnected');
    await chat.run(100);
    assert.deepEqual([received(alice), received(bob)], [['also lost'], ['into the void']]);
    assert.deepEqual([delivered(alice).length, delivered(bob).length], [1, 1]);
    assert.equal(eventsOf(bob, 'lost').length, 0);
  });

  it("the dialler's tries back off, doubling their window up to the maximum, and stop when the window closes", async () => {
    const { alice, bob } = await pair();
    chat.network.down = true;
    chat.network.last.dialler.destroy();
    await chat.run(WINDOW_MS + 20_000, 50);
    const tries = eventsOf(alice, 'reconnecting');
    assert.ok(tries.length >= 5, `${tries.length} tries`);
    tries.forEach((t, i) => {
      assert.equal(t.attempt, i + 1);
      const window = Math.min(250 * 2 ** i, 5_000);
      assert.ok(t.retryInMs >= window / 2 && t.retryInMs <= window, `try ${t.attempt}: ${t.retryInMs} ms in a window of ${window}`);
    });
    assert.equal(tries[1]?.code, 'ERR_CONNECT_FAILED', 'later tries say why the last dial failed');
    // Each announced try dials once, but the last: its time came after the window closed (or
    // within the same step, its failure then announcing no further try).
    const dials = chat.network.refused;
    assert.ok(dials === tries.length - 1 || dials === tries.length, `${dials} dials for ${tries.length} tries`);
    await chat.run(20_000, 100);
    assert.equal(chat.network.refused, dials, 'no dial once the window is over');
    assert.equal(eventsOf(alice, 'reconnecting').length, tries.length);
    assert.equal(eventsOf(bob, 'lost').length, 1);
  });
});

describe('a conversation not resumed within the window', () => {
  it('is lost on both sides exactly when the window ends, with the count it never acknowledged', async () => {
    const { alice, bob } = await pair();
    say(alice, 'a1');
    await chat.run(100);
    say(alice, 'a2');
    say(bob, 'b1', 'b2');
    await chat.settle();
    chat.network.down = true;
    chat.network.last.dialler.destroy();
    const cutAt = chat.clock.now();
    say(alice, 'a3');
    alice.node.rename('al'); // counted as unacknowledged, but not as an undelivered line
    await chat.run(WINDOW_MS - 1, 50);
    assert.equal(chat.clock.now(), cutAt + WINDOW_MS - 1);
    assert.equal(eventsOf(alice, 'lost').length + eventsOf(bob, 'lost').length, 0, 'still waiting a millisecond before');
    assert.equal(alice.node.unacknowledged, 3);
    await chat.run(1);

    const [lost] = eventsOf(alice, 'lost');
    assert.ok(lost, 'alice loses bob');
    assert.deepEqual({ ...lost, message: '' }, { type: 'lost', name: 'bob', fingerprint: bob.node.fingerprint, code: 'ERR_CONNECTION_LOST', message: '', unacknowledged: 2 });
    assert.match(lost.message, /not back within 10 s$/);
    const [gone] = eventsOf(bob, 'lost');
    assert.ok(gone, 'bob loses alice');
    assert.equal(gone.unacknowledged, 2, 'b1 and b2 arrived, but their ack never came');
    assert.deepEqual(alice.node.undelivered(), [{ name: 'bob', fingerprint: bob.node.fingerprint, count: 2 }]);
    assert.deepEqual(bob.node.undelivered(), [{ name: 'alice', fingerprint: alice.node.fingerprint, count: 2 }]);
    assert.equal(alice.node.peerCount + bob.node.peerCount, 0);
    assert.equal(alice.node.unacknowledged, 0, 'a lost peer is not waited for');

    // The dialler stops dialling once the window is over.
    chat.network.down = false;
    const links = chat.network.links.length;
    await chat.run(20_000, 100);
    assert.equal(chat.network.links.length, links);
    assert.equal(eventsOf(alice, 'connected').length, 1);
  });

  it('a lost conversation reports no unacknowledged count when everything had arrived', async () => {
    const { alice, bob } = await pair();
    say(alice, 'a1');
    await chat.run(100);
    chat.network.down = true;
    chat.network.last.dialler.destroy();
    await chat.run(WINDOW_MS, 100);
    const [lost] = eventsOf(alice, 'lost');
    assert.ok(lost && !('unacknowledged' in lost));
    assert.deepEqual(alice.node.undelivered(), []);
    assert.equal(eventsOf(bob, 'lost').length, 1);
  });

  it('a window of 0 never suspends: the connection is lost at once', async () => {
    const { alice, bob } = await pair({ alice: { resumeWindowMs: 0 }, bob: { resumeWindowMs: 0 } });
    chat.network.last.dialler.destroy();
    await chat.settle();
    assert.equal(eventsOf(alice, 'lost').length, 1);
    assert.equal(eventsOf(bob, 'lost').length, 1);
    assert.equal(eventsOf(alice, 'reconnecting').length + eventsOf(bob, 'reconnecting').length, 0);
  });
});

describe('a silent link and a new connection', () => {
  it("the listener takes the dialler's new connection for the same conversation while the old one still looks up", async () => {
    // Bob would take a minute to notice; alice notices in 3 s and dials again.
    const { alice, bob } = await pair({ bob: { keepaliveIntervalMs: 20_000, keepaliveTimeoutMs: 60_000 } });
    say(alice, 'a1');
    await chat.run(100);
    const old = chat.network.last;
    old.dialler.sever();
    say(alice, 'a2');
    say(bob, 'b1');
    await chat.until(() => eventsOf(alice, 'reconnected').length > 0, 4_000, 'reconnected');
    // Her first try, Noise IK, is refused: a message 1 (which a replay could bring too) does not
    // take a conversation off a connection that looks alive. Her second, XX, proves itself and does.
    const frame1 = (link: (typeof chat.network.links)[number]) => link.dialler.firstWrite?.readUInt16BE(8);
    assert.deepEqual(chat.network.links.map(frame1), [32, frame1(chat.network.links[1]!), 32]);
    assert.ok(frame1(chat.network.links[1]!)! > 32, 'the refused try was IK');

    // Bob had not noticed: the new connection suspends the old one for a moment, and takes its place.
    assert.deepEqual(
      eventsOf(bob, 'reconnecting').map((e) => [e.code, e.message, e.attempt]),
      [['ERR_CONNECTION_LOST', 'alice came back on a new connection', 0]],
    );
    const back = eventsOf(bob, 'reconnected')[0]!;
    assert.ok(back, 'bob resumes the conversation on the new connection');
    assert.deepEqual([back.resent, eventsOf(alice, 'reconnected')[0]?.resent], [1, 1]);
    assert.equal(old.listener.destroyed, true, 'the old connection is closed');
    assert.equal(eventsOf(bob, 'lost').length + eventsOf(bob, 'left').length, 0);
    assert.deepEqual(bob.node.who().map((p) => [p.name, p.address]), [['alice', chat.network.last.listener.remoteAddress]], 'one alice, at her new address');
    await chat.run(100);
    assert.deepEqual([received(alice), received(bob)], [['b1'], ['a1', 'a2']]);
    assert.equal(delivered(alice).length + delivered(bob).length, 3);

    // Long after, bob's keepalive on the old connection reports nothing.
    await chat.run(70_000, 1_000);
    assert.equal(eventsOf(bob, 'lost').length + eventsOf(bob, 'reconnecting').filter((e) => e.code === 'ERR_KEEPALIVE_TIMEOUT').length, 0);
    assert.equal(bob.node.peerCount, 1);
  });
});

describe('a goodbye ends the conversation at once', () => {
  it('the peer that quits is left, not suspended, and first hears what of its peer’s arrived', async () => {
    const { alice, bob } = await pair();
    const [b1] = say(bob, 'b1');
    await chat.settle(); // alice has it; her ack is not due yet
    const quit = alice.node.quit('see you');
    await chat.run(3_000, 100);
    assert.equal(await quit, true);
    const [left] = eventsOf(bob, 'left');
    assert.deepEqual(left, { type: 'left', name: 'alice', fingerprint: alice.node.fingerprint, reason: 'see you' });
    assert.deepEqual(delivered(bob), [b1], 'the goodbye carried the ack');
    assert.equal(eventsOf(bob, 'reconnecting').length + eventsOf(alice, 'reconnecting').length, 0);
    assert.equal(bob.node.peerCount, 0);
    assert.deepEqual(bob.node.undelivered(), []);
  });

  it('a listener that quits is not dialled again', async () => {
    const { alice, bob } = await pair();
    say(alice, 'a1');
    await chat.settle(); // bob has it; his ack is not due yet
    void bob.node.quit('closing');
    await chat.run(WINDOW_MS, 100);
    assert.equal(eventsOf(alice, 'left').length, 1);
    assert.equal(eventsOf(alice, 'reconnecting').length, 0);
    assert.equal(chat.network.links.length, 1);
    assert.deepEqual(delivered(alice).length, 1, 'bob acknowledged a1 in his goodbye');
  });
});
