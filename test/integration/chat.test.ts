// Real p2p-chat processes over loopback, each with its own home: chat in pipe and JSON mode,
// several peers, goodbyes, and the failures a user can meet.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupPeers, PeerProcess, startListener, tempHome } from '../helpers/peer-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

afterEach(cleanupPeers);
after(cleanupPeers);

function connectJson(port: number, extra: string[] = []): PeerProcess {
  return new PeerProcess(['connect', `127.0.0.1:${port}`, '--json', ...extra]);
}

describe('chat between real processes', { timeout: 60_000 }, () => {
  it('chats both ways in JSON mode, with names, fingerprints and the direct path', async () => {
    const { peer: alice, port, fingerprint: aliceFp } = await startListener(['--name', 'alice']);
    const bob = connectJson(port, ['--name', 'bob']);
    const connected = await bob.waitForEvent('connected');
    assert.equal(connected.name, 'alice');
    assert.equal(connected.fingerprint, aliceFp);
    assert.equal(connected.path, 'direct');
    assert.equal(connected.address, `127.0.0.1:${port}`);
    const incoming = await alice.waitForEvent('connected');
    assert.equal(incoming.name, 'bob');

    bob.send('hello alice');
    const atAlice = await alice.waitForEvent('message');
    assert.equal(atAlice.text, 'hello alice');
    assert.equal(atAlice.from, 'bob');
    assert.equal(atAlice.fingerprint, connected.fingerprint === aliceFp ? incoming.fingerprint : undefined);
    assert.match(String(atAlice.id), /^[0-9a-f]{16}$/);
    assert.equal(typeof atAlice.time, 'number');

    alice.send('hello bob');
    const atBob = await bob.waitForEvent('message');
    assert.equal(atBob.text, 'hello bob');
    assert.equal(atBob.from, 'alice');
  });

  it('pipes: `echo hi | p2p-chat connect` delivers, and the listener prints exactly the text', async () => {
    const alice = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--name', 'alice']);
    const port = Number(await alice.waitFor(() => /listening on port (\d+)/.exec(alice.stderr)?.[1], 'listening'));
    const bob = new PeerProcess(['connect', `127.0.0.1:${port}`, '--name', 'bob']);
    await bob.waitForStderr(/connected to alice/);
    alice.send('from alice');
    await bob.waitForLine((l) => l === 'from alice', 'alice line at bob');
    bob.send('hi');
    bob.send('second line');
    bob.endInput(); // end of input: deliver, say goodbye, exit 0
    assert.equal(await bob.exitCode(), 0);
    await alice.waitForLine((l) => l === 'second line', 'second line at alice');
    assert.deepEqual(alice.stdoutLines, ['hi', 'second line']);
    await alice.waitForStderr(/bob left/);
  });

  it('pipes: --format names who wrote each line; without it stdout stays the bare text', async () => {
    const alice = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--name', 'alice', '--format', '{time} {name} {short}: {text}{via}']);
    const port = Number(await alice.waitFor(() => /listening on port (\d+)/.exec(alice.stderr)?.[1], 'listening'));
    const piper = new PeerProcess(['connect', `127.0.0.1:${port}`, '--name', 'piper', '--format', '<{name}> {text}']);
    await piper.waitForStderr(/connected to alice/);
    const other = new PeerProcess(['connect', `127.0.0.1:${port}`, '--name', 'other']);
    await other.waitForStderr(/connected to alice/);
    await piper.waitForStderr(/other \S+ joined/);
    piper.send('from piper');
    await alice.waitForLine((l) => l.includes('from piper'), 'piper line at alice');
    other.send('from other');
    await alice.waitForLine((l) => l.includes('from other'), 'other line at alice');
    const short = (name: string) => new RegExp(`${name} (\\S+) joined`).exec(alice.stderr)![1]!; // as alice's stderr shows it
    const [fromPiper, fromOther] = alice.stdoutLines;
    assert.match(fromPiper!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d piper ${short('piper')}: from piper$`));
    assert.match(fromOther!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d other ${short('other')}: from other$`));
    assert.notEqual(short('piper'), short('other'));
    // Passed on by alice: piper's template shows who sent it; `other` has none, so the bare text.
    await piper.waitForLine((l) => l === '<other> from other', "other's line at piper, named");
    await other.waitForLine((l) => l === 'from piper', "piper's line at other, bare");
  });

  it('pipes: a --format with an unknown placeholder, or with --json, is a usage error before anything starts', async () => {
    const unknown = new PeerProcess(['listen', '--port', '0', '--format', '{time} {nick}: {text}']);
    assert.equal(await unknown.exitCode(), 2);
    assert.match(unknown.stderr, /^p2p-chat: --format: unknown placeholder \{nick\} \(known: \{time\} .*\)\n$/);
    const withJson = new PeerProcess(['connect', '127.0.0.1:1', '--json', '--format', '{text}']);
    assert.equal(await withJson.exitCode(), 2);
    assert.equal(withJson.events[0]?.code, 'ERR_USAGE');
    for (const p of [unknown, withJson]) assert.doesNotMatch(p.stderr, /listening|connect/);
  });

  it('pipes: every line is delivered over a slow link before `connect` exits 0', async () => {
    // Regression: the goodbye grace timer used to start before the queue had flushed, and lines
    // still queued after it were thrown away while the sender exited 0.
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const proxy = new TcpProxy(port, '127.0.0.1', 1_000_000);
    try {
      const bob = new PeerProcess(['connect', `127.0.0.1:${await proxy.start()}`, '--name', 'bob']);
      await bob.waitForStderr(/connected to alice/);
      const lines = 60_000; // about 3.5 MB on the wire at 1 MB/s: longer than the 2 s grace time
      const payload = Array.from({ length: lines }, (_, i) => `line ${i} ${'x'.repeat(24)}`).join('\n') + '\n';
      bob.child.stdin.end(payload);
      assert.equal(await bob.exitCode(30_000), 0);
      await alice.waitForEvent('left', () => true, 10_000);
      const received = alice.events.filter((e) => e.type === 'message');
      assert.equal(received.length, lines);
      assert.equal(received[lines - 1]!.text, `line ${lines - 1} ${'x'.repeat(24)}`);
    } finally {
      await proxy.close();
    }
  });

  it('a closed stdout (e.g. `| head`) ends the listener cleanly, not with an internal error', async () => {
    const alice = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--json']);
    alice.child.stdout.destroy();
    const code = await alice.exitCode();
    assert.doesNotMatch(alice.stderr, /internal error/);
    assert.equal(code, 0);
  });

  it('piped lines typed before anyone is connected wait for the first peer', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    alice.send('queued before bob came');
    const bob = connectJson(port, ['--name', 'bob']);
    const got = await bob.waitForEvent('message');
    assert.equal(got.text, 'queued before bob came');
  });

  it('a third peer joins: everyone sees it, and messages reach everyone', async () => {
    const { peer: host, port } = await startListener(['--name', 'host']);
    const bob = connectJson(port, ['--name', 'bob']);
    await bob.waitForEvent('connected');
    const carol = connectJson(port, ['--name', 'carol']);
    await carol.waitForEvent('connected');

    const hostSawCarol = await host.waitForEvent('connected', (e) => e.name === 'carol');
    const bobSawCarol = await bob.waitForEvent('joined', (e) => e.name === 'carol');
    assert.equal(bobSawCarol.fingerprint, hostSawCarol.fingerprint);
    assert.equal(bobSawCarol.via, 'host');
    await carol.waitForEvent('joined', (e) => e.name === 'bob');

    host.send('to everyone');
    await bob.waitForEvent('message', (e) => e.text === 'to everyone');
    await carol.waitForEvent('message', (e) => e.text === 'to everyone');

    carol.send('carol speaking');
    await host.waitForEvent('message', (e) => e.text === 'carol speaking' && e.from === 'carol');
    const atBob = await bob.waitForEvent('message', (e) => e.text === 'carol speaking');
    assert.equal(atBob.from, 'carol');
    assert.equal(atBob.via, 'host');
    // End to end: the host tells carol that bob acknowledged her line; only then does her exit say all was delivered.
    const confirmed = await carol.waitForEvent('delivered', (e) => e.peer === 'bob');
    const hostSawBob = await host.waitForEvent('connected', (e) => e.name === 'bob');
    assert.deepEqual([confirmed.via, confirmed.fingerprint], ['host', hostSawBob.fingerprint]);

    carol.kill('SIGTERM');
    assert.equal(await carol.exitCode(), 0);
    await host.waitForEvent('left', (e) => e.name === 'carol');
    await bob.waitForEvent('left', (e) => e.name === 'carol' && e.via === 'host');
  });

  it('the quit reason reaches the other side, and the listener keeps serving', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const bob = new PeerProcess(['connect', `127.0.0.1:${port}`, '--name', 'laptop']);
    await alice.waitForEvent('connected');
    bob.kill('SIGINT'); // Ctrl-C once: graceful
    assert.equal(await bob.exitCode(), 0);
    const left = await alice.waitForEvent('left');
    assert.equal(left.name, 'laptop');

    const carol = connectJson(port, ['--name', 'carol']);
    await carol.waitForEvent('connected');
    alice.kill('SIGTERM');
    const bye = await carol.waitForEvent('left');
    assert.equal(bye.name, 'alice');
    assert.equal(await carol.exitCode(), 0, 'connect exits 0 when its peer said goodbye');
    assert.equal(await alice.exitCode(), 0);
  });

  it('Ctrl-C once waits for the goodbye to be delivered; a second Ctrl-C quits at once (exit 130)', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const proxy = new TcpProxy(port);
    try {
      const bob = connectJson(await proxy.start(), ['--name', 'bob']);
      await bob.waitForEvent('connected');
      proxy.freeze(); // the goodbye can no longer be acknowledged: graceful exit has to wait
      bob.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(bob.child.exitCode, null, 'still waiting for the peer after one Ctrl-C');
      bob.kill('SIGINT');
      assert.equal(await bob.exitCode(), 130);
      assert.equal(alice.child.exitCode, null);
    } finally {
      await proxy.close();
    }
  });

  it('a peer killed outright is waited for through the resume window, then reported lost, not left, and `connect` exits 1', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice', '--resume-window', '1']);
    const bob = connectJson(port, ['--name', 'bob']);
    await bob.waitForEvent('connected');
    await alice.waitForEvent('connected');
    bob.kill('SIGKILL');
    const waiting = await alice.waitForEvent('reconnecting');
    assert.equal(waiting.peer, 'bob');
    assert.equal(waiting.attempt, 0, 'the listener waits: the dialler is the one to reconnect');
    const lost = await alice.waitForEvent('lost');
    assert.equal(lost.name, 'bob');
    assert.match(String(lost.message), /not back within 1 s/);
    assert.equal(alice.events.some((e) => e.type === 'left'), false);

    const carol = connectJson(port, ['--name', 'carol', '--resume-window', '1']);
    await carol.waitForEvent('connected');
    alice.kill('SIGKILL');
    const retry = await carol.waitForEvent('reconnecting');
    assert.equal(retry.attempt, 1);
    assert.ok(Number(retry.retryInMs) <= 250, `first retry within 250 ms, not ${String(retry.retryInMs)}`);
    await carol.waitForEvent('lost');
    assert.equal(await carol.exitCode(), 1);
  });
});

describe('failures a user can meet', { timeout: 60_000 }, () => {
  it('a message over the 16 KiB limit gets a clear error for the sender and is not sent', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const bob = connectJson(port, ['--name', 'bob']);
    await bob.waitForEvent('connected');
    bob.send('x'.repeat(16 * 1024 + 1));
    const error = await bob.waitForEvent('error');
    assert.equal(error.code, 'ERR_MESSAGE_TOO_LONG');
    assert.match(String(error.message), /limit is 16384 bytes/);
    bob.send('y'.repeat(16 * 1024)); // exactly at the limit: fine
    const atLimit = await alice.waitForEvent('message');
    assert.equal(String(atLimit.text).length, 16 * 1024);
    assert.equal(alice.events.filter((e) => e.type === 'message').length, 1);
  });

  it('connect to a closed port: one line, exit 1', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const bob = new PeerProcess(['connect', `127.0.0.1:${port}`]);
    assert.equal(await bob.exitCode(), 1);
    assert.equal(bob.stderr, `p2p-chat: cannot reach 127.0.0.1:${port}: connection refused\n`);

    const json = new PeerProcess(['connect', `127.0.0.1:${port}`, '--json']);
    assert.equal(await json.exitCode(), 1);
    assert.deepEqual(json.events, [
      { type: 'error', code: 'ERR_CONNECT_FAILED', message: `cannot reach 127.0.0.1:${port}: connection refused` },
    ]);
  });

  it('usage errors exit 2 with one line', async () => {
    const badPort = new PeerProcess(['listen', '--port', '99999']);
    assert.equal(await badPort.exitCode(), 2);
    assert.equal(badPort.stderr.trim(), 'p2p-chat: port 99999 is not a valid port (1-65535)');

    const badTarget = new PeerProcess(['connect', 'host:abc']);
    assert.equal(await badTarget.exitCode(), 2);
    assert.match(badTarget.stderr, /^p2p-chat: port abc is not a valid port/);

    const unknownOption = new PeerProcess(['listen', '--frobnicate']);
    assert.equal(await unknownOption.exitCode(), 2);
    assert.match(unknownOption.stderr, /unknown option '--frobnicate'/i);

    const unknownCommand = new PeerProcess(['frobnicate']);
    assert.equal(await unknownCommand.exitCode(), 2);
    assert.match(unknownCommand.stderr, /unknown command 'frobnicate'/);

    const badExpect = new PeerProcess(['connect', '127.0.0.1', '--expect', 'NOTAFINGERPRINT']);
    assert.equal(await badExpect.exitCode(), 2);
    assert.match(badExpect.stderr, /fingerprint/);
    for (const p of [badPort, badTarget, unknownOption, unknownCommand, badExpect]) {
      assert.doesNotMatch(p.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('garbage sent to the listener does not crash it; the next real peer still connects', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    // Each stranger from an address of its own: the listener logs one failure per address a minute.
    const strangers = ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'hello, is this the chat server?\n', '\x16\x03\x01\x00\xa5'];
    for (const [i, garbage] of strangers.entries()) {
      const socket = createConnection({ host: '127.0.0.1', port, localAddress: `127.0.0.${i + 2}` });
      socket.on('error', () => undefined);
      socket.resume(); // read (and drop) the listener's preamble so its close is seen
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(garbage);
      await new Promise<void>((r) => socket.once('close', () => r()));
    }
    // A p2p-chat preamble followed by an oversized, garbage handshake frame.
    const sneaky = createConnection({ host: '127.0.0.1', port, localAddress: '127.0.0.5' });
    sneaky.on('error', () => undefined);
    sneaky.resume();
    await new Promise<void>((r) => sneaky.once('connect', () => r()));
    sneaky.write(Buffer.concat([Buffer.from('P2PCHAT\x01'), Buffer.from([0x00, 0x05]), Buffer.from('abcde')]));
    await new Promise<void>((r) => sneaky.once('close', () => r()));

    const rejected = await alice.waitFor(
      () => (alice.events.filter((e) => e.type === 'rejected').length >= 4 ? alice.events.filter((e) => e.type === 'rejected') : undefined),
      'four rejections',
    );
    assert.equal(rejected[0]!.code, 'ERR_NOT_P2P_CHAT');
    assert.match(String(rejected[0]!.message), /HTTP request/);
    assert.match(String(rejected[1]!.message), /plain text/);
    assert.match(String(rejected[2]!.message), /TLS/);
    assert.equal(rejected[3]!.code, 'ERR_HANDSHAKE_FAILED');

    const bob = connectJson(port, ['--name', 'bob']);
    await bob.waitForEvent('connected');
    bob.send('still here?');
    await alice.waitForEvent('message', (e) => e.text === 'still here?');
    assert.equal(alice.child.exitCode, null);
  });

  it('a byte flipped in transit ends that connection with a decrypt error; the listener keeps serving', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const proxy = new TcpProxy(port);
    try {
      const proxyPort = await proxy.start();
      const bob = connectJson(proxyPort, ['--name', 'bob']);
      await bob.waitForEvent('connected');
      await alice.waitForEvent('connected');
      bob.send('clean message');
      await alice.waitForEvent('message', (e) => e.text === 'clean message');
      proxy.armFlip();
      bob.send('this one gets corrupted');
      const lost = await alice.waitForEvent('lost');
      assert.equal(lost.code, 'ERR_DECRYPT_FAILED');
      assert.equal(proxy.flips, 1);
      assert.equal(alice.events.some((e) => e.type === 'message' && e.text === 'this one gets corrupted'), false);
      // Bob's side sees only a closed connection: it dials again, and alice, who ended that
      // conversation, takes bob into a new one; bob reports the old one lost.
      const bobLost = await bob.waitForEvent('lost');
      assert.match(String(bobLost.message), /came back with a new conversation/);
      await alice.waitFor(() => (alice.events.filter((e) => e.type === 'connected' && e.name === 'bob').length === 2 ? true : undefined), 'bob back in a new conversation');

      const carol = connectJson(port, ['--name', 'carol']);
      await carol.waitForEvent('connected');
      carol.send('after the attack');
      await alice.waitForEvent('message', (e) => e.text === 'after the attack');
    } finally {
      await proxy.close();
    }
  });

  it('--expect with a wrong fingerprint refuses; with the right one connects', async () => {
    const { port, fingerprint } = await startListener(['--name', 'alice']);
    const stranger = new PeerProcess(['id', '--json']);
    await stranger.exitCode();
    const otherFp = String(stranger.events[0]!.fingerprint);
    assert.notEqual(otherFp, fingerprint);

    const wrong = connectJson(port, ['--expect', otherFp]);
    const error = await wrong.waitForEvent('error');
    assert.equal(error.code, 'ERR_PEER_KEY_MISMATCH');
    assert.equal(await wrong.exitCode(), 1);
    assert.equal(wrong.events.some((e) => e.type === 'connected'), false);

    const viaAt = new PeerProcess(['connect', `${otherFp.toLowerCase()}@127.0.0.1:${port}`]);
    assert.equal(await viaAt.exitCode(), 1);
    assert.match(viaAt.stderr, /^p2p-chat: peer presented key [A-Z2-7-]{63}, expected [A-Z2-7-]{63}; refusing/);

    const right = connectJson(port, ['--expect', fingerprint]);
    await right.waitForEvent('connected');
  });

  it('a known nickname arriving with a different key gets a loud warning', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const first = connectJson(port, ['--name', 'bob']);
    const firstSeen = await alice.waitForEvent('connected', (e) => e.name === 'bob');
    assert.equal(firstSeen.known, false);
    first.kill('SIGTERM');
    await alice.waitForEvent('left');

    const again = connectJson(port, ['--name', 'bob']); // a new home: same name, another key
    const second = await alice.waitFor(
      () => alice.events.filter((e) => e.type === 'connected' && e.name === 'bob')[1],
      'second bob',
    );
    assert.notEqual(second.fingerprint, firstSeen.fingerprint);
    const warning = await alice.waitForEvent('warning');
    assert.equal(warning.code, 'ERR_PEER_KEY_CHANGED');
    assert.ok(String(warning.message).includes(String(firstSeen.fingerprint)));
    assert.ok(String(warning.message).includes(String(second.fingerprint)));
    await again.waitForEvent('connected');
  });

  it('a returning peer with the same key is known and raises no warning', async () => {
    const { peer: alice, port } = await startListener(['--name', 'alice']);
    const home = tempHome();
    const first = new PeerProcess(['connect', `127.0.0.1:${port}`, '--json', '--name', 'bob'], { home });
    await alice.waitForEvent('connected');
    first.kill('SIGTERM');
    await first.exitCode();
    const second = new PeerProcess(['connect', `127.0.0.1:${port}`, '--json', '--name', 'bob'], { home });
    await second.waitForEvent('connected');
    const again = await alice.waitFor(
      () => alice.events.filter((e) => e.type === 'connected')[1],
      'second connection',
    );
    assert.equal(again.known, true);
    assert.equal(alice.events.some((e) => e.type === 'warning'), false);
  });

  it('refuses an identity key other users can read', async () => {
    const home = tempHome();
    const first = new PeerProcess(['id'], { home });
    assert.equal(await first.exitCode(), 0);
    chmodSync(join(home, 'identity.json'), 0o644);
    const second = new PeerProcess(['id'], { home });
    assert.equal(await second.exitCode(), 1);
    assert.match(second.stderr, /accessible by other users \(mode 0644\); run: chmod 600/);
  });
});
