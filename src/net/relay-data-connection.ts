// Open a relayed session's data connection: dial the relay and present the one-time token. The
// returned socket then carries the ordinary p2p-chat protocol end to end, spliced by the relay.

import type { Socket } from 'node:net';
import { encodeDataHello } from '../wire/data-preamble.js';
import { dialTcp } from './tcp-dialer.js';

export async function openDataConnection(host: string, port: number, token: string, timeoutMs: number): Promise<Socket> {
  const socket = await dialTcp(host, port, timeoutMs);
  socket.write(encodeDataHello(token));
  return socket;
}
