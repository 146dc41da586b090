// `connect` to something that is not a p2p-chat peer: a web server ends the attempt as soon as
// its answer arrives, named as HTTP with its status line, well before the handshake deadline;
// a server that accepts and says nothing still waits for that deadline, and says it was silent.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { cleanupPeers, PeerProcess } from '../helpers/peer-process.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  await cleanupPeers();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});
after(cleanupPeers);

async function serve(server: Server): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** `p2p-chat connect` with a handshake deadline far longer than the test allows for the answer. */
async function connectTo(port: number, handshakeMs: number): Promise<{ code: number | null; error: Record<string, unknown>; ms: number }> {
  const started = Date.now();
  const peer = new PeerProcess(['connect', `127.0.0.1:${port}`, '--json', '--handshake-timeout-ms', String(handshakeMs)]);
  const code = await peer.exitCode(handshakeMs + 10_000);
  const error = peer.events.find((e) => e.type === 'error');
  assert.ok(error, `an error event; stdout:\n${peer.stdoutLines.join('\n')}\nstderr:\n${peer.stderr}`);
  return { code, error, ms: Date.now() - started };
}

describe('connect to something that is not a p2p-chat peer', { timeout: 60_000 }, () => {
  it('a web server (node:http) ends the attempt at its answer, named as HTTP', async () => {
    const port = await serve(createHttpServer((_, res) => res.end('hello')));
    const { code, error, ms } = await connectTo(port, 30_000);
    assert.equal(code, 1);
    assert.equal(error.code, 'ERR_NOT_P2P_CHAT');
    assert.match(String(error.message), /not a p2p-chat peer \(it answered HTTP: "HTTP\/1\.1 400 Bad Request"\)$/);
    assert.ok(ms < 10_000, `ended after ${ms} ms, not at the 30 s handshake deadline`);
  });

  it('a server that answers before it reads, and keeps the connection open, ends it as fast', async () => {
    const port = await serve(createServer((socket) => socket.write('HTTP/1.0 400 Bad Request\r\n\r\n')));
    const { code, error, ms } = await connectTo(port, 30_000);
    assert.equal(code, 1);
    assert.match(String(error.message), /it answered HTTP: "HTTP\/1\.0 400 Bad Request"/);
    assert.ok(ms < 10_000, `ended after ${ms} ms`);
  });

  it('a server that accepts and says nothing keeps the handshake deadline, and is called silent', async () => {
    const port = await serve(createServer(() => undefined));
    const { code, error, ms } = await connectTo(port, 1_500);
    assert.equal(code, 1);
    assert.equal(error.code, 'ERR_HANDSHAKE_TIMEOUT');
    assert.match(String(error.message), /did not finish in time: it sent nothing in 1\.5 s \(a p2p-chat peer answers at once/);
    assert.ok(ms >= 1_500, `waited the deadline out (${ms} ms)`);
  });
});
