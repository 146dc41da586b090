// UDP as a Transport: reliable, congestion-controlled udx streams (udx-native), dialled and
// accepted through the rendezvous of udx-rendezvous.ts. The clock given here runs the listener's
// cookie slots and answer budgets; a dial runs on the clock of its DialOptions.

import type { Clock } from '../clock.js';
import type { Transport } from './byte-stream.js';
import { dialUdx } from './udx-dialer.js';
import { listenUdx } from './udx-listener.js';

export function udxTransport(clock: Clock): Transport {
  const transport: Transport = { kind: 'udp', dial: dialUdx, listen: (options, onStream) => listenUdx(options, clock, onStream) };
  return Object.freeze(transport);
}
