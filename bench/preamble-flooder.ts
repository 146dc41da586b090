// Child process of the `listener-flood` benchmark: the attacker, on its own event loop. It holds
// connections to a listener that send the p2p-chat preamble and then nothing, each replaced as
// soon as the listener closes it (test/helpers/preamble-flood.ts, as the tests use it).

import { PreambleFlood } from '../test/helpers/preamble-flood.js';

export interface FloodStart {
  readonly type: 'start';
  readonly host: string;
  readonly port: number;
  readonly connections: number;
}

export type FloodReply =
  /** Every connection has been closed by the listener (and replaced) at least once. */
  | { readonly type: 'churning'; readonly closed: number }
  | { readonly type: 'count'; readonly id: number; readonly closed: number };

if (!process.send) throw new Error('preamble-flooder.js runs as a child process with an IPC channel');
const send = (reply: FloodReply) => process.send!(reply);
let flood: PreambleFlood | undefined;
process.on('disconnect', () => {
  flood?.stop();
  process.exit(0);
});

process.on('message', (message: FloodStart | { type: 'count'; id: number }) => {
  if (message.type === 'count') {
    send({ type: 'count', id: message.id, closed: flood?.closedByListener ?? 0 });
    return;
  }
  const started = new PreambleFlood({ host: message.host, port: message.port, connections: message.connections });
  flood = started;
  void started.untilClosedByListener(message.connections).then(() => send({ type: 'churning', closed: started.closedByListener }));
});
