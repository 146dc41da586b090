// First flights through a real relay on loopback (docs/protocol.md 9.2): whole ChatNodes whose
// transport records what each connection it dials writes and reads, and whose relay client keeps
// the first flight each dial carried. With both sides taking first flights, the dialler's
// handshake message 1 goes with its dial and the invited peer's message 2 with its answer, so
// neither data connection carries them; a peer of an older build (no `early` on its control
// session) and a relay of an older build (no `early` in its payload) still get every byte, in
// order; and a conversation cut and resumed through the relay sends its IK message 1 that way.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../src/app/app-events.js';
import { ChatNode } from '../../src/app/chat-node.js';
import { connectWithStrategy } from '../../src/app/connect-strategy.js';
import { listFiles } from '../../src/app/files/file-list.js';
import type { Invite } from '../../src/app/relay-client.js';
import type { RelayLink } from '../../src/app/relay-link.js';
import { reconnect } from '../../src/app/reconnector.js';
import type { ByteStream, Transport } from '../../src/net/byte-stream.js';
import { TCP_TRANSPORT } from '../../src/net/tcp-transport.js';
import { PREAMBLE } from '../../src/wire/preamble.js';
import { DATA_HELLO_LENGTH, DATA_PREAMBLE } from '../../src/wire/data-preamble.js';
import { cleanupNodes, EventLog, tempIdentity } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, dataConnection, linkedRelay, registered, startRelay, TestPeer, until } from '../helpers/relay-testnet.js';

/** XX's message 1 is the bare ephemeral key; IK's also carries our static key and a payload. */
const XX_MESSAGE_1 = 32;

const nodes: ChatNode[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) node.abort();
  cleanupNodes();
  await cleanupRelayTestnet();
});

/** A connection a node dialled (its relay's control and data connections), with its bytes both ways. */
interface Dialled {
  readonly stream: ByteStream;
  readonly written: Buffer[];
  readonly read: Buffer[];
}

/** TCP, keeping a copy of what every dialled connection writes and reads. */
function recordingTransport(dialled: Dialled[]): Transport {
  return {
    kind: 'tcp',
    listen: (options, onStream) => TCP_TRANSPORT.listen(options, onStream),
    async dial(host, port, options) {
      const stream = await TCP_TRANSPORT.dial(host, port, options);
      const record: Dialled = { stream, written: [], read: [] };
      const { write, writev } = stream;
      stream.write = (chunk) => {
        record.written.push(Buffer.from(chunk));
        write.call(stream, chunk);
      };
      stream.writev = (chunks) => {
        for (const chunk of chunks) record.written.push(Buffer.from(chunk));
        writev.call(stream, chunks);
      };
      stream.on('data', (chunk) => record.read.push(Buffer.from(chunk)));
      dialled.push(record);
      return stream;
    },
  };
}

/** The data connections among `dialled`, in the order they were opened. */
function dataConnections(dialled: readonly Dialled[]): Dialled[] {
  return dialled.filter((d) => Buffer.concat(d.written).subarray(0, DATA_PREAMBLE.length).equals(DATA_PREAMBLE));
}

/** What a data connection wrote after its data preamble and token: the peer session's bytes. */
function sessionBytesWritten(d: Dialled): Buffer {
  return Buffer.concat(d.written).subarray(DATA_HELLO_LENGTH);
}

const startsWithPreamble = (bytes: Buffer) => bytes.subarray(0, PREAMBLE.length).equals(PREAMBLE);

/** The length of the handshake message 1 in a first flight (preamble, 2-byte length, message). */
function messageOneLength(flight: Buffer): number {
  assert.ok(startsWithPreamble(flight), 'a first flight starts with the preamble');
  return flight.readUInt16BE(PREAMBLE.length);
}

interface Peer {
  readonly node: ChatNode;
  readonly log: EventLog;
  readonly dialled: Dialled[];
  readonly downloads: string;
  readonly link: RelayLink;
  /** The first flight of every dial through the relay (undefined: the dial carried none). */
  readonly dials: Array<Buffer | undefined>;
  /** Every invitation the relay sent us. */
  readonly invites: Invite[];
}

type Relay = Awaited<ReturnType<typeof startRelay>>;

/** A node on loopback using `relay`; listening (and so invited) when `listens`. */
async function peer(name: string, relay: Relay, listens: boolean): Promise<Peer> {
  const { home, identity, knownPeers } = tempIdentity();
  const downloads = join(home, 'downloads');
  mkdirSync(downloads);
  const dialled: Dialled[] = [];
  const node = new ChatNode({
    identity,
    knownPeers,
    name,
    transport: recordingTransport(dialled),
    files: { downloadDir: downloads, acceptFiles: 'any' },
  });
  nodes.push(node);
  const log = new EventLog(node);
  const port = listens ? await node.listen('127.0.0.1', 0, false) : 0;
  const address = { host: '127.0.0.1', port: relay.port, label: `127.0.0.1:${relay.port}` };
  const link = linkedRelay(node, { relays: [{ address, pin: relay.relay.fingerprint }], identity, port }, () => undefined);
  const dials: Array<Buffer | undefined> = [];
  const dial = link.client.dial.bind(link.client);
  link.client.dial = (fingerprint, early) => {
    dials.push(early);
    return dial(fingerprint, early);
  };
  const invites: Invite[] = [];
  link.client.on('invite', (invite) => invites.push(invite));
  if (listens) await relay.event('registered', (e) => e.fingerprint === identity.fingerprint);
  return { node, log, dialled, downloads, link, dials, invites };
}

/** `from` dials `to` through the relay, as `connect --relay-only` does, and dials it again whenever it is cut. */
function connectRelayed(from: Peer, fingerprint: string) {
  from.node.on('suspended', (member, error) => {
    reconnect(from.node, member, error, { mode: 'relay-only', directory: undefined, relay: () => from.link, emit: (e) => from.node.emit('event', e) });
  });
  return connectWithStrategy(from.node, { label: 'them', candidates: [], expect: fingerprint, relay: from.link, mode: 'relay-only' });
}

const messages = (p: Peer) => p.log.events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
const isMessage = (text: string) => (e: AppEvent) => e.type === 'message' && e.text === text;

/** A line each way, then a file from `from` to `to`, byte for byte. */
async function chatAndFile(from: Peer, to: Peer): Promise<void> {
  from.node.say('hello through the relay');
  await to.log.until(isMessage('hello through the relay'));
  to.node.say('and back');
  await from.log.until(isMessage('and back'));

  const source = join(from.downloads, 'sent.bin');
  const bytes = randomBytes(200_000);
  writeFileSync(source, bytes);
  from.node.sendFiles((await listFiles([source])).files);
  await to.log.until((e) => e.type === 'file-done' && e.direction === 'receive');
  assert.ok(readFileSync(join(to.downloads, 'sent.bin')).equals(bytes), 'the file arrived byte for byte');
}

describe('first flights through a relay', { timeout: 60_000 }, () => {
  it('both taking them: message 1 goes with the dial, message 2 with the answer, neither on a data connection', async () => {
    const relay = await startRelay();
    const alice = await peer('alice', relay, true);
    const bob = await peer('bob', relay, false);

    const summary = await connectRelayed(bob, alice.node.fingerprint);
    assert.deepEqual([summary.path, summary.via], ['relayed', `127.0.0.1:${relay.port}`]);
    assert.equal(bob.link.client.carriesEarly, true);

    // Bob's preamble and XX message 1 went in the dial and came to alice in the invite.
    assert.equal(bob.dials.length, 1);
    const flight = bob.dials[0];
    assert.ok(flight);
    assert.equal(messageOneLength(flight), XX_MESSAGE_1);
    assert.equal(flight.length, PREAMBLE.length + 2 + XX_MESSAGE_1, 'the whole of message 1, nothing more');
    assert.equal(alice.invites.length, 1);
    assert.ok(alice.invites[0]!.early?.equals(flight), 'the invite carried the dial’s first flight');

    // Neither data connection carried its side's preamble and handshake message: they took the
    // control sessions. Bob read alice's answer (her preamble, message 2) on his.
    const [bobData] = dataConnections(bob.dialled);
    const [aliceData] = dataConnections(alice.dialled);
    assert.ok(bobData && aliceData, 'each opened a data connection');
    const bobSent = sessionBytesWritten(bobData);
    assert.ok(bobSent.length > 0, 'bob sent message 3 and on over it');
    assert.equal(startsWithPreamble(bobSent), false, 'no preamble after bob’s token');
    assert.equal(bobSent.indexOf(flight), -1, 'no message 1 on bob’s data connection');
    assert.equal(startsWithPreamble(sessionBytesWritten(aliceData)), false, 'no preamble after alice’s token');
    assert.equal(startsWithPreamble(Buffer.concat(bobData.read)), true, 'the relay wrote alice’s answer to bob’s data connection first');

    await chatAndFile(bob, alice);
    await relay.event('session-open', (e) => e.a.fingerprint === bob.node.fingerprint && e.b.fingerprint === alice.node.fingerprint);
  });

  it('to a peer that does not take them, the relay puts the first flight in front of the dialler’s data connection', async () => {
    const relay = await startRelay();
    const bob = await peer('bob', relay, false);
    // A peer of an older build: its control session lists no `early`; it reads its whole session
    // on its data connection.
    const old = await relay.client('old');
    await registered(old);

    const connecting = connectRelayed(bob, old.fingerprint);
    const invite = await old.waitFor('invite');
    assert.equal('early' in invite, false, 'the invite brings no first flight');
    const session = new TestPeer(await dataConnection(relay.port, invite.token), old.identity, 'old', false);
    const summary = await connecting;
    await session.established;
    assert.deepEqual([summary.name, summary.path], ['old', 'relayed']);

    // Bob did send his first flight with the dial, and not on his data connection: the old peer
    // read it from what the relay put in front.
    assert.equal(bob.dials.length, 1);
    assert.ok(bob.dials[0] && startsWithPreamble(bob.dials[0]));
    const [bobData] = dataConnections(bob.dialled);
    assert.ok(bobData);
    assert.equal(startsWithPreamble(sessionBytesWritten(bobData)), false);
    assert.equal(startsWithPreamble(Buffer.concat(bobData.read)), true, 'the old peer’s preamble came over the splice');

    bob.node.say('hello, older build');
    await session.waitFor('chat', (m) => m.text === 'hello, older build');
    session.connection.send({ type: 'chat', id: 'o1', time: Date.now(), text: 'hello from the past' });
    await bob.log.until(isMessage('hello from the past'));
  });

  it('through a relay that does not carry them, the dialler sends everything on its data connection', async () => {
    const relay = await startRelay({}, { features: ['relay'] });
    const alice = await peer('alice', relay, true);
    const bob = await peer('bob', relay, false);

    await connectRelayed(bob, alice.node.fingerprint);
    assert.equal(bob.link.client.carriesEarly, false);
    assert.deepEqual(bob.dials, [undefined], 'the dial carried no first flight');
    assert.equal(alice.invites.length, 1);
    assert.equal(alice.invites[0]!.early, undefined);

    const [bobData] = dataConnections(bob.dialled);
    const [aliceData] = dataConnections(alice.dialled);
    assert.ok(bobData && aliceData);
    const bobSent = sessionBytesWritten(bobData);
    assert.equal(startsWithPreamble(bobSent), true, 'bob’s preamble right after his token');
    assert.equal(bobSent.readUInt16BE(PREAMBLE.length), XX_MESSAGE_1, 'then his message 1');
    assert.equal(startsWithPreamble(sessionBytesWritten(aliceData)), true, 'alice’s preamble right after her token');

    await chatAndFile(bob, alice);
  });

  it('a conversation cut and resumed through the relay sends IK message 1 as its first flight; lines said meanwhile arrive once', async () => {
    const relay = await startRelay();
    const alice = await peer('alice', relay, true);
    const bob = await peer('bob', relay, false);
    await connectRelayed(bob, alice.node.fingerprint);
    await alice.log.until((e) => e.type === 'connected');
    bob.node.say('b0');
    alice.node.say('a0');
    await alice.log.until(isMessage('b0'));
    await bob.log.until(isMessage('a0'));

    // Cut bob's data connection: the relay ends alice's. Each says a line while it waits (bob
    // dials again after his backoff, a quarter of a second or so).
    const [first] = dataConnections(bob.dialled);
    first!.stream.destroy();
    const meanwhile = async (p: Peer, line: string) => {
      await p.log.until((e) => e.type === 'reconnecting');
      assert.equal(p.node.say(line).pending, 1, `${line} was said while the conversation was suspended`);
    };
    await Promise.all([meanwhile(alice, 'a1'), meanwhile(bob, 'b1')]);
    await Promise.all([alice, bob].map((p) => p.log.until((e) => e.type === 'reconnected')));
    await alice.log.until(isMessage('b1'));
    await bob.log.until(isMessage('a1'));
    bob.node.say('b2');
    alice.node.say('a2');
    await alice.log.until(isMessage('b2'));
    await bob.log.until(isMessage('a2'));

    assert.deepEqual(messages(alice), ['b0', 'b1', 'b2'], 'each of bob’s lines once, in order');
    assert.deepEqual(messages(bob), ['a0', 'a1', 'a2'], 'each of alice’s lines once, in order');
    const reconnected = bob.log.events.find((e) => e.type === 'reconnected');
    assert.ok(reconnected?.type === 'reconnected');
    assert.equal(reconnected.path, 'relayed');

    // The second dial's first flight is IK's message 1 (bob knew alice's key and the conversation),
    // handed to alice in her invite; the new data connection again carries none of it.
    const resumedDials = bob.dials.slice(1);
    assert.ok(resumedDials.length >= 1, 'bob dialled again');
    const flight = resumedDials.at(-1);
    assert.ok(flight);
    assert.ok(messageOneLength(flight) > XX_MESSAGE_1, `IK message 1 (${messageOneLength(flight)} bytes)`);
    assert.ok(alice.invites.at(-1)!.early?.equals(flight));
    const second = dataConnections(bob.dialled).at(-1)!;
    assert.notEqual(second, first);
    assert.equal(startsWithPreamble(sessionBytesWritten(second)), false);
    await until(() => relay.events.filter((e) => e.type === 'session-open').length === 2, 'the second session to open');
  });
});
