// Acknowledged delivery and resumable conversations between whole ChatNodes, over in-memory
// streams on a manual clock: what a hostile or merely unlucky peer can make a node keep, hold
// open or miscount. Raw peers (PeerConnections spoken by hand) play those that never acknowledge
// or never name their conversation.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../../src/app/app-events.js';
import { listFiles } from '../../../src/app/files/file-list.js';
import { ChatNode } from '../../../src/app/chat-node.js';
import { reconnect } from '../../../src/app/reconnector.js';
import { DEFAULTS, type Settings } from '../../../src/defaults.js';
import { chatError } from '../../../src/errors.js';
import { FEATURES, PROTOCOL_VERSION } from '../../../src/secure/handshake-payload.js';
import type { ByteStream } from '../../../src/net/byte-stream.js';
import { generateKeyPair, type KeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { PeerConnection, type CloseOutcome } from '../../../src/session/peer-connection.js';
import { PEER_MESSAGES, type SessionMessage } from '../../../src/session/session-messages.js';
import { cleanupNodes, tempIdentity } from '../../helpers/chat-nodes.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';

const HOST = '192.0.2.1';

const started: ChatNode[] = [];
const raws: PeerConnection[] = [];

afterEach(() => {
  for (const node of started.splice(0)) node.abort();
  for (const raw of raws.splice(0)) raw.destroy();
  cleanupNodes();
});

/** Let queued microtasks and immediates run (the in-memory streams deliver on microtasks). */
const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

interface Lab {
  readonly clock: ManualClock;
  readonly net: MemoryNetwork;
  node(name: string, host: string, timing?: Partial<Settings>, files?: ConstructorParameters<typeof ChatNode>[0]['files']): Peer;
  raw(name: string, from: string, options?: RawOptions): Promise<Raw>;
  /** Advance the clock `ms` in steps, letting the nodes answer in between. */
  run(ms: number, stepMs?: number): Promise<void>;
}

interface Peer {
  readonly node: ChatNode;
  readonly events: AppEvent[];
}

interface RawOptions {
  /** Name a conversation once the session is up (default true). */
  readonly hello?: boolean;
  /** Acknowledge each reliable message at once. */
  readonly ack?: boolean;
  readonly keyPair?: KeyPair;
  /** The conversation to name (default: a new one), and how many of the node's messages to claim. */
  readonly id?: string;
  readonly received?: number;
}

interface Raw {
  readonly conn: PeerConnection;
  readonly messages: SessionMessage[];
  outcome: CloseOutcome | undefined;
}

/** A PeerConnection spoken by hand over `stream` (not started), with what it receives collected. */
function rawPeer(stream: ByteStream, clock: ManualClock, name: string, initiator: boolean, keyPair: KeyPair): Raw {
  const conn = new PeerConnection(stream, {
    initiator,
    keyPair,
    localInfo: { name, version: PROTOCOL_VERSION, features: FEATURES },
    codec: PEER_MESSAGES,
    // It lists what this build lists, "ik" included: as a listener it takes IK message 1s.
    acceptEarly: !initiator,
    handshakeTimeoutMs: 10_000,
    keepaliveIntervalMs: 10_000,
    keepaliveTimeoutMs: 30_000,
    byeGraceMs: 2_000,
    maxQueuedBytes: 1 << 30,
    clock,
  });
  raws.push(conn);
  const raw: Raw = { conn, messages: [], outcome: undefined };
  conn.on('message', (m) => raw.messages.push(m));
  conn.once('closed', (outcome) => (raw.outcome = outcome));
  return raw;
}

function lab(): Lab {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  return {
    clock,
    net,
    node(name, host, timing = {}, files) {
      const { identity, knownPeers } = tempIdentity();
      const node = new ChatNode({ identity, knownPeers, name, clock, transport: net.transport(host), timing, ...(files ? { files } : {}) });
      started.push(node);
      const events: AppEvent[] = [];
      node.on('event', (event) => events.push(event));
      return { node, events };
    },
    async raw(name, from, options = {}) {
      const stream = await net.transport(from).dial(HOST, 5050, { timeoutMs: 1_000, clock });
      const raw = rawPeer(stream, clock, name, true, options.keyPair ?? generateKeyPair());
      const conn = raw.conn;
      let received = 0;
      conn.on('message', (m) => {
        if (options.ack && ['chat', 'nick', 'presence', 'forwarded'].includes(m.type)) conn.send({ type: 'ack', n: ++received });
      });
      if (options.hello !== false) conn.once('established', () => conn.send({ type: 'conversation', id: options.id ?? randomBytes(16).toString('hex'), received: options.received ?? 0 }));
      conn.start();
      return raw;
    },
    async run(ms, stepMs = 100) {
      for (let passed = 0; passed < ms; passed += stepMs) {
        await settle();
        clock.advance(Math.min(stepMs, ms - passed));
      }
      await settle();
    },
  };
}

/** The node's events of `type`. */
function of<T extends AppEvent['type']>(peer: Peer, type: T): Extract<AppEvent, { type: T }>[] {
  return peer.events.filter((e): e is Extract<AppEvent, { type: T }> => e.type === type);
}

/** A listener at HOST:5050. */
async function listener(l: Lab, timing: Partial<Settings> = {}, files?: Parameters<Lab['node']>[3]): Promise<Peer> {
  const peer = l.node('host', HOST, timing, files);
  await peer.node.listen(HOST, 5050, false);
  return peer;
}

/** A node at `from` that has dialled the listener, dialling it again (as Conversation does) when the conversation is suspended. */
async function dialler(l: Lab, name: string, from: string, timing: Partial<Settings> = {}): Promise<Peer> {
  const peer = l.node(name, from, timing);
  peer.node.on('suspended', (room, error) => reconnect(peer.node, room, error, { mode: 'auto', directory: undefined, relay: () => undefined, emit: (e) => peer.events.push(e) }));
  const joined = peer.node.connect(HOST, 5050);
  await l.run(100);
  await joined;
  return peer;
}

/**
 * Alice (quick to notice a silent path) talks to the host; the path goes silent, and she writes
 * on, as a pipe would, until her keep of unacknowledged lines is full. Returns how many she wrote.
 */
async function fullKeepCut(l: Lab): Promise<{ host: Peer; alice: Peer; sent: number }> {
  const host = await listener(l);
  const alice = await dialler(l, 'alice', '192.0.2.2', { keepaliveIntervalMs: 1_000, keepaliveTimeoutMs: 3_000 });
  l.net.linksTo(`${HOST}:5050`)[0]!.dialler.sever();
  let sent = 0;
  while (alice.node.canSend) alice.node.say(`${String(sent++).padStart(4, '0')} ${'x'.repeat(16_000)}`);
  return { host, alice, sent };
}

describe('acknowledged delivery between nodes', () => {
  it('delivers and acknowledges a line between two nodes', async () => {
    const l = lab();
    const host = await listener(l);
    const alice = await dialler(l, 'alice', '192.0.2.2');
    alice.node.say('hello');
    await l.run(300);
    assert.ok(of(host, 'message').some((e) => e.text === 'hello'));
    assert.equal(of(alice, 'delivered').length, 1);
    assert.equal(alice.node.unacknowledged, 0);
  });

  it('tells a host when its peers acknowledge what it passed on, not only its own lines', async () => {
    // settle() (the end of piped input) and paused input wait on 'acknowledged' / 'drain': an
    // acknowledgement that covers only forwarded chat or presence must wake them too.
    const l = lab();
    const host = await listener(l);
    await dialler(l, 'alice', '192.0.2.2');
    const bob = await dialler(l, 'bob', '192.0.2.3');
    await l.run(500);
    assert.equal(host.node.unacknowledged, 0);
    let acknowledged = 0;
    host.node.on('acknowledged', () => acknowledged++);
    bob.node.say('for alice, through the host');
    await l.run(50);
    assert.ok(host.node.unacknowledged > 0, 'the forwarded line waits for alice');
    await l.run(500);
    assert.equal(host.node.unacknowledged, 0, 'alice acknowledged it');
    assert.ok(acknowledged > 0, "the host's 'acknowledged' never came, so settle() waits out its whole timeout");
  });

  it('says drain when a peer that held up our input leaves', async () => {
    // Piped input pauses while a peer has maxUnackedMessages of ours unacknowledged and resumes on
    // 'drain'. When that peer goes, nothing holds the input any more.
    const l = lab();
    const host = await listener(l, { maxUnackedMessages: 5 });
    const mute = await l.raw('mute', '192.0.2.9');
    await l.run(100);
    for (let i = 0; i < 5; i++) host.node.say(`line ${i}`);
    assert.equal(host.node.canSend, false);
    let drains = 0;
    host.node.on('drain', () => drains++);
    await mute.conn.close('bye');
    await l.run(100);
    assert.equal(host.node.peerCount, 0);
    assert.equal(host.node.canSend, true);
    assert.ok(drains > 0, "no 'drain' after the peer left: piped input stays paused for ever");
  });

  it('says drain when the connection that held up our input is lost and the conversation suspended', async () => {
    const l = lab();
    const host = await listener(l);
    await l.raw('slow', '192.0.2.9', { ack: true });
    await l.run(100);
    // It stops reading: our writes pile up past the high-water mark, and piped input would pause.
    const link = l.net.linksTo(`${HOST}:5050`)[0]!;
    link.dialler.pause();
    while (host.node.canSend) host.node.say('x'.repeat(8_000));
    let drains = 0;
    host.node.on('drain', () => drains++);
    link.dialler.destroy(chatError('ERR_CONNECTION_LOST', 'reset'));
    await l.run(100);
    assert.equal(host.node.peerCount, 1, 'suspended, still in the room');
    assert.equal(host.node.canSend, true, 'a dead connection\'s queue holds up piped input');
    assert.ok(drains > 0, "no 'drain' after the connection was lost");
  });
});


describe('what a host keeps for its peers', () => {
  it('keeps a bounded amount for a suspended member while the room talks', async () => {
    const l = lab();
    const limit = 20;
    const host = await listener(l, { maxUnackedMessages: limit, resumeWindowMs: 120_000 });
    const alice = await dialler(l, 'alice', '192.0.2.2', { resumeWindowMs: 120_000 });
    const talker = await l.raw('talker', '192.0.2.8', { ack: true });
    await l.run(500);
    // Alice's path dies with a reset: both sides keep the conversation for her to come back.
    l.net.linksTo(`${HOST}:5050`)[0]!.dialler.destroy(chatError('ERR_CONNECTION_LOST', 'reset'));
    alice.node.abort(); // she will not be back soon
    await l.run(100);
    assert.equal(host.node.peerCount, 2, 'alice is suspended, still in the room');
    let most = 0;
    for (let i = 0; i < 20 * limit; i++) {
      talker.conn.send({ type: 'chat', id: `c${i}`, time: l.clock.now(), text: `line ${i}` });
      if (i % 10 === 9) await l.run(20, 20);
      most = Math.max(most, host.node.unacknowledged);
    }
    assert.ok(most <= 2 * limit + 1, `the host kept ${most} messages for a suspended member (limit ${limit})`);
    assert.match(of(host, 'lost')[0]?.message ?? '', /more was said meanwhile than can be kept for alice/);
    assert.equal(host.node.peerCount, 1);
  });

  it('keeps a bounded amount for a peer that lists acks but never acknowledges', async () => {
    const l = lab();
    const limit = 20;
    const host = await listener(l, { maxUnackedMessages: limit });
    const mute = await l.raw('mute', '192.0.2.9');
    const talker = await l.raw('talker', '192.0.2.8', { ack: true });
    await l.run(100);
    let most = 0;
    for (let i = 0; i < 20 * limit; i++) {
      talker.conn.send({ type: 'chat', id: `c${i}`, time: l.clock.now(), text: `line ${i}` });
      if (i % 10 === 9) await l.run(20, 20);
      most = Math.max(most, host.node.unacknowledged);
    }
    await l.run(200);
    assert.ok(forwarded(mute).length > limit, 'the mute peer was reading');
    assert.ok(most <= 4 * limit + 1, `the host kept ${most} unacknowledged messages for a peer that never acknowledges (limit ${limit}: four times it while connected)`);
    assert.match(mute.outcome?.kind === 'lost' ? mute.outcome.error.message : '', /./, 'the mute peer was cut off');
    assert.match(of(host, 'lost').find((e) => e.name === 'mute')?.message ?? '', /fell \d+ messages behind.*more was said meanwhile/);
  });

  it('does not let a peer that never acknowledges stop piped input for the others for good', async () => {
    const l = lab();
    const host = await listener(l, { maxUnackedMessages: 20 });
    const alice = await dialler(l, 'alice', '192.0.2.2');
    const mute = await l.raw('mute', '192.0.2.9');
    await l.run(200);
    let next = 0;
    const feed = () => {
      while (host.node.canSend && next < 200) host.node.say(`line ${next++}`);
    };
    host.node.on('drain', feed);
    feed();
    assert.ok(next < 200, 'the mute peer holds the input at first');
    // It answers keepalives (it reads), so only the acknowledgement deadline finds it out.
    await l.run(2 * DEFAULTS.keepaliveTimeoutMs + 10_000, 1_000);
    assert.equal(of(alice, 'message').length, 200, `alice got ${of(alice, 'message').length} of 200 lines: the mute peer holds the pipe`);
    const lost = of(host, 'lost').find((e) => e.name === 'mute');
    assert.equal(lost?.code, 'ERR_NOT_ACKNOWLEDGED');
    assert.equal(of(host, 'reconnecting').some((e) => e.peer === 'mute'), false, 'dropped for good, not waited for');
    assert.notEqual(mute.outcome, undefined);
  });
});

/** Chats as a raw peer's host passed them on. */
function forwarded(raw: Raw): Extract<SessionMessage, { type: 'forwarded' }>[] {
  return raw.messages.filter((m): m is Extract<SessionMessage, { type: 'forwarded' }> => m.type === 'forwarded');
}


describe('sessions waiting for their conversation message', () => {
  it('count against the peer limit', async () => {
    const l = lab();
    const host = await listener(l, { maxPeers: 1 });
    // Two strangers finish the handshake and say nothing yet; then both name a conversation.
    const first = await l.raw('first', '192.0.2.8', { hello: false });
    const second = await l.raw('second', '192.0.2.9', { hello: false });
    await l.run(100);
    for (const raw of [first, second]) raw.conn.send({ type: 'conversation', id: randomBytes(16).toString('hex'), received: 0 });
    await l.run(100);
    assert.ok(host.node.peerCount <= 1, `${host.node.peerCount} peers joined a listener that takes 1`);
  });

  it('are held within the handshake budget', async () => {
    const l = lab();
    await listener(l, { maxHandshakes: 2, maxHandshakesPerIp: 2 });
    const silent: Raw[] = [];
    for (let i = 0; i < 6; i++) {
      silent.push(await l.raw(`silent${i}`, `192.0.2.${10 + i}`, { hello: false }));
      await l.run(100);
    }
    const open = silent.filter((raw) => raw.outcome === undefined).length;
    assert.ok(open <= 2, `${open} sessions that never named a conversation are held open (handshake budget 2)`);
  });

  it('are closed when the node quits', async () => {
    const l = lab();
    const host = await listener(l);
    const silent = await l.raw('silent', '192.0.2.8', { hello: false });
    await l.run(100);
    assert.equal(silent.outcome, undefined);
    await host.node.quit('bye');
    await l.run(100);
    assert.notEqual(silent.outcome, undefined, 'the session was left open behind a node that quit');
  });
});


describe('strangers waiting to come back', () => {
  it('from one address, at most maxHandshakesPerIp are suspended at once: the oldest gives way', async () => {
    const l = lab();
    const host = await listener(l, { maxHandshakesPerIp: 4 });
    const other = await l.raw('elsewhere', '192.0.2.20');
    for (let i = 0; i < 6; i++) await l.raw(`s${i}`, '192.0.2.9');
    await l.run(100);
    assert.equal(host.node.peerCount, 7);
    // Every link drops without a goodbye, one after the other; the one from elsewhere too.
    for (const link of l.net.linksTo(`${HOST}:5050`)) {
      link.dialler.destroy(chatError('ERR_CONNECTION_LOST', 'reset'));
      await l.run(10, 10);
    }
    const lost = of(host, 'lost');
    assert.deepEqual(lost.map((e) => e.name), ['s0', 's1'], 'the two oldest strangers from 192.0.2.9 gave way');
    for (const e of lost) assert.match(e.message, /too many strangers from 192\.0\.2\.9 waiting to come back/);
    assert.equal(host.node.peerCount, 5, 'four from 192.0.2.9 and the one from elsewhere still wait');
    assert.equal(of(host, 'reconnecting').filter((e) => e.peer === 'elsewhere').length, 1);
    assert.equal(other.outcome?.kind, 'lost');
  });
});

describe('resuming', () => {
  it('resumes a suspended member in a room at its peer limit', async () => {
    const l = lab();
    const host = await listener(l, { maxPeers: 1 });
    const alice = await dialler(l, 'alice', '192.0.2.2');
    l.net.linksTo(`${HOST}:5050`)[0]!.dialler.destroy(chatError('ERR_CONNECTION_LOST', 'reset'));
    await l.run(20_000);
    assert.equal(of(alice, 'reconnected').length, 1, `alice never got back in: ${JSON.stringify(of(alice, 'reconnecting').at(-1))}`);
    assert.equal(host.node.peerCount, 1);
  });

  it('resumes after a cut with a full keep of our lines (what paused piped input leaves)', async () => {
    const l = lab();
    const { host, alice, sent } = await fullKeepCut(l);
    await l.run(20_000, 250);
    const got = of(host, 'message').map((e) => e.text.slice(0, 4));
    assert.ok(of(alice, 'reconnected').length > 0 && got.length === sent, `${got.length} of ${sent} lines arrived; alice reconnected ${of(alice, 'reconnected').length} times, lost: ${JSON.stringify(of(alice, 'lost'))}`);
    assert.deepEqual(got, Array.from({ length: sent }, (_, i) => String(i).padStart(4, '0')), 'each once, in order');
    assert.equal(of(alice, 'reconnected').length, 1);
    assert.equal(alice.node.unacknowledged, 0);
  });

  it('says goodbye only once a resend has gone out', async () => {
    const l = lab();
    const { host, alice, sent } = await fullKeepCut(l);
    for (let i = 0; i < 200 && of(alice, 'reconnected').length === 0; i++) {
      l.clock.advance(100);
      await Promise.resolve();
    }
    assert.equal(of(alice, 'reconnected').length, 1);
    const quit = alice.node.quit('done');
    await l.run(3_000);
    assert.equal(await quit, true);
    assert.equal(of(host, 'message').length, sent, 'every line arrived before the goodbye');
    assert.deepEqual(of(host, 'left').map((e) => e.unacknowledged), [undefined]);
  });

  it('carries the offers of a connection that a resume replaced while it still looked alive over to the new one', async () => {
    const l = lab();
    const host = await listener(l, {}, { downloadDir: tempIdentity().home, acceptFiles: 'ask' });
    // Alice notices a silent path long before the host does, and comes back on a new connection.
    const alice = await dialler(l, 'alice', '192.0.2.2', { keepaliveIntervalMs: 1_000, keepaliveTimeoutMs: 3_000 });
    const { home } = tempIdentity();
    writeFileSync(join(home, 'a.txt'), 'hello');
    alice.node.sendFiles((await listFiles([join(home, 'a.txt')])).files);
    // The offer waits for real file I/O: let real time pass as well as the clock's.
    for (let i = 0; i < 200 && of(host, 'file-offer').length === 0; i++) {
      await l.run(10, 10);
      await sleep(5);
    }
    assert.equal(of(host, 'file-offer').length, 1);
    l.net.silence(l.net.linksTo(`${HOST}:5050`)[0]!);
    await l.run(6_000, 250);
    assert.equal(of(alice, 'reconnected').length, 1);
    assert.equal(of(host, 'reconnected').length, 1);
    assert.equal(of(host, 'file-error').length, 0, 'the offer did not end with the old connection');
    assert.equal(of(host, 'file-offer').length, 1, 'the repeated offer is the same one: no second prompt');
    // The offer now lives on the new connection: accepting it delivers the file.
    host.node.files.accept();
    for (let i = 0; i < 200 && of(host, 'file-done').length === 0; i++) {
      await l.run(10, 10);
      await sleep(5);
    }
    assert.equal(of(host, 'file-done').length, 1, 'accepted after the resume, the file arrives over the new connection');
    assert.equal(of(alice, 'file-error').length, 0);
  });

  it('says goodbye on a connection whose resume was answered after the window closed', async () => {
    // The peer is a raw listener with a fixed key: it answers the first conversation at once, and
    // the resumption only after alice's window is over. Alice cannot take it up any more; a
    // goodbye tells the peer so, where a bare drop would leave it waiting out its own window.
    const l = lab();
    const keyPair = generateKeyPair();
    const sessions: Raw[] = [];
    await l.net.transport(HOST).listen({ host: HOST, port: 5050, fallbackTries: 0 }, (stream) => {
      const raw = rawPeer(stream, l.clock, 'host', false, keyPair);
      const conn = raw.conn;
      sessions.push(raw);
      if (sessions.length === 1) conn.on('message', (m) => m.type === 'conversation' && conn.send({ type: 'conversation', id: m.id, received: 0 }));
      conn.start();
    });
    const alice = await dialler(l, 'alice', '192.0.2.2', { resumeWindowMs: 1_000 });
    l.net.linksTo(`${HOST}:5050`)[0]!.dialler.destroy(chatError('ERR_CONNECTION_LOST', 'reset'));
    await l.run(500, 50);
    const second = sessions[1];
    const hello = second?.messages.find((m) => m.type === 'conversation');
    assert.ok(second && hello?.type === 'conversation', 'alice came back and named her conversation');
    await l.run(1_000, 50);
    assert.equal(of(alice, 'lost').length, 1, "alice's window is over");
    second.conn.send({ type: 'conversation', id: hello.id, received: 0, resumed: true });
    await l.run(3_000, 50);
    assert.equal(second.outcome?.kind, 'left', `the late session ended ${JSON.stringify(second.outcome)}`);
  });

  it('dials no more once the node has quit', async () => {
    const l = lab();
    const host = await listener(l);
    const alice = await dialler(l, 'alice', '192.0.2.2');
    // The host is gone for good (its listener closed, its connection reset): alice dials in vain.
    host.node.abort();
    await l.run(2_000);
    assert.ok(of(alice, 'reconnecting').length >= 2, 'alice is trying');
    const links = l.net.links.length;
    await alice.node.quit('bye');
    await l.run(20_000, 500);
    assert.equal(l.net.links.length, links, 'a dial after quit');
  });

  it('does not believe a resume claim before checking it', async () => {
    // A second session with alice's key and conversation claims to have more of the host's
    // messages than were sent: it is refused, and the live conversation goes on untouched.
    const l = lab();
    const host = await listener(l);
    const keyPair = generateKeyPair();
    const id = randomBytes(16).toString('hex');
    const alice = await l.raw('alice', '192.0.2.2', { ack: true, keyPair, id });
    await l.run(100);
    const liar = await l.raw('alice', '192.0.2.2', { keyPair, id, received: 1_000 });
    await l.run(100);
    assert.notEqual(liar.outcome, undefined, 'the claim was refused');
    host.node.say('still there?');
    await l.run(300);
    assert.ok(alice.messages.some((m) => m.type === 'chat' && m.text === 'still there?'), 'a refused claim cut the live conversation off');
    assert.equal(of(host, 'reconnecting').length, 0, 'the host took the live conversation for a suspended one');
  });
});
