// A client that speaks the protocol correctly but lies: it claims to pass on other people's
// messages and presence, renames itself to a nickname known with another key, sends types the chat
// does not use, or says goodbye at great length. The listener must not believe it, drop it for
// the types, or pass on more than the limits. Regression tests for the first security review.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrCreateIdentity } from '../../src/secure/identity-store.js';
import { DELIVERY_MESSAGE_TYPES } from '../../src/session/delivery-messages.js';
import { FILE_MESSAGE_TYPES } from '../../src/session/file-messages.js';
import { PATH_MESSAGE_TYPES } from '../../src/session/path-messages.js';
import type { PeerConnection } from '../../src/session/peer-connection.js';
import { TEXT_LIMITS } from '../../src/session/message-fields.js';
import { MESSAGE_TYPES } from '../../src/session/session-messages.js';
import { cleanupPeers, PeerProcess, startListener, tempHome } from '../helpers/peer-process.js';
import { tcp, TestPeer } from '../helpers/relay-testnet.js';

const connections: PeerConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await cleanupPeers();
});
after(cleanupPeers);

async function rawClient(port: number, name: string): Promise<PeerConnection> {
  const peer = new TestPeer(await tcp(port), loadOrCreateIdentity(tempHome()), name, true);
  connections.push(peer.connection);
  await peer.established;
  return peer.connection;
}

describe('a lying client', { timeout: 60_000 }, () => {
  it('cannot make the listener show messages or presence of someone else', async () => {
    const { peer: host, port, fingerprint: hostFp } = await startListener(['--name', 'host']);
    const mallory = await rawClient(port, 'mallory');
    const someone = { name: 'alice', fingerprint: hostFp };
    mallory.send({ type: 'forwarded', from: someone, id: 'f1', time: Date.now(), text: 'forged message' });
    mallory.send({ type: 'presence', event: 'joined', peer: someone });
    mallory.send({ type: 'presence', event: 'left', peer: someone, reason: 'forged' });
    mallory.send({ type: 'chat', id: 'c1', time: Date.now(), text: 'marker after the lies' });

    await host.waitForEvent('message', (e) => e.text === 'marker after the lies' && e.from === 'mallory');
    assert.equal(host.events.some((e) => e.type === 'message' && e.text === 'forged message'), false);
    assert.equal(host.events.some((e) => e.type === 'joined'), false);
    assert.equal(host.events.some((e) => e.type === 'left'), false);
  });

  it('cannot end its session with a type the chat does not use: every unassigned type is ignored, whatever its body', async () => {
    const { peer: host, port } = await startListener(['--name', 'host']);
    const mallory = await rawClient(port, 'mallory');
    await host.waitForEvent('connected', (e) => e.name === 'mallory');
    const assigned = new Set<number>([
      ...Object.values(MESSAGE_TYPES),
      ...Object.values(DELIVERY_MESSAGE_TYPES),
      ...Object.values(FILE_MESSAGE_TYPES),
      ...Object.values(PATH_MESSAGE_TYPES),
    ]);
    const unassigned = Array.from({ length: 256 }, (_, code) => code).filter((code) => !assigned.has(code));
    // The relay's types (0x20-0x27) among them: a binary body once ended the session as a bad relay message.
    mallory.sendEncoded(unassigned.map((code) => Buffer.of(code, 0xff, 0x00, 0x7b)));
    mallory.send({ type: 'chat', id: 'c3', time: Date.now(), text: 'marker after the unknown types' });

    await host.waitForEvent('message', (e) => e.text === 'marker after the unknown types' && e.from === 'mallory');
    assert.equal(host.events.some((e) => e.type === 'lost' || e.type === 'left'), false, 'mallory is still connected');
  });

  for (const length of [60_000, 65_490]) {
    it(`cannot make the listener pass on or print a goodbye reason of ${length.toLocaleString('en-US')} characters: it is cut`, async () => {
      const { peer: host, port } = await startListener(['--name', 'host']);
      const alice = new PeerProcess(['connect', `127.0.0.1:${port}`, '--json', '--name', 'alice']);
      await host.waitForEvent('connected', (e) => e.name === 'alice');
      const mallory = await rawClient(port, 'mallory');
      await alice.waitForEvent('joined', (e) => e.name === 'mallory');
      // As a hostile peer writes it, past our own limits; it still fits in one frame.
      mallory.sendEncoded([Buffer.concat([Buffer.of(MESSAGE_TYPES.bye), Buffer.from(JSON.stringify({ reason: 'x'.repeat(length) }))])]);

      // Lengths first: a failure then does not print the whole reason.
      const cut = 'x'.repeat(TEXT_LIMITS.reason);
      const left = await host.waitForEvent('left', (e) => e.name === 'mallory');
      assert.equal(String(left.reason).length, cut.length);
      assert.ok(left.reason === cut);
      const told = await alice.waitForEvent('left', (e) => e.name === 'mallory');
      assert.equal(String(told.reason).length, cut.length, 'the other peer is told, with the reason cut to the limit');
      assert.ok(told.reason === cut);
      assert.equal(told.via, 'host');
      for (const peer of [host, alice]) {
        const longest = Math.max(...peer.stdoutLines.map((line) => line.length));
        assert.ok(longest < 1_000, `a line of ${longest} characters was printed`);
      }
    });
  }

  it('renaming to a nickname known with another key raises the warning, and rename floods are capped', async () => {
    const { peer: host, port } = await startListener(['--name', 'host']);
    const alice = new PeerProcess(['connect', `127.0.0.1:${port}`, '--json', '--name', 'alice']);
    await host.waitForEvent('connected', (e) => e.name === 'alice');
    alice.kill('SIGTERM');
    await host.waitForEvent('left', (e) => e.name === 'alice');

    const mallory = await rawClient(port, 'mallory');
    await host.waitForEvent('connected', (e) => e.name === 'mallory');
    for (let i = 0; i < 5; i++) mallory.send({ type: 'nick', name: i === 0 ? 'alice' : `flood${i}` });
    mallory.send({ type: 'chat', id: 'c2', time: Date.now(), text: 'marker after the renames' });

    await host.waitForEvent('message', (e) => e.text === 'marker after the renames');
    const warning = await host.waitForEvent('warning');
    assert.equal(warning.code, 'ERR_PEER_KEY_CHANGED');
    assert.match(String(warning.message), /"alice" is using key/);
    const renames = host.events.filter((e) => e.type === 'renamed');
    assert.deepEqual(renames.map((e) => e.name), ['alice'], 'later renames within 2 s are ignored');
  });
});
