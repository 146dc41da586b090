// How a ChatNode's input is held back by what peers have not acknowledged, with whole nodes in
// memory on a manual clock: at the unacknowledged limit canSend goes false (a suspended peer's
// kept messages count too), and the acks that make room emit `acknowledged` and `drain`, whatever
// the acknowledged messages were (a chat line, a nick change, a line a host passed on).

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryChat, received, type MemoryPeer } from '../../helpers/memory-chat.js';

let chat: MemoryChat;
afterEach(() => chat?.close());

/** Counts of the node's `drain` and `acknowledged` signals from now on. */
function signals(peer: MemoryPeer): { drain: number; acknowledged: number } {
  const counts = { drain: 0, acknowledged: 0 };
  peer.node.on('drain', () => counts.drain++);
  peer.node.on('acknowledged', () => counts.acknowledged++);
  return counts;
}

async function twoPeers(aliceLimit: number) {
  chat = new MemoryChat();
  return chat.pair({ alice: { maxUnackedMessages: aliceLimit } });
}

describe('input held back by unacknowledged messages', () => {
  it('canSend is false at the limit, and the ack that makes room emits acknowledged and drain', async () => {
    const { alice } = await twoPeers(2);
    const seen = signals(alice);
    alice.node.say('one');
    assert.equal(alice.node.canSend, true);
    alice.node.say('two');
    assert.equal(alice.node.canSend, false, 'two of two unacknowledged');
    await chat.run(100);
    assert.equal(alice.node.canSend, true);
    assert.deepEqual(seen, { drain: 1, acknowledged: 1 });
  });

  it("a suspended peer's kept messages count: input waits until it is back and has acknowledged them", async () => {
    const { alice, bob } = await twoPeers(3);
    chat.network.last.dialler.destroy();
    await chat.settle();
    for (const text of ['k1', 'k2', 'k3']) alice.node.say(text);
    // Counted from here: the cut itself may say drain (the peer no longer holds input up by its queue).
    const seen = signals(alice);
    assert.equal(alice.node.canSend, false, 'full while the peer is away');
    assert.equal(alice.node.unacknowledged, 3);
    await chat.until(() => alice.node.canSend, 500, 'room again');
    assert.deepEqual(seen, { drain: 1, acknowledged: 1 });
    assert.deepEqual(received(bob), ['k1', 'k2', 'k3']);
  });

  it('an ack that covers only nick changes (messages without an id) still signals acknowledged and drain', async () => {
    const { alice } = await twoPeers(2);
    const seen = signals(alice);
    alice.node.rename('al');
    alice.node.rename('ally');
    assert.equal(alice.node.unacknowledged, 2);
    assert.equal(alice.node.canSend, false, 'two nick changes fill a limit of two');
    await chat.run(100);
    assert.equal(alice.node.unacknowledged, 0, 'bob acknowledged both');
    assert.equal(alice.node.canSend, true);
    // Piped input paused at canSend false waits for `drain`; Conversation.settle for `acknowledged`.
    assert.equal(seen.acknowledged, 1, 'acknowledged is emitted for an ack that covers no chat line');
    assert.equal(seen.drain, 1, 'drain is emitted once there is room again');
  });

  it('a host whose input waits on lines it passed on is told when the member acknowledges them', async () => {
    chat = new MemoryChat();
    const host = await chat.listener('host', '192.0.2.1', { maxUnackedMessages: 2 });
    const alice = chat.peer('alice', '192.0.2.2');
    const carol = chat.peer('carol', '192.0.2.3');
    await chat.connect(alice, host);
    await chat.connect(carol, host);
    await chat.run(100); // the presence messages are acknowledged
    assert.equal(host.node.unacknowledged, 0);
    const seen = signals(host);
    carol.node.say('c1');
    carol.node.say('c2');
    await chat.settle();
    assert.equal(host.node.canSend, false, 'two forwarded lines wait for alice’s ack');
    await chat.run(100);
    assert.equal(host.node.canSend, true);
    assert.equal(seen.drain, 1, 'the host’s paused input is resumed');
  });
});
