// TCP for the benchmarks' thousands of peers on one machine. RelayClient binds each control
// connection to a port of its own before connecting (so that a direct path may later leave from
// the same port), and a port so bound is the machine's whatever the destination: the ephemeral
// range (28,232 ports by default) would cap all the peers of a run together. Real peers are each
// on a machine of their own; here connect() picks the port, unique only per relay it goes to.

import type { Transport } from '../src/net/byte-stream.js';
import { TCP_TRANSPORT } from '../src/net/tcp-transport.js';

export const UNBOUND_TCP: Transport = Object.freeze({
  ...TCP_TRANSPORT,
  dial: (host: string, port: number, options: Parameters<Transport['dial']>[2]) => TCP_TRANSPORT.dial(host, port, { timeoutMs: options.timeoutMs, clock: options.clock }),
});
