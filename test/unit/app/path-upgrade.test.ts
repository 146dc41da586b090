// Moving a live conversation from a relayed path to a direct one, with whole ChatNodes on in-memory
// streams and one manual clock: the dialler offers, the listener answers, the dialler says when
// and dials; the direct session shows the same key and takes the conversation over with nothing
// lost or repeated (1,000 numbered lines both ways through the switch); tries are bounded and
// reported; a path that fails leaves the relayed one running; a peer without the feature, a
// --relay-only conversation and a listener's own conversations are never moved; a move that a
// lying peer or a breaking path interrupts leaves one conversation going, each line once.

import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import type { ChatNode } from '../../../src/app/chat-node.js';
import { PathUpgrade, type PathTools } from '../../../src/app/path-upgrade.js';
import type { PeerDirectory } from '../../../src/app/peer-directory.js';
import { reconnect } from '../../../src/app/reconnector.js';
import type { RoomPeer } from '../../../src/app/room.js';
import { chatError } from '../../../src/errors.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import { loadOrCreateIdentity } from '../../../src/secure/identity-store.js';
import { UPGRADE_FEATURE, type PathCandidate } from '../../../src/session/path-messages.js';
import { PeerConnection } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES } from '../../../src/session/session-messages.js';
import type { MemoryStream } from '../../helpers/memory-stream.js';
import { eventsOf, MEMORY_CONNECTION_TIMING, MemoryChat, type MemoryPeer, received, say } from '../../helpers/memory-chat.js';

let chat: MemoryChat;
afterEach(() => {
  chat?.close();
  mock.restoreAll();
});

const BOB = '192.0.2.1';
const ALICE = '192.0.2.2';
/** Where the "relay" listens: a second listener of bob's, so that its connections count as relayed on alice's side. */
const RELAY_PORT = 6000;

interface Lab {
  alice: MemoryPeer;
  bob: MemoryPeer;
  /** What each side's tools were asked: dials (alice) and opens (bob). */
  dials: PathCandidate[];
  opens: PathCandidate[];
  aliceUpgrade: PathUpgrade;
  bobUpgrade: PathUpgrade;
  /** Alice's member for bob: her side of the conversation, to send raw path messages on. */
  bobAtAlice: RoomPeer;
}

/**
 * Bob listens at BOB:5050 (his "direct" address) and BOB:RELAY_PORT (standing in for the relay's
 * splice); alice reaches him through the latter as a relayed session, and both run a PathUpgrade
 * whose tools dial bob's direct address over the memory network (`dialable`: whether it answers).
 */
async function lab(
  options: { upgrade?: boolean; dialable?: boolean; allowed?: boolean; timing?: Record<string, number>; onDirectWrite?: () => void } = {},
): Promise<Lab> {
  chat = new MemoryChat({ upgrade: options.upgrade ?? true });
  const bob = await chat.listener('bob', BOB, options.timing);
  // What arrives there bob takes as a relay's splice, as relay-invites.ts hands it over.
  await chat.network.transport(BOB).listen({ host: BOB, port: RELAY_PORT, fallbackTries: 0 }, (stream) =>
    bob.node.acceptOver(stream, { path: 'relayed', via: 'relay.example' }),
  );
  const alice = chat.peer('alice', ALICE, options.timing);
  const dials: PathCandidate[] = [];
  const opens: PathCandidate[] = [];
  const aliceTools: PathTools = {
    candidates: () => [{ kind: 'udp', host: '198.51.100.2', port: 41_000 }],
    dial: async (candidate) => {
      dials.push(candidate);
      if (options.dialable === false) throw chatError('ERR_CONNECT_FAILED', `cannot reach ${candidate.host}:${candidate.port}: timed out`);
      const stream = await chat.network.transport(ALICE).dial(candidate.host, candidate.port, { timeoutMs: 1_000, clock: chat.clock });
      const write = stream.write.bind(stream);
      stream.write = (chunk) => {
        options.onDirectWrite?.();
        write(chunk);
      };
      return stream;
    },
    open: () => assert.fail('the dialler opens nothing'),
  };
  const bobTools: PathTools = {
    candidates: () => [{ kind: 'tcp', host: BOB, port: 5050 }],
    dial: () => assert.fail('the listener dials nothing'),
    open: (candidate) => void opens.push(candidate),
  };
  const aliceUpgrade = upgradeOf(alice.node, aliceTools, options.allowed ?? true);
  const bobUpgrade = upgradeOf(bob.node, bobTools, true);
  let bobAtAlice: RoomPeer | undefined;
  alice.node.once('joined', (peer) => (bobAtAlice = peer));
  const stream = await chat.network.transport(ALICE).dial(BOB, RELAY_PORT, { timeoutMs: 1_000, clock: chat.clock });
  await alice.node.connectOver(stream, { path: 'relayed', via: 'relay.example' }, bob.node.fingerprint);
  return { alice, bob, dials, opens, aliceUpgrade, bobUpgrade, bobAtAlice: bobAtAlice! };
}

function upgradeOf(node: ChatNode, tools: PathTools, allowed: boolean): PathUpgrade {
  const upgrade = new PathUpgrade({ node, tools, allowed: () => allowed, emit: (event) => node.emit('event', event) });
  node.on('joined', (peer) => upgrade.joined(peer));
  node.on('path', (peer, message) => upgrade.receive(peer, message));
  return upgrade;
}

describe('a relayed conversation moves to a direct path', () => {
  it('at once, with the same key, and 1,000 lines each way through the switch arrive once each, in order', async () => {
    const aliceLines: string[] = [];
    const bobLines: string[] = [];
    const line = (peer: MemoryPeer, lines: string[]) => {
      const text = `${peer.node.name[0]}${lines.length}`;
      lines.push(text);
      say(peer, text);
    };
    // Bob says a line each time alice writes on the direct path (its handshake, then her count):
    // some of his go out on the relayed path after her count has, which she must not take twice.
    let moving = true;
    const { alice, bob, dials, opens } = await lab({ onDirectWrite: () => moving && line(bob, bobLines) });
    // Ten at a time each way, with the clock and what is in flight moving on between: the switch happens amid them.
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 10; j++) {
        line(alice, aliceLines);
        line(bob, bobLines);
      }
      chat.clock.advance(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [moved] = eventsOf(alice, 'path');
    assert.ok(moved, 'the move happened while the lines were said');
    moving = false;
    await chat.until(() => eventsOf(bob, 'path').length > 0, 2_000, 'the move');
    await chat.run(1_000);

    assert.deepEqual(
      { ...moved, rttMs: 0 },
      {
        type: 'path',
        peer: 'bob',
        fingerprint: bob.node.fingerprint,
        path: 'direct',
        transport: 'tcp',
        address: `${BOB}:5050`,
        // The same two nodes choose as they did for the relayed session.
        cipher: eventsOf(alice, 'connected')[0]!.cipher,
        rttMs: 0,
        resent: moved!.resent,
        previous: { path: 'relayed', via: 'relay.example', transport: 'tcp', address: `${BOB}:${RELAY_PORT}` },
      },
    );
    assert.equal(eventsOf(bob, 'path')[0]?.peer, 'alice');
    assert.deepEqual(dials, [{ kind: 'tcp', host: BOB, port: 5050 }], "alice dialled bob's candidate");
    assert.deepEqual(opens, [{ kind: 'udp', host: '198.51.100.2', port: 41_000 }], "bob opened his side toward alice's");
    assert.deepEqual(received(bob), aliceLines, 'every line of alice once, in order');
    assert.deepEqual(received(alice), bobLines, 'every line of bob once, in order');
    assert.equal(alice.node.unacknowledged + bob.node.unacknowledged, 0);
    assert.deepEqual(
      [alice.node.who().map((p) => [p.path, p.address]), bob.node.who().length],
      [[['direct', `${BOB}:5050`]], 1],
      'one bob, direct; one alice',
    );
    assert.equal(eventsOf(alice, 'reconnecting').length + eventsOf(bob, 'reconnecting').length, 0, 'a move is no reconnection');
    assert.equal(eventsOf(alice, 'lost').length + eventsOf(bob, 'lost').length + eventsOf(bob, 'left').length, 0);
    const relayed = chat.network.links.filter((link) => link.to === `${BOB}:${RELAY_PORT}`);
    assert.ok(relayed.every((link) => link.dialler.destroyed && link.listener.destroyed), 'the relayed path is closed');

    // And it goes on over the direct path, with no more tries.
    say(alice, 'after');
    await chat.run(20_000, 100);
    assert.equal(received(bob).at(-1), 'after');
    assert.equal(dials.length, 1);
  });

  it('a try that finds no path is reported, repeated a bounded number of times, and leaves the relayed path running', async () => {
    const timing = { upgradeRetryMs: 1_000, upgradeEarlyTries: 3, upgradeIntervalMs: 5_000, upgradeLaterTries: 2, upgradeAttemptMs: 500 };
    const { alice, bob, dials } = await lab({ dialable: false, timing });
    await chat.run(30_000, 50);
    const tries = eventsOf(alice, 'upgrade');
    // Each try fails at once (nothing answers); the next starts a spacing after the last one started.
    assert.deepEqual(
      tries.map((e) => [e.attempt, e.tries, e.retryInMs === undefined ? undefined : Math.ceil(e.retryInMs / 100) * 100]),
      [
        [1, 1, 1_000],
        [2, 2, 1_000],
        [3, 3, 5_000],
        [4, 4, 5_000],
        [5, 5, undefined],
      ],
    );
    assert.match(tries[0]!.message, /tcp 192\.0\.2\.1:5050: cannot reach/);
    assert.equal(dials.length, 5, 'five tries in all, then none');
    say(alice, 'still here');
    await chat.run(200);
    assert.deepEqual(received(bob), ['still here']);
    assert.equal(alice.node.who()[0]?.path, 'relayed');
    assert.equal(eventsOf(alice, 'path').length + eventsOf(bob, 'path').length, 0);
  });

  it('is not tried with a peer that does not take part, nor for a --relay-only conversation', async () => {
    for (const options of [{ upgrade: false }, { allowed: false }]) {
      const { alice, dials } = await lab(options);
      await chat.run(20_000, 100);
      assert.deepEqual([dials.length, eventsOf(alice, 'upgrade').length], [0, 0], JSON.stringify(options));
      chat.close();
    }
  });

  it('a listener answers no offer on a conversation that is direct already', async () => {
    const { alice, bobAtAlice, opens } = await lab();
    await chat.until(() => eventsOf(alice, 'path').length > 0, 2_000, 'the move');
    await chat.run(2_000, 100); // past the least gap between two offers
    const before = opens.length;
    let answers = 0;
    bobAtAlice.connection.on('message', (message) => {
      if (message.type === 'path-offer') answers++;
    });
    bobAtAlice.connection.send({ type: 'path-offer', attempt: 50, candidates: [{ kind: 'udp', host: '198.51.100.9', port: 9 }] });
    bobAtAlice.connection.send({ type: 'path-sync', attempt: 50 });
    await chat.run(2_000, 100);
    assert.deepEqual([answers, opens.length], [0, before]);
  });

  it("a listener answers a dialler's offers within a budget, and opens toward few of its candidates", async () => {
    const { bobAtAlice, opens } = await lab({ upgrade: true, allowed: false });
    const many = [
      ...Array.from({ length: 6 }, (_, i) => ({ kind: 'udp' as const, host: `198.51.100.${i + 1}`, port: 4_000 })),
      { kind: 'tcp-open' as const, host: '198.51.100.20', port: 4_001 },
      { kind: 'tcp-open' as const, host: '198.51.100.21', port: 4_001 },
    ];
    let answers = 0;
    const count = (message: { type: string }) => {
      if (message.type === 'path-offer') answers++;
    };
    // Alice's own tries are off (`allowed: false`): every offer here is one she writes by hand, a second apart.
    bobAtAlice.connection.on('message', count);
    for (let attempt = 1; attempt <= 10; attempt++) {
      bobAtAlice.connection.send({ type: 'path-offer', attempt, candidates: many });
      bobAtAlice.connection.send({ type: 'path-sync', attempt });
      await chat.run(1_000, 100);
    }
    assert.equal(answers, 4, 'four offers answered in the minute (a round of three tries, and one more), not ten');
    assert.deepEqual(
      opens.slice(0, 6).map((c) => c.host),
      ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.20', '198.51.100.21'],
      'four UDP and two TCP candidates of a try, no more',
    );
    assert.equal(opens.length, 4 * 6);
    // A repeated or lower try number is not answered either, even once the minute is over.
    await chat.run(60_000, 1_000);
    bobAtAlice.connection.send({ type: 'path-offer', attempt: 3, candidates: many });
    await chat.run(1_000, 100);
    assert.equal(answers, 4);
    bobAtAlice.connection.send({ type: 'path-offer', attempt: 11, candidates: many });
    await chat.run(1_000, 100);
    assert.equal(answers, 5);
  });

  it('a listener at its peer limit still takes a member it has over the direct path (the member is moving, not joining)', async () => {
    const { alice, bob } = await lab({ timing: { maxPeers: 1 } });
    await chat.run(1_000);
    assert.deepEqual(eventsOf(bob, 'rejected').map((e) => e.message), [], 'bob refuses nobody');
    assert.deepEqual([eventsOf(alice, 'path').length, eventsOf(bob, 'path').length], [1, 1], 'the conversation moved');
  });
});

/** A direct path to "bob" at BOB:`port` that is in fact a raw PeerConnection with bob's key, answering a move as `answer` says. */
async function fakeBob(lab: Lab, port: number, answer: (hello: { id: string; received: number }) => Record<string, unknown>): Promise<void> {
  const identity = loadOrCreateIdentity(lab.bob.home);
  await chat.network.transport(BOB).listen({ host: BOB, port, fallbackTries: 0 }, (stream) => {
    const conn = new PeerConnection(stream, {
      initiator: false,
      keyPair: identity.keyPair,
      localInfo: { name: 'bob', version: PROTOCOL_VERSION, features: [...FEATURES, UPGRADE_FEATURE] },
      codec: PEER_MESSAGES,
      ...MEMORY_CONNECTION_TIMING,
      clock: chat.clock,
    });
    conn.on('message', (message) => {
      if (message.type === 'conversation') conn.send(answer(message) as Parameters<PeerConnection['send']>[0]);
    });
    conn.start();
  });
}

/** Alice moves her conversation with bob to BOB:`port` by hand (no try of PathUpgrade's). */
async function moveTo(lab: Lab, port: number): Promise<unknown> {
  const stream = await chat.network.transport(ALICE).dial(BOB, port, { timeoutMs: 1_000, clock: chat.clock });
  return lab.alice.node.moveOver(stream, { path: 'direct' }, lab.bobAtAlice, () => true).then(
    () => 'moved',
    (err: { code?: string }) => err.code,
  );
}

/** From now on what reaches `stream` (data, its end and close) arrives `ms` later, in order: a slow path. */
function slowed(stream: MemoryStream, ms: number): void {
  const emit = stream.emit.bind(stream) as (event: string, ...args: unknown[]) => boolean;
  (stream as { emit: (event: string, ...args: unknown[]) => boolean }).emit = (event, ...args) => {
    if (event !== 'data' && event !== 'end' && event !== 'close') return emit(event, ...args);
    // A chunk is lent for its event only (byte-stream.ts): the late one is a copy.
    const late = event === 'data' ? [Buffer.from(args[0] as Buffer)] : args;
    chat.clock.setTimeout(() => emit(event, ...late), ms);
    return true;
  };
}

/**
 * Alice's reconnector (the real one, its jitter fixed at the top of each window) finds bob at the
 * "relay" port, which is `oneWayMs` slow toward her. MemoryChat's own reconnector finds nothing for
 * a relayed conversation (no direct address) and dials nothing.
 */
function reconnectsThroughRelay(lab: Lab, oneWayMs: number): void {
  mock.method(Math, 'random', () => 1);
  const transport = lab.alice.node.transport;
  const dial = transport.dial.bind(transport);
  transport.dial = async (host, port, options) => {
    const stream = await dial(host, port, options);
    if (port === RELAY_PORT) slowed(stream as MemoryStream, oneWayMs);
    return stream;
  };
  const directory = { browse: () => undefined, find: () => [{ addresses: [BOB], port: RELAY_PORT }] } as unknown as PeerDirectory;
  lab.alice.node.on('suspended', (peer, error) => {
    reconnect(lab.alice.node, peer, error, { mode: 'direct-only', directory, relay: () => undefined, emit: () => undefined });
  });
}

describe('a move under a hostile peer and a flaky network', () => {
  it('an answer to a move whose count cannot be leaves the conversation on its relayed path, working', async () => {
    const l = await lab({ allowed: false });
    say(l.alice, 'a1', 'a2');
    await chat.run(500);
    assert.equal(l.alice.node.unacknowledged, 0, 'bob acknowledged both');
    // "Bob" on the direct path says he has none of alice's messages: less than he acknowledged.
    await fakeBob(l, 7_000, (hello) => ({ type: 'conversation', id: hello.id, received: 0, resumed: true }));
    const moving = moveTo(l, 7_000);
    await chat.run(500);
    assert.equal(await moving, 'ERR_BAD_MESSAGE', 'the lying path is dropped');

    say(l.alice, 'a3');
    say(l.bob, 'b1');
    await chat.run(30_000, 100);
    assert.deepEqual(
      [received(l.bob), received(l.alice), eventsOf(l.alice, 'lost').map((e) => e.message)],
      [['a1', 'a2', 'a3'], ['b1'], []],
      'the chat goes on over the relay both ways, and is not lost',
    );
    assert.deepEqual(
      l.alice.node.who().map((p) => [p.path, 'away' in p && p.away === true]),
      [['relayed', false]],
      'bob is still there, relayed, not away',
    );
  });

  /**
   * Alice moves to a direct path that is slow toward her (`directMs`), and as her move goes out on
   * it bob says two lines on the relayed path (alice no longer reads there) and the relayed path
   * breaks. Alice's reconnector dials through the relay 40 ms later (IK first, which bob refuses
   * while the conversation is live on the direct path), and again 80 ms after that fails (XX).
   */
  async function breaksDuringSlowMove(paths: { directMs: number; relayMs: number }): Promise<Lab> {
    const l = await lab({ allowed: false, timing: { reconnectInitialMs: 40 } });
    reconnectsThroughRelay(l, paths.relayMs);
    const [relayed] = chat.network.links.filter((link) => link.to === `${BOB}:${RELAY_PORT}`);
    const direct = (await chat.network.transport(ALICE).dial(BOB, 5050, { timeoutMs: 1_000, clock: chat.clock })) as MemoryStream;
    slowed(direct, paths.directMs);
    const write = direct.write.bind(direct);
    let writes = 0;
    direct.write = (chunk) => {
      // Alice's writes: her preamble and message 1, message 3, then her `conversation` (move).
      if (++writes === 3) {
        say(l.bob, 'b1', 'b2');
        relayed!.dialler.destroy();
      }
      write(chunk);
    };
    void l.alice.node.moveOver(direct, { path: 'direct' }, l.bobAtAlice, () => true).catch(() => undefined);
    await chat.run(5_000);
    return l;
  }

  /** Each of bob's lines reached alice once, one conversation each side, not lost, and it goes on. */
  async function goesOnOnce(l: Lab): Promise<void> {
    assert.deepEqual(received(l.alice), ['b1', 'b2'], "each of bob's lines reaches alice once");
    assert.deepEqual(
      [eventsOf(l.alice, 'lost').length, eventsOf(l.bob, 'lost').length, l.alice.node.who().length, l.bob.node.who().length],
      [0, 0, 1, 1],
      'one conversation each side, not lost',
    );
    say(l.alice, 'a1');
    say(l.bob, 'b3');
    await chat.run(1_000);
    assert.deepEqual([received(l.bob), received(l.alice)], [['a1'], ['b1', 'b2', 'b3']], 'and it goes on');
  }

  it("the relayed path breaks during a move: the reconnect resumes first, then the move's late answer comes", async () => {
    await goesOnOnce(await breaksDuringSlowMove({ directMs: 300, relayMs: 0 }));
  });

  it("the relayed path breaks during a move: the move's answer resumes first, then the reconnect's answer comes", async () => {
    await goesOnOnce(await breaksDuringSlowMove({ directMs: 220, relayMs: 40 }));
  });

  it("the relayed path breaks during a move: the move's answer resumes first, while the reconnect's handshake is under way", async () => {
    await goesOnOnce(await breaksDuringSlowMove({ directMs: 180, relayMs: 40 }));
  });
});
