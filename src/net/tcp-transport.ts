// TCP as a Transport: the dialer and the listener the rest of the program uses for it.

import type { Transport } from './byte-stream.js';
import { dialTcp } from './tcp-dialer.js';
import { listenTcp } from './tcp-listener.js';

export const TCP_TRANSPORT: Transport = Object.freeze({ kind: 'tcp' as const, dial: dialTcp, listen: listenTcp });
