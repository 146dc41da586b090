// A peer listens on TCP and on UDP at the same port number, so that one number (typed, announced,
// registered) finds it over either. TCP binds first under the next-free-port rule; UDP then takes
// the port TCP got. Where UDP is busy there, the pair moves on to the next port under the same
// rule (the TCP port is let go); a port given without fallback fails, naming UDP.

import { errnoCode } from '../errno-words.js';
import { chatError, P2PChatError } from '../errors.js';
import type { ByteStream, ListenOptions, StreamListener, Transport } from './byte-stream.js';

/** How many times an ephemeral pair (port 0) is drawn again when UDP finds its number taken. */
const EPHEMERAL_REDRAWS = 5;

export interface ListenerPair {
  readonly tcp: StreamListener;
  /** Absent when no UDP transport was given. */
  readonly udp?: StreamListener;
  /** The port asked for, when it was busy (over either transport) and a later one was taken. */
  readonly busyPort?: number;
}

/** Listen on `tcp` and, when given, on `udp` at the same port number. Fails with ERR_LISTEN_FAILED. */
export async function listenPair(
  tcp: Transport,
  udp: Transport | undefined,
  options: ListenOptions,
  onStream: (stream: ByteStream) => void,
): Promise<ListenerPair> {
  let port = options.port;
  let redraws = 0;
  for (;;) {
    const used = port === 0 ? 0 : port - options.port;
    const first = await tcp.listen({ ...options, port, fallbackTries: options.fallbackTries - used }, onStream);
    const moved = options.port !== 0 && first.port !== options.port ? { busyPort: options.port } : {};
    if (!udp) return { tcp: first, ...moved };
    try {
      const second = await udp.listen({ ...options, host: first.host, port: first.port, fallbackTries: 0 }, onStream);
      return { tcp: first, udp: second, ...moved };
    } catch (err) {
      await first.close();
      if (!(err instanceof P2PChatError) || errnoCode(err.cause) !== 'EADDRINUSE') throw err;
      const taken = chatError('ERR_LISTEN_FAILED', `cannot listen on UDP port ${first.port}: it is in use (TCP port ${first.port} was free)`, err);
      if (options.port === 0) {
        if (++redraws > EPHEMERAL_REDRAWS) throw taken;
        continue;
      }
      if (first.port + 1 - options.port > options.fallbackTries || first.port >= 65535) {
        if (options.fallbackTries === 0) throw taken;
        throw chatError('ERR_LISTEN_FAILED', `cannot listen: ports ${options.port}-${first.port} are in use over TCP or UDP`, err);
      }
      port = first.port + 1;
    }
  }
}
