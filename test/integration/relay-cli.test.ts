// The relay as users run it: `p2p-chat relay`, a listener registered with --relay, and `connect
// <name> --relay ... --relay-only` chatting through it; then the relay restarts and the listener
// re-registers by itself, so a new session works without restarting anyone.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { stripVTControlCharacters } from 'node:util';
import { cleanupPeers, PeerProcess, type PeerEvent } from '../helpers/peer-process.js';

afterEach(cleanupPeers);
after(cleanupPeers);

async function startRelay(port = 0): Promise<{ relay: PeerProcess; port: number; fingerprint: string }> {
  const relay = new PeerProcess(['relay', '--json', '--host', '127.0.0.1', '--port', String(port)]);
  const started = await relay.waitForEvent('started');
  return { relay, port: Number(started.port), fingerprint: String(started.fingerprint) };
}

const registered = (e: PeerEvent) => e.type === 'relay' && e.state === 'registered';

describe('p2p-chat relay from the command line', { timeout: 60_000 }, () => {
  it('a listener registers; connect by name through the relay chats both ways, path relayed', async () => {
    const { port: relayPort, fingerprint: relayFp } = await startRelay();
    const relayArg = `127.0.0.1:${relayPort}#${relayFp}`; // pinned: the relay's key is checked
    const alice = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--name', 'alice', '--relay', relayArg]);
    const aliceListening = await alice.waitForEvent('listening');
    await alice.waitFor(() => alice.events.find(registered), 'alice registered');

    const bob = new PeerProcess(['connect', 'alice', '--relay-only', '--json', '--name', 'bob', '--relay', relayArg]);
    const connected = await bob.waitForEvent('connected');
    assert.equal(connected.path, 'relayed');
    assert.equal(connected.via, `127.0.0.1:${relayPort}`);
    assert.equal(connected.fingerprint, aliceListening.fingerprint);
    const incoming = await alice.waitForEvent('connected');
    assert.equal(incoming.path, 'relayed');

    bob.send('through the relay');
    await alice.waitForEvent('message', (e) => e.text === 'through the relay');
    alice.send('and back');
    await bob.waitForEvent('message', (e) => e.text === 'and back');
  });

  it('a full relay says ERR_RELAY_FULL and the peer keeps retrying', async () => {
    const relay = new PeerProcess(['relay', '--json', '--host', '127.0.0.1', '--port', '0', '--max-peers', '1']);
    const port = Number((await relay.waitForEvent('started')).port);
    const alice = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--relay', `127.0.0.1:${port}`]);
    await alice.waitFor(() => alice.events.find(registered), 'alice registered');
    const bob = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--relay', `127.0.0.1:${port}`]);
    const refused = await bob.waitForEvent('relay', (e) => e.state === 'disconnected');
    assert.equal(refused.code, 'ERR_RELAY_FULL');
    assert.match(String(refused.message), /full/);
    await bob.waitFor(() => bob.events.filter((e) => e.type === 'relay' && e.state === 'disconnected')[1], 'a second try');

    // In words, the line names the relay once (the event carries it apart from the message).
    assert.equal(refused.message, 'the relay is full (1 peers connected); try later');
    const carol = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--relay', `127.0.0.1:${port}`]);
    const line = await carol.waitForStderr(/^.*retrying in.*$/m);
    assert.equal(
      stripVTControlCharacters(line).replace(/^\d\d:\d\d -- /, ''),
      `relay 127.0.0.1:${port}: the relay is full (1 peers connected); try later; retrying in 1 s`,
    );
  });

  it('a relay that keeps refusing is one line in text, while --json reports every try', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve())); // nothing listens there now
    const relayArg = `127.0.0.1:${port}`;
    // Started first, with the same backoff: by the --json listener's fourth try it has had three.
    const text = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--relay', relayArg]);
    await text.waitForStderr(/retrying in/);
    const json = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--relay', relayArg]);
    const tries = () => json.events.filter((e) => e.type === 'relay' && e.state === 'disconnected');
    await json.waitFor(() => tries()[3], 'four tries reported in --json');
    assert.equal(new Set(tries().map((e) => e.message)).size, 1, 'the same failure each time');
    const relayLines = text.stderr.split('\n').filter((line) => line.includes(`relay ${relayArg}`));
    assert.equal(relayLines.length, 1, text.stderr);
    assert.match(stripVTControlCharacters(relayLines[0]!), new RegExp(`relay 127\\.0\\.0\\.1:${port}: .*; retrying in \\d+ s$`));
  });

  it('a relay that fails its pinned key is not used, and the peer says so once', async () => {
    const { port: relayPort, fingerprint: relayFp } = await startRelay();
    const otherFp = 'AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA'; // well-formed, not the relay's
    assert.notEqual(otherFp, relayFp);
    const alice = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--relay', `127.0.0.1:${relayPort}#${otherFp}`]);
    const warning = await alice.waitForEvent('warning');
    assert.equal(warning.code, 'ERR_PEER_KEY_MISMATCH');
    assert.match(String(warning.message), new RegExp(`relay 127\\.0\\.0\\.1:${relayPort} presented key ${relayFp}, expected ${otherFp}`));
    await new Promise((r) => setTimeout(r, 1_500)); // longer than the first retry would wait
    assert.equal(alice.events.filter((e) => e.type === 'relay' || e.type === 'warning').length, 1, 'no retry loop');
    assert.equal(alice.child.exitCode, null, 'still listening for direct peers');

    const badPin = new PeerProcess(['listen', '--json', '--port', '0', '--relay', `127.0.0.1:${relayPort}#NOTAFINGERPRINT`]);
    assert.equal(await badPin.exitCode(), 2);
  });

  it('a connect by name through a relay that fails its pinned key says so, not that the peer was not found', async () => {
    const { port: relayPort, fingerprint: relayFp } = await startRelay();
    const otherFp = 'AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA';
    const bob = new PeerProcess(['connect', 'alice', '--json', '--no-mdns', '--name', 'bob', '--relay', `127.0.0.1:${relayPort}#${otherFp}`]);
    assert.equal(await bob.exitCode(15_000), 1);
    const mismatch = `relay 127.0.0.1:${relayPort} presented key ${relayFp}, expected ${otherFp}; not using it`;
    assert.deepEqual(bob.events.find((e) => e.type === 'warning'), { type: 'warning', code: 'ERR_PEER_KEY_MISMATCH', message: mismatch });
    const error = bob.events.find((e) => e.type === 'error');
    assert.equal(error?.code, 'ERR_PEER_KEY_MISMATCH');
    assert.equal(error?.message, `'alice' is not on the LAN, and the relay could not be asked: ${mismatch}`);
  });

  it('the relay restarts: the listener says so, re-registers by itself, and a new session works', async () => {
    const first = await startRelay();
    const relayArg = `127.0.0.1:${first.port}`;
    const alice = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--name', 'alice', '--relay', relayArg]);
    await alice.waitFor(() => alice.events.find(registered), 'alice registered');

    first.relay.kill('SIGTERM');
    assert.equal(await first.relay.exitCode(), 0);
    const away = await alice.waitForEvent('relay', (e) => e.state === 'going-away');
    assert.match(String(away.message), /relay shutting down/);

    const second = await startRelay(first.port);
    await alice.waitFor(() => alice.events.filter(registered)[1], 'alice registered again', 40_000);
    const bob = new PeerProcess(['connect', 'alice', '--relay-only', '--json', '--name', 'bob', '--relay', relayArg]);
    const connected = await bob.waitForEvent('connected', () => true, 15_000);
    assert.equal(connected.path, 'relayed');
    second.relay.kill('SIGTERM');
  });
});

describe('config.json', { timeout: 30_000 }, () => {
  it('supplies the nickname and relay; flags win; a malformed file is one usage line', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempHome } = await import('../helpers/peer-process.js');
    const { port: relayPort } = await startRelay();
    const home = tempHome();
    writeFileSync(join(home, 'config.json'), JSON.stringify({ name: 'fromconfig', relay: `127.0.0.1:${relayPort}` }));
    const alice = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1'], { home });
    const listening = await alice.waitForEvent('listening');
    assert.equal(listening.name, 'fromconfig');
    await alice.waitFor(() => alice.events.find(registered), 'registered via the relay from config.json');
    alice.kill('SIGTERM');
    await alice.exitCode();

    // `id` takes no --name (it would only echo it): the flag is tried where a peer runs.
    const flagWins = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--name', 'fromflag'], { home });
    assert.equal((await flagWins.waitForEvent('listening')).name, 'fromflag');
    flagWins.kill('SIGTERM');
    await flagWins.exitCode();

    writeFileSync(join(home, 'config.json'), '{ not json');
    const broken = new PeerProcess(['id'], { home });
    assert.equal(await broken.exitCode(), 2);
    assert.match(broken.stderr, /^p2p-chat: .*config\.json is not valid JSON/);
  });
});

describe('who a relay lets in (review regressions)', { timeout: 60_000 }, () => {
  it('a `connect` is not registered, so nobody can join it through the relay, and it never displaces a listener of the same key', async () => {
    const { port: relayPort } = await startRelay();
    const relayArg = `127.0.0.1:${relayPort}`;
    const { tempHome } = await import('../helpers/peer-process.js');
    const laptopHome = tempHome();
    const laptop = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--name', 'laptop', '--relay', relayArg], { home: laptopHome });
    await laptop.waitFor(() => laptop.events.find(registered), 'laptop registered');

    // office dials laptop through the relay; it listens nowhere and must not become reachable.
    const office = new PeerProcess(['connect', 'laptop', '--relay-only', '--json', '--name', 'office', '--relay', relayArg]);
    await office.waitForEvent('connected');
    const mallory = new PeerProcess(['connect', 'office', '--relay-only', '--json', '--name', 'mallory', '--relay', relayArg]);
    assert.equal(await mallory.exitCode(15_000), 1);
    assert.equal(mallory.events.find((e) => e.type === 'error')?.code, 'ERR_PEER_NOT_FOUND');
    assert.equal(office.events.filter((e) => e.type === 'connected').length, 1, 'mallory never joined office');

    // A connect from laptop's own home (same key) leaves laptop registered: a new peer still reaches it.
    const sameKey = new PeerProcess(['connect', 'laptop', '--relay-only', '--json', '--relay', relayArg], { home: laptopHome });
    await sameKey.exitCode(15_000);
    assert.equal(laptop.events.some((e) => e.type === 'warning'), false, 'laptop was not displaced');
    const bob = new PeerProcess(['connect', 'laptop', '--relay-only', '--json', '--name', 'bob', '--relay', relayArg]);
    const connected = await bob.waitForEvent('connected', () => true, 15_000);
    assert.equal(connected.path, 'relayed');
  });
});
