// Connected pairs of real TCP sockets on 127.0.0.1 for tests below the CLI, each from a listener
// of its own; closeTcpPairs() (from afterEach) destroys every socket and closes every listener.

import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import type { LentReads } from '../../src/net/tcp-stream.js';

const servers: Server[] = [];
const sockets: Socket[] = [];

/**
 * [dialling end, accepting end] of one loopback connection. `allowHalfOpen` keeps both ends
 * readable after the other half-closes, as the relay's own sockets are. `lentReads`: the dialling
 * end reads into the shared read buffer, as the sockets dialTcp opens do (wrap it with the same
 * LentReads: `new TcpStream(socket, reads)`).
 */
export async function tcpPair(options: { allowHalfOpen?: boolean; lentReads?: LentReads } = {}): Promise<[Socket, Socket]> {
  const allowHalfOpen = options.allowHalfOpen === true;
  const server = createServer({ allowHalfOpen });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const onread = options.lentReads?.onread;
  const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen, ...(onread ? { onread } : {}) });
  sockets.push(client);
  const [[serverSide]] = await Promise.all([accepted, once(client, 'connect')]);
  sockets.push(serverSide);
  return [client, serverSide];
}

export async function closeTcpPairs(): Promise<void> {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
}
