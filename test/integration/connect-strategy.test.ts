// connect-strategy with real ChatNodes over loopback: a candidate that accepts TCP but never
// answers (a black hole) must not hold up the next one, a refused one hands its turn on at once,
// and a wrong key on any path ends the attempt.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { connectWithStrategy } from '../../src/app/connect-strategy.js';
import { cleanupNodes, tempNode as node } from '../helpers/chat-nodes.js';

const servers: Server[] = [];
const held: Socket[] = [];

after(async () => {
  cleanupNodes();
  for (const socket of held) socket.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** Accepts connections and never says a word: a dial to it neither fails nor finishes. */
async function blackHole(): Promise<{ port: number; accepted: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    held.push(socket);
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, accepted: () => count };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('connect strategy', { timeout: 30_000 }, () => {
  it('a black-hole candidate does not hold up the next one', async () => {
    const alice = node('alice');
    const alicePort = await alice.listen('127.0.0.1', 0, false);
    const hole = await blackHole();
    const bob = node('bob');
    const summary = await connectWithStrategy(bob, {
      label: 'alice',
      candidates: [
        { host: '127.0.0.1', port: hole.port },
        { host: '127.0.0.1', port: alicePort },
      ],
      expect: alice.fingerprint,
      mode: 'auto',
    });
    assert.equal(summary.address, `127.0.0.1:${alicePort}`);
    assert.equal(summary.path, 'direct');
    assert.equal(hole.accepted(), 1, 'the black hole was dialled first and is still hanging');
    assert.equal(bob.peerCount, 1);
  });

  it('a refused candidate hands its turn on at once; all failing gives one combined error', async () => {
    const alice = node('alice2');
    const alicePort = await alice.listen('127.0.0.1', 0, false);
    const bob = node('bob2');
    const refused = await closedPort();
    const summary = await connectWithStrategy(bob, {
      label: 'alice2',
      candidates: [
        { host: '127.0.0.1', port: refused },
        { host: '127.0.0.1', port: alicePort },
      ],
      mode: 'auto',
      timing: { directStaggerMs: 60_000 }, // only a failure can start the second dial this soon
    });
    assert.equal(summary.address, `127.0.0.1:${alicePort}`);

    const other = await closedPort();
    await assert.rejects(
      connectWithStrategy(node('carol'), {
        label: 'nobody',
        candidates: [
          { host: '127.0.0.1', port: refused },
          { host: '127.0.0.1', port: other },
        ],
        mode: 'auto',
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_CONNECT_FAILED');
        assert.match(err.message, /^cannot reach nobody: 127\.0\.0\.1:\d+: connection refused; 127\.0\.0\.1:\d+: connection refused$/);
        return true;
      },
    );
  });

  it('a wrong key on a path is final', async () => {
    const alice = node('alice3');
    const alicePort = await alice.listen('127.0.0.1', 0, false);
    const mallory = node('mallory');
    await assert.rejects(
      connectWithStrategy(node('bob3'), {
        label: 'mallory',
        candidates: [{ host: '127.0.0.1', port: alicePort }],
        expect: mallory.fingerprint,
        mode: 'auto',
      }),
      { code: 'ERR_PEER_KEY_MISMATCH' },
    );
  });

  it('--relay-only without a relay, or no candidates at all, fails with a clear line', async () => {
    await assert.rejects(connectWithStrategy(node('dave'), { label: 'x', candidates: [], mode: 'auto' }), {
      code: 'ERR_CONNECT_FAILED',
      message: 'cannot reach x: no address to dial',
    });
  });
});
