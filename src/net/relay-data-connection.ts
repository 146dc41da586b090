// Open a relayed session's data connection: dial the relay and present the one-time token. The
// returned stream then carries the ordinary p2p-chat protocol end to end, spliced by the relay.

import { encodeDataHello } from '../wire/data-preamble.js';
import type { ByteStream, DialOptions, Transport } from './byte-stream.js';

export async function openDataConnection(transport: Transport, host: string, port: number, token: string, options: DialOptions): Promise<ByteStream> {
  const stream = await transport.dial(host, port, options);
  stream.write(encodeDataHello(token));
  return stream;
}
