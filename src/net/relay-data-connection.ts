// Open a relayed session's data connection: dial the relay and present the one-time token. The
// returned stream then carries the ordinary p2p-chat protocol end to end, spliced by the relay.
// A dialler sending its first flight over the control session opens the connection at once and
// presents the token when the relay has given it (presentToken).

import { encodeDataHello } from '../wire/data-preamble.js';
import type { ByteStream, DialOptions, Transport } from './byte-stream.js';

export async function openDataConnection(transport: Transport, host: string, port: number, token: string, options: DialOptions): Promise<ByteStream> {
  return presentToken(await transport.dial(host, port, options), token);
}

/** The first bytes of a data connection: the data preamble and `token`. */
export function presentToken(stream: ByteStream, token: string): ByteStream {
  stream.write(encodeDataHello(token));
  return stream;
}
