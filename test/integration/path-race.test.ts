// Issue 4, part 5 (connection strategy): when several paths to one peer all get as far as the
// peer's key (handshake message 2), only the first finishes the handshake. The others are
// abandoned before message 3, so the peer never sees a spare session join and then leave
// ("superseded by a faster path"), and a listener prints nothing for them. Real sockets: two
// TcpProxy paths to one listener hold its replies until both have message 2 in hand.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerSummary } from '../../src/app/app-events.js';
import type { ChatNode } from '../../src/app/chat-node.js';
import { connectWithStrategy } from '../../src/app/connect-strategy.js';
import { FrameDecoder } from '../../src/wire/frame-decoder.js';
import { PreambleReader } from '../../src/wire/preamble.js';
import { cleanupNodes, EventLog, tempNode as node } from '../helpers/chat-nodes.js';
import { cleanupPeers, PeerProcess } from '../helpers/peer-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const proxies: TcpProxy[] = [];

afterEach(async () => {
  cleanupNodes();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await cleanupPeers();
});

/** The listener's reply so far holds its preamble and the whole of handshake message 2. */
function hasMessage2(held: Buffer): boolean {
  const preamble = new PreambleReader().push(held);
  return preamble.done && new FrameDecoder().push(preamble.rest).length >= 1;
}

/**
 * `dialler` connects to 127.0.0.1:`port` over two proxied paths, both held until the listener's
 * message 2 is waiting on each, then released together: both paths reach message 2 at once.
 */
async function raceTwoPaths(dialler: ChatNode, port: number, fingerprint: string) {
  const paths = [new TcpProxy(port), new TcpProxy(port)];
  proxies.push(...paths);
  for (const path of paths) {
    await path.start();
    path.holdReplies();
  }
  const connecting = connectWithStrategy(dialler, {
    label: 'alice',
    candidates: paths.map((p) => ({ host: '127.0.0.1', port: p.port })),
    expect: fingerprint,
    mode: 'direct-only',
    timing: { directStaggerMs: 0 },
  });
  await Promise.all(paths.map((p) => p.untilHeld(hasMessage2)));
  for (const path of paths) path.release();
  const summary: PeerSummary = await connecting;
  const winner = paths.find((p) => summary.address === `127.0.0.1:${p.port}`);
  assert.ok(winner, `the session runs over one of the two paths (${summary.address})`);
  return { summary, winner, loser: paths.find((p) => p !== winner)! };
}

/** `p2p-chat listen` in pipe mode (status lines on stderr, as a user sees them). */
async function pipeListener(env: NodeJS.ProcessEnv = {}) {
  const alice = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--name', 'alice'], { env });
  const [port, fingerprint] = await alice.waitFor(() => {
    const m = /listening on port (\d+) as alice \(fingerprint ([A-Z2-7-]+)\)/.exec(alice.stderr);
    return m ? ([Number(m[1]), m[2]!] as const) : undefined;
  }, 'listening');
  return { alice, port, fingerprint };
}

describe('racing paths to one peer (issue 4, part 5)', { timeout: 30_000 }, () => {
  it('both paths reach message 2: one session; the listener and its other peers see bob join once and never leave', async () => {
    const alice = node('alice');
    const alicePort = await alice.listen('127.0.0.1', 0, false);
    const atAlice = new EventLog(alice);
    const carol = node('carol'); // already in the room: sees bob through alice's presence
    await carol.connect('127.0.0.1', alicePort, alice.fingerprint);
    const atCarol = new EventLog(carol);
    const bob = node('bob');
    const atBob = new EventLog(bob);

    const { summary, winner, loser } = await raceTwoPaths(bob, alicePort, alice.fingerprint);
    assert.equal(summary.fingerprint, alice.fingerprint);

    // Alice has closed the losing path; a chat line from her then reaches carol after any
    // presence she sent about it.
    await loser.untilServerCloses();
    assert.equal(winner.serverCloses, 0);
    alice.say('after the race');
    await atCarol.until((e) => e.type === 'message' && e.text === 'after the race');

    // Abandoned after message 2: alice has nothing to show for it but a debug note.
    assert.deepEqual(
      atAlice.events.filter((e) => e.type === 'debug').map((e) => e.type === 'debug' && e.code),
      ['ERR_HANDSHAKE_ABANDONED'],
    );
    assert.equal(atAlice.count('connected', bob.fingerprint), 1);
    for (const type of ['left', 'lost', 'rejected'] as const) assert.equal(atAlice.count(type), 0, type);
    assert.equal(alice.peerCount, 2);
    assert.equal(atCarol.count('joined', bob.fingerprint), 1);
    assert.equal(atCarol.count('left'), 0);
    assert.equal(atCarol.count('lost'), 0);
    assert.equal(bob.peerCount, 1);
    assert.deepEqual(bob.who().map((p) => p.fingerprint), [alice.fingerprint]);
    assert.equal(atBob.count('connected'), 1);
  });

  it('a listener process prints nothing for the abandoned path: bob joins once, then leaves once', async () => {
    const { alice, port, fingerprint } = await pipeListener();
    const bob = node('bob');
    const { loser } = await raceTwoPaths(bob, port, fingerprint);
    // Alice has closed the abandoned connection; bob's goodbye on the winning one comes after it.
    await loser.untilServerCloses();
    await bob.quit('done');
    await alice.waitForStderr(/bob left: done/);

    const lines = alice.stderr.trim().split('\n');
    assert.equal(lines.length, 3, alice.stderr);
    assert.match(lines[0]!, /listening on port/);
    assert.match(lines[1]!, /-- bob \S+ joined \(direct 127\.0\.0\.1:\d+\) \[first contact\]$/);
    assert.match(lines[2]!, /-- bob left: done$/);
    assert.deepEqual(alice.stdoutLines, []);
  });

  it('with P2P_CHAT_DEBUG=1 the listener logs the abandoned path as one debug line', async () => {
    const { alice, port, fingerprint } = await pipeListener({ P2P_CHAT_DEBUG: '1' });
    await raceTwoPaths(node('bob'), port, fingerprint);
    await alice.waitForStderr(/joined/);
    await alice.waitForStderr(/debug: 127\.0\.0\.1:\d+ left the handshake after our reply .* \(ERR_HANDSHAKE_ABANDONED\)/);
    assert.equal(alice.stderr.match(/debug:/g)?.length, 1, alice.stderr);
    assert.equal(alice.stderr.match(/joined/g)?.length, 1, alice.stderr);
    assert.doesNotMatch(alice.stderr, /rejected|left:|lost/);
  });
});
