// Answering a relay's invitations (app/relay-invites.ts) with a real ChatNode over loopback: the
// data connection is dialled with the node's own connect timeout, not the default one, a node
// that is quitting answers no invitation (nor keeps a data connection that opens as it quits), and
// an invitation sent twice is taken once.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatNode } from '../../src/app/chat-node.js';
import type { Invite } from '../../src/app/relay-client.js';
import { acceptRelayInvites } from '../../src/app/relay-invites.js';
import { encodeDataHello } from '../../src/wire/data-preamble.js';
import { PREAMBLE } from '../../src/wire/preamble.js';
import type { P2PChatError } from '../../src/errors.js';
import type { RelayAddress } from '../../src/net/relay-address.js';
import { loadOrCreateIdentity } from '../../src/secure/identity-store.js';
import { KnownPeers } from '../../src/secure/known-peers.js';
import { cleanupRelayTestnet, standInRelay, until } from '../helpers/relay-testnet.js';
import { unansweredPort, type UnansweredPort } from '../helpers/unanswered-port.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await cleanupRelayTestnet();
});

function node(connectTimeoutMs?: number): ChatNode {
  const home = mkdtempSync(join(tmpdir(), 'p2p-chat-invites-'));
  const n = new ChatNode({
    identity: loadOrCreateIdentity(home),
    knownPeers: KnownPeers.load(home),
    name: 'listener',
    ...(connectTimeoutMs !== undefined ? { timing: { connectTimeoutMs } } : {}),
  });
  cleanups.push(() => {
    n.abort();
    rmSync(home, { recursive: true, force: true });
  });
  return n;
}

/** A stand-in RelayClient connected to `relay`: invites are emitted by the test, answers kept. */
class Invites extends EventEmitter<{ invite: [Invite] }> {
  readonly answers: { token: string; early: Buffer }[] = [];
  constructor(readonly relay: RelayAddress) {
    super();
  }
  answer(token: string, early: Buffer): void {
    this.answers.push({ token, early });
  }
}

/** Invitations answered by a node whose connect times out in 0.3 s, to a "relay" that never answers. */
async function inviteIntoHole(): Promise<{ invites: Invites; errors: P2PChatError[] }> {
  const hole: UnansweredPort = await unansweredPort();
  cleanups.push(() => hole.close());
  const invites = new Invites({ host: '127.0.0.1', port: hole.port, label: `127.0.0.1:${hole.port}` });
  const errors: P2PChatError[] = [];
  acceptRelayInvites(node(300), invites, (err) => errors.push(err));
  return { invites, errors };
}

const invite = (n: number): Invite => ({ token: n.toString(16).padStart(64, '0'), from: { name: 'dialler', fingerprint: 'X' } });

describe('relay invitations', { timeout: 30_000 }, () => {
  it("dial the relay with the node's own connect timeout", async () => {
    const { invites, errors } = await inviteIntoHole();
    invites.emit('invite', invite(1));
    const [error] = await until(() => errors.length > 0 && errors, 'the data connection to time out');
    assert.equal(error!.code, 'ERR_CONNECT_FAILED');
    assert.match(error!.message, /timed out after 0\.3 s/);
  });

  it('a quitting node answers no invitation', async () => {
    const relay = await standInRelay();
    const invites = new Invites(relay.address);
    const listener = node();
    acceptRelayInvites(listener, invites, (err) => assert.fail(err.message));
    await listener.quit('');
    invites.emit('invite', invite(1));
    // A probe dialled after the invitation is accepted after any connection the invitation made.
    const probe = await new Promise<Socket>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: relay.address.port }, () => resolve(socket));
    });
    cleanups.push(() => probe.destroy());
    await until(() => relay.accepted.length >= 1, 'the probe to be accepted');
    assert.equal(relay.accepted.length, 1, 'only the probe reached the relay');
    assert.equal(relay.accepted[0]!.remotePort, probe.localPort);
  });

  it('a data connection that opens as the node quits is closed, not answered', async () => {
    const relay = await standInRelay();
    const invites = new Invites(relay.address);
    const listener = node();
    acceptRelayInvites(listener, invites, (err) => assert.fail(err.message));
    invites.emit('invite', invite(2)); // dialling now; connected only after quit() below
    void listener.quit('');
    const [socket] = await until(() => relay.accepted.length > 0 && relay.accepted, 'the data connection');
    let received = '';
    socket!.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    await until(() => socket!.closed || socket!.readableEnded, 'the node to close it');
    assert.match(received, /^P2PDATA/, 'it presented its token');
    assert.doesNotMatch(received, /P2PCHAT/, 'and started no handshake');
  });

  it('an invitation whose data connection could not be opened is taken again when the relay sends it again', async () => {
    const { invites, errors } = await inviteIntoHole();
    invites.emit('invite', invite(5));
    await until(() => errors.length > 0, 'the first data connection to time out');
    invites.emit('invite', invite(5));
    await until(() => errors.length > 1, 'a second try with the same token');
    assert.deepEqual(errors.map((e) => e.code), ['ERR_CONNECT_FAILED', 'ERR_CONNECT_FAILED']);
  });

  it('a first flight it will not take is declined at once: a bare preamble for an answer, and a data connection that ends', async () => {
    const relay = await standInRelay();
    const invites = new Invites(relay.address);
    acceptRelayInvites(node(), invites, (err) => assert.fail(err.message));
    // Not a handshake anyone could answer: a preamble, then a frame of garbage.
    const garbage = Buffer.concat([PREAMBLE, Buffer.from([0x00, 0x60]), Buffer.alloc(0x60, 7)]);
    invites.emit('invite', { ...invite(6), early: garbage });
    assert.deepEqual(invites.answers.map((a) => [a.token, a.early.toString('hex')]), [[invite(6).token, PREAMBLE.toString('hex')]]);
    const [socket] = await until(() => relay.accepted.length > 0 && relay.accepted, 'the data connection');
    let received = '';
    socket!.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    await until(() => socket!.readableEnded, 'it to end');
    assert.equal(received, encodeDataHello(invite(6).token).toString('latin1'), 'the token, then nothing');
  });

  it('an invitation sent again (the relay does, when we register anew) is taken once', async () => {
    const relay = await standInRelay();
    const invites = new Invites(relay.address);
    acceptRelayInvites(node(), invites, (err) => assert.fail(err.message));
    invites.emit('invite', invite(3));
    invites.emit('invite', invite(3));
    invites.emit('invite', invite(4));
    await until(() => relay.accepted.length >= 2, 'the data connections');
    // A probe dialled now is accepted after any data connection the invitations made.
    const probe = await new Promise<Socket>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: relay.address.port }, () => resolve(socket));
    });
    cleanups.push(() => probe.destroy());
    await until(() => relay.accepted.some((s) => s.remotePort === probe.localPort), 'the probe to be accepted');
    assert.equal(relay.accepted.length, 3, 'one data connection per token, and the probe');
  });
});
