// Issue 10: a whole conversation held through the Conversation API with no CLI code, two peers in
// this process over loopback: a message each way, a file, a nick change and a goodbye; the
// commands' answers as plain data and coded errors; and the relay seeing the conversation's
// settings and current nickname.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppEvent } from '../../src/app/app-events.js';
import type { Conversation } from '../../src/app/conversation.js';
import { ChatNode } from '../../src/app/chat-node.js';
import { numberedName } from '../../src/session/file-names.js';
import { cleanupNodes, EventLog, tempConversation, tempIdentity } from '../helpers/chat-nodes.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { cleanupRelayTestnet, newIdentity, standInRelay, startRelay } from '../helpers/relay-testnet.js';

const dirs: string[] = [];
afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-chat-conversation-'));
  dirs.push(dir);
  return dir;
}

const LOOPBACK = { host: '127.0.0.1', port: 0, fallback: false } as const;

/** Start `conversation` and return its events from the start and the port it listens on, if any. */
async function started(conversation: Conversation): Promise<{ log: EventLog; port: number | undefined }> {
  const log = new EventLog(conversation);
  await conversation.start();
  const listening = log.events.find((e) => e.type === 'listening');
  return { log, port: listening?.type === 'listening' ? listening.port : undefined };
}

/** Alice listening on loopback, bob connected to her by address. */
async function pair(aliceOptions: Parameters<typeof tempConversation>[1] = {}, bobOptions: Parameters<typeof tempConversation>[1] = {}) {
  const alice = tempConversation('alice', { listen: LOOPBACK, ...aliceOptions });
  const { log: atAlice, port } = await started(alice);
  const bob = tempConversation('bob', bobOptions);
  const { log: atBob } = await started(bob);
  const summary = await bob.connect(`127.0.0.1:${port}`, { expect: alice.fingerprint });
  await atAlice.until((e) => e.type === 'connected');
  return { alice, bob, atAlice, atBob, port: port!, summary };
}

function ofType<T extends AppEvent['type']>(type: T, match: (e: Extract<AppEvent, { type: T }>) => boolean = () => true) {
  return (e: AppEvent): boolean => e.type === type && match(e as Extract<AppEvent, { type: T }>);
}

describe('a conversation through its API (issue 10)', { timeout: 30_000 }, () => {
  it('two peers: a message each way, a file, a nick change and a goodbye', async () => {
    const downloads = tempDir();
    const { alice, bob, atAlice, atBob, port, summary } = await pair({ files: { downloadDir: downloads, acceptFiles: 'any' } });
    assert.deepEqual([summary.name, summary.fingerprint, summary.path, summary.direction], ['alice', alice.fingerprint, 'direct', 'outgoing']);
    assert.equal(summary.address, `127.0.0.1:${port}`);
    assert.equal(alice.peerCount, 1);

    // A message each way.
    const sent = bob.send('hello alice');
    assert.equal(sent.text, 'hello alice');
    assert.equal(sent.recipients, 1);
    const atA = await atAlice.until(ofType('message'));
    assert.ok(atA.type === 'message');
    assert.deepEqual([atA.text, atA.from, atA.fingerprint, atA.id], ['hello alice', 'bob', bob.fingerprint, sent.id]);
    alice.send('waves', { action: true });
    const atB = await atBob.until(ofType('message'));
    assert.ok(atB.type === 'message');
    assert.deepEqual([atB.text, atB.from, atB.fingerprint, atB.action], ['waves', 'alice', alice.fingerprint, true]);

    // A file, accepted unasked into alice's download directory.
    const source = join(tempDir(), 'notes.bin');
    const bytes = randomBytes(300_000);
    writeFileSync(source, bytes);
    const offer = await bob.offerFiles([source]);
    assert.deepEqual(offer.skipped, { count: 0, under: [] });
    assert.equal(offer.transfers.length, 1);
    const { id, ...transfer } = offer.transfers[0]!;
    assert.deepEqual(transfer, {
      direction: 'send',
      peer: 'alice',
      fingerprint: alice.fingerprint,
      files: [{ path: 'notes.bin', size: bytes.length }],
      total: bytes.length,
      bytes: 0,
      state: 'offered',
    });
    const sentFile = await atBob.until(ofType('file-done', (e) => e.id === id));
    const gotFile = await atAlice.until(ofType('file-done', (e) => e.id === id));
    assert.ok(sentFile.type === 'file-done' && gotFile.type === 'file-done');
    assert.deepEqual([sentFile.direction, gotFile.direction, gotFile.peer, gotFile.dir], ['send', 'receive', 'bob', downloads]);
    assert.ok(readFileSync(join(downloads, 'notes.bin')).equals(bytes), 'the received file is byte-identical');
    assert.deepEqual(bob.transfers(), [], 'a finished transfer is no longer listed');

    // A nick change, sanitised, seen by the other side.
    assert.deepEqual(alice.nick('  ally\u0007 '), { name: 'ally' });
    assert.equal(alice.name, 'ally');
    const renamed = await atBob.until(ofType('renamed'));
    assert.ok(renamed.type === 'renamed');
    assert.deepEqual([renamed.oldName, renamed.name, renamed.fingerprint], ['alice', 'ally', alice.fingerprint]);
    assert.deepEqual(bob.who().map((p) => p.name), ['ally']);

    // A goodbye.
    assert.equal(await bob.quit('bye now'), true, 'everything bob sent was flushed');
    const left = await atAlice.until(ofType('left'));
    assert.ok(left.type === 'left');
    assert.deepEqual([left.name, left.fingerprint, left.reason], ['bob', bob.fingerprint, 'bye now']);
    assert.equal(alice.peerCount, 0);
    assert.deepEqual(alice.who(), []);
  });

  it('commands answer with plain data, and fail with coded errors', async () => {
    const { alice, bob, atAlice, atBob, port } = await pair();
    assert.equal(alice.peers(), undefined, 'LAN discovery is off');
    const [bobSees] = bob.who();
    assert.deepEqual(
      bobSees && [bobSees.name, bobSees.fingerprint, bobSees.address, bobSees.path, bobSees.direction],
      ['alice', alice.fingerprint, `127.0.0.1:${port}`, 'direct', 'outgoing'],
    );
    const [aliceSees] = alice.who();
    assert.deepEqual(aliceSees && [aliceSees.name, aliceSees.fingerprint, aliceSees.path, aliceSees.direction], ['bob', bob.fingerprint, 'direct', 'incoming']);

    assert.throws(() => alice.acceptFile(), { code: 'ERR_NO_SUCH_TRANSFER', message: 'no pending file offer' });
    const dir = tempDir();
    writeFileSync(join(dir, 'a.txt'), 'first');
    writeFileSync(join(dir, 'b.txt'), 'second offer');
    const first = (await bob.offerFiles([join(dir, 'a.txt')])).transfers[0]!;
    const second = (await bob.offerFiles([join(dir, 'b.txt')])).transfers[0]!;
    await atAlice.until(ofType('file-offer', (e) => e.id === second.id));
    assert.deepEqual(alice.transfers(), [
      { id: first.id, direction: 'receive', peer: 'bob', fingerprint: bob.fingerprint, files: [{ path: 'a.txt', size: 5 }], total: 5, bytes: 0, state: 'offered' },
      { id: second.id, direction: 'receive', peer: 'bob', fingerprint: bob.fingerprint, files: [{ path: 'b.txt', size: 12 }], total: 12, bytes: 0, state: 'offered' },
    ]);
    assert.throws(() => alice.acceptFile(), { code: 'ERR_NO_SUCH_TRANSFER', message: /^several of them/ });
    assert.equal(alice.acceptFile(first.id.slice(0, 6)).id, first.id);
    assert.equal(alice.declineFile().id, second.id, 'the only offer left');
    const declined = await atBob.until(ofType('file-error', (e) => e.id === second.id));
    assert.equal(declined.type === 'file-error' && declined.code, 'ERR_FILE_DECLINED');
    await atBob.until(ofType('file-done', (e) => e.id === first.id));
    assert.throws(() => bob.cancelFile(), { code: 'ERR_NO_SUCH_TRANSFER' });

    assert.throws(() => bob.send('x'.repeat(16 * 1024 + 1)), { code: 'ERR_MESSAGE_TOO_LONG' });
    await assert.rejects(bob.offerFiles([join(dir, 'missing')]), { code: 'ERR_FILE_UNREADABLE' });
    await assert.rejects(bob.connect('127.0.0.1:70000'), { code: 'ERR_BAD_PORT' });
  });

  it('reports offers in the order they came, though the first takes longer to look up', async () => {
    // Alice already has a.txt and every numbered name after it: predicting where the first offer
    // would be saved looks at each in turn, while the second's name is free at the first look.
    const downloadDir = tempDir();
    for (let n = 0; n < 1_000; n++) writeFileSync(join(downloadDir, n === 0 ? 'a.txt' : numberedName('a.txt', n)), '');
    const { bob, atAlice } = await pair({ files: { downloadDir, acceptFiles: 'ask' } });
    const dir = tempDir();
    writeFileSync(join(dir, 'a.txt'), 'first');
    writeFileSync(join(dir, 'b.txt'), 'second');
    const first = await bob.offerFiles([join(dir, 'a.txt')]);
    const second = await bob.offerFiles([join(dir, 'b.txt')]);
    await atAlice.until(ofType('file-offer', (e) => e.id === first.transfers[0]!.id));
    await atAlice.until(ofType('file-offer', (e) => e.id === second.transfers[0]!.id));
    const offers = atAlice.events.flatMap((e) => (e.type === 'file-offer' ? [e.id] : []));
    assert.deepEqual(offers, [first.transfers[0]!.id, second.transfers[0]!.id]);
  });

  it('a start that fails stops what it started and rejects with the coded error', async () => {
    const { port } = await started(tempConversation('first', { listen: LOOPBACK }));
    const second = tempConversation('second', { listen: { ...LOOPBACK, port: port! } });
    await assert.rejects(second.start(), { code: 'ERR_LISTEN_FAILED' });
    assert.equal(await second.quit(''), true, 'quitting again is harmless');
  });

  it('a quit while it is still binding leaves no port open behind it', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const early = tempConversation('early', { listen: { ...LOOPBACK, port } });
    const log = new EventLog(early);
    const starting = early.start();
    await early.quit('');
    await starting;
    assert.equal(log.count('listening'), 0);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    assert.equal(refused, true, `port ${port} was left listening`);
  });
});

describe('the conversation and its relay (issue 10, part 6)', { timeout: 30_000 }, () => {
  it("a relayed connect runs on the conversation's settings", async () => {
    const { address } = await standInRelay(); // never lets anyone register
    const bob = tempConversation('bob', { relays: [{ address }], timing: { relayRegisterTimeoutMs: 50 } });
    await bob.start();
    await assert.rejects(bob.connect(`${newIdentity().fingerprint}@127.0.0.1:9`, { mode: 'relay-only' }), {
      code: 'ERR_RELAY_UNREACHABLE',
      message: `cannot register with relay ${address.label} within 0.05 s`,
    });
  });

  it('after a nick change the relay finds the peer by its new name', async () => {
    const { relay, port, event } = await startRelay();
    const address = { host: '127.0.0.1', port, label: `127.0.0.1:${port}` };
    const alice = tempConversation('alice', { listen: LOOPBACK, relays: [{ address, pin: relay.fingerprint }] });
    const { log: atAlice } = await started(alice);
    await atAlice.until(ofType('relay', (e) => e.state === 'registered'));
    alice.nick('ally');
    await event('registered', (e) => e.name === 'ally' && e.fingerprint === alice.fingerprint);

    const bob = tempConversation('bob', { relays: [{ address, pin: relay.fingerprint }] });
    await bob.start();
    const summary = await bob.connect('ally', { mode: 'relay-only' });
    assert.deepEqual([summary.name, summary.fingerprint, summary.path, summary.via], ['ally', alice.fingerprint, 'relayed', address.label]);
    assert.equal(atAlice.count('relay'), 1, 'registering the new name is not reported as a new registration');
  });
});

describe('/nick: the sender and its peers agree (issue 12, item 1)', { timeout: 30_000 }, () => {
  it('a change within 2 s of the last waits its turn; the last one wins, everywhere', async () => {
    const clock = new ManualClock();
    const { alice, bob, atAlice, atBob } = await pair({ clock }, { clock });

    assert.deepEqual(alice.nick('bobby'), { name: 'bobby' });
    await atBob.until(ofType('renamed', (e) => e.name === 'bobby'));
    assert.deepEqual(atAlice.events.filter((e) => e.type === 'nick'), [{ type: 'nick', oldName: 'alice', name: 'bobby' }]);

    // Too soon: held, and said so. A second one takes its place.
    clock.advance(500);
    assert.deepEqual(alice.nick('b'), { name: 'b', deferredMs: 1_500 });
    assert.deepEqual(alice.nick(' bo '), { name: 'bo', deferredMs: 1_500 });
    assert.equal(alice.name, 'bobby', 'nothing has changed yet');
    assert.equal(atAlice.count('nick'), 1);

    clock.advance(1_500);
    assert.equal(alice.name, 'bo');
    assert.deepEqual(atAlice.events.filter((e) => e.type === 'nick').at(-1), { type: 'nick', oldName: 'bobby', name: 'bo' });
    const renamed = await atBob.until(ofType('renamed', (e) => e.name === 'bo'));
    assert.ok(renamed.type === 'renamed');
    assert.equal(renamed.oldName, 'bobby');
    assert.deepEqual(bob.who().map((p) => p.name), ['bo'], "bob's /who agrees with alice");
    assert.deepEqual(atBob.events.filter((e) => e.type === 'renamed').map((e) => e.type === 'renamed' && e.name), ['bobby', 'bo'], "'b' never went out");

    // Back to the name she has: a waiting change is dropped, nothing is sent.
    assert.deepEqual(alice.nick('x'), { name: 'x', deferredMs: 2_000 });
    assert.deepEqual(alice.nick('bo'), { name: 'bo' });
    clock.advance(5_000);
    assert.equal(alice.name, 'bo');
    assert.equal(atAlice.count('nick'), 2);
  });

  it('a receiver takes a rename that comes a little under 2 s after the last (delayed on the way)', async () => {
    const clock = new ManualClock();
    const node = (name: string) => {
      const { identity, knownPeers } = tempIdentity();
      return new ChatNode({ identity, knownPeers, name, clock });
    };
    const host = node('host');
    const guest = node('guest');
    const atHost = new EventLog(host);
    try {
      const port = await host.listen('127.0.0.1', 0, false);
      await guest.connect('127.0.0.1', port);
      await atHost.until(ofType('connected'));
      guest.rename('one');
      await atHost.until(ofType('renamed', (e) => e.name === 'one'));
      clock.advance(1_200);
      guest.rename('two');
      await atHost.until(ofType('renamed', (e) => e.name === 'two'));
      clock.advance(200);
      guest.rename('flood'); // 0.2 s after the last: ignored
      guest.say('after the flood');
      await atHost.until(ofType('message', (e) => e.text === 'after the flood'));
      clock.advance(1_000);
      guest.rename('four');
      await atHost.until(ofType('renamed', (e) => e.name === 'four'));
      assert.deepEqual(atHost.events.flatMap((e) => (e.type === 'renamed' ? [e.name] : [])), ['one', 'two', 'four']);
    } finally {
      host.abort();
      guest.abort();
    }
  });
});

describe('/who: everyone in the conversation, and how each is reached (issue 12, item 2)', { timeout: 30_000 }, () => {
  /** A conversation started and connected to `port`, with its events from the start. */
  async function guest(name: string, port: number) {
    const conversation = tempConversation(name);
    const { log } = await started(conversation);
    await conversation.connect(`127.0.0.1:${port}`);
    return { conversation, log };
  }

  const rows = (c: Conversation) => c.who().map((p) => [p.name, p.path, p.via ?? null]);

  it("a host's members are listed through it: present ones as here, later ones as joined", async () => {
    const alice = tempConversation('alice', { listen: LOOPBACK });
    const { port, log: atAlice } = await started(alice);
    const carol = await guest('carol', port!);
    await atAlice.until(ofType('connected', (e) => e.name === 'carol'));
    const bob = await guest('bob', port!);

    const here = await bob.log.until(ofType('joined', (e) => e.name === 'carol'));
    assert.deepEqual(here, { type: 'joined', name: 'carol', fingerprint: carol.conversation.fingerprint, via: 'alice', present: true });
    assert.deepEqual(rows(bob.conversation), [['alice', 'direct', null], ['carol', 'forwarded', 'alice']]);
    const [, viaAlice] = bob.conversation.who();
    assert.deepEqual(viaAlice, {
      name: 'carol',
      fingerprint: carol.conversation.fingerprint,
      address: `127.0.0.1:${port}`,
      path: 'forwarded',
      via: 'alice',
      hostFingerprint: alice.fingerprint,
      direction: 'outgoing',
    });
    // Carol, there first, hears of bob as joining now.
    const joined = await carol.log.until(ofType('joined', (e) => e.name === 'bob'));
    assert.equal(joined.type === 'joined' && joined.present, undefined);

    const dave = await guest('dave', port!);
    const later = await bob.log.until(ofType('joined', (e) => e.name === 'dave'));
    assert.equal(later.type === 'joined' && later.present, undefined, 'a later join is a join');
    assert.deepEqual(rows(bob.conversation), [['alice', 'direct', null], ['carol', 'forwarded', 'alice'], ['dave', 'forwarded', 'alice']]);

    // A member renamed, one left, and the host renamed: /who follows.
    carol.conversation.nick('caroline');
    await bob.log.until(ofType('renamed', (e) => e.name === 'caroline'));
    await dave.conversation.quit('bye');
    await bob.log.until(ofType('left', (e) => e.name === 'dave'));
    alice.nick('ally');
    await bob.log.until(ofType('renamed', (e) => e.name === 'ally'));
    assert.deepEqual(rows(bob.conversation), [['ally', 'direct', null], ['caroline', 'forwarded', 'ally']]);

    // The host goes: so does everyone reached through it.
    await alice.quit('closing');
    await bob.log.until(ofType('left', (e) => e.name === 'ally'));
    assert.deepEqual(bob.conversation.who(), []);
  });

  it('a second host makes two conversations, and the user is told', async () => {
    const alice = tempConversation('alice', { listen: LOOPBACK });
    const { port: alicePort } = await started(alice);
    const eve = tempConversation('eve', { listen: LOOPBACK });
    const { port: evePort, log: atEve } = await started(eve);
    const bob = await guest('bob', alicePort!);
    assert.equal(bob.log.count('conversations'), 0, 'one host: one conversation');

    await bob.conversation.connect(`127.0.0.1:${evePort}`);
    const split = await bob.log.until(ofType('conversations'));
    assert.deepEqual(split, { type: 'conversations', hosts: ['alice', 'eve'], hosting: false });

    // A host that dials another host: its own guests and the other's cannot see each other either.
    await atEve.until(ofType('connected', (e) => e.name === 'bob'));
    await eve.connect(`127.0.0.1:${alicePort}`);
    const atHost = await atEve.until(ofType('conversations'));
    assert.deepEqual(atHost, { type: 'conversations', hosts: ['alice'], hosting: true });
  });
});
