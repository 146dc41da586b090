// A chat's use of its relays (--relay): the control connection (RelayClient registers with one
// relay of the list, and reconnects, to that one or another, by itself), its state changes
// reported as AppEvents, and for a listener the sessions the relay invites us to.
// connect-strategy dials through the link this returns.

import type { DatagramPort } from '../net/datagram-port.js';
import type { Identity } from '../secure/identity-store.js';
import type { AppEvent } from './app-events.js';
import type { ChatNode } from './chat-node.js';
import { RelayClient, type RelayEntry, type RelayStatus } from './relay-client.js';
import { acceptRelayInvites } from './relay-invites.js';

export interface RelayLinkOptions {
  /** The relays to use, in the order they are tried; at least one. */
  readonly relays: readonly RelayEntry[];
  readonly identity: Identity;
  /** Our listening port; 0 when we only dial, and then nobody can be invited to us. */
  readonly port: number;
  /** Our UDP listening port, when we listen on UDP too. */
  readonly udpPort?: number;
  /** A UDP socket whose public endpoint to learn from the relay (RelayClient's `observedUdp`). */
  readonly datagrams?: DatagramPort;
}

/**
 * Relays in use: the control client, and where to open relayed data connections now: the relay
 * the client is connected to (or tries next), read afresh each time.
 */
export interface RelayLink {
  readonly client: RelayClient;
  readonly host: string;
  readonly port: number;
}

/** Start using a relay on behalf of `node`; `report` receives its status as AppEvents. */
export function linkRelay(node: ChatNode, options: RelayLinkOptions, report: (event: AppEvent) => void): RelayLink {
  const { port } = options;
  const client = new RelayClient({
    relays: options.relays,
    identity: options.identity,
    name: () => node.name,
    port,
    ...(options.udpPort !== undefined ? { udpPort: options.udpPort } : {}),
    ...(options.datagrams ? { datagrams: options.datagrams } : {}),
    clock: node.clock,
    transport: node.transport,
    timing: node.timing, // the control connection keeps the node's timing, as relayed sessions do
  });
  client.on('status', (status) => {
    const event = relayStatusEvent(status);
    if (event) report(event);
  });
  // Only a listener can be invited: a `connect` that accepted invitations would let anyone who
  // looks its key up join (and read) the conversation.
  if (port > 0) {
    acceptRelayInvites(node, client, (err) => report({ type: 'warning', code: err.code, message: err.message }));
  }
  client.start();
  return {
    client,
    get host() {
      return client.relay.host;
    },
    get port() {
      return client.relay.port;
    },
  };
}

/** What the user is told of a relay status change; nothing for a mere `ready`. */
export function relayStatusEvent(status: RelayStatus): AppEvent | undefined {
  const label = status.relay;
  const next = 'next' in status && status.next !== undefined ? { next: status.next } : {};
  switch (status.state) {
    case 'registered':
      return { type: 'relay', state: 'registered', relay: label, observed: status.observed };
    case 'ready':
      return undefined;
    case 'stopped':
      return { type: 'warning', code: status.error.code, message: status.error.message };
    case 'going-away':
      return {
        type: 'relay',
        state: 'going-away',
        relay: label,
        code: 'ERR_RELAY_GOING_AWAY',
        message: `going away (${status.reason || 'no reason given'})`,
        retryInMs: status.retryInMs,
        ...next,
      };
    case 'disconnected': {
      // The event names the relay; its client's errors do too, for where they are read alone.
      const prefix = `relay ${label}: `;
      const text = status.error.message;
      const message = text.startsWith(prefix) ? text.slice(prefix.length) : text;
      return { type: 'relay', state: 'disconnected', relay: label, code: status.error.code, message, retryInMs: status.retryInMs, ...next };
    }
  }
}
