// A chat's use of its relay (--relay): the control connection (RelayClient registers, and
// reconnects by itself), its state changes reported as AppEvents, and for a listener the sessions
// the relay invites us to. connect-strategy dials through the link this returns.

import type { DatagramPort } from '../net/datagram-port.js';
import type { RelayAddress } from '../net/relay-address.js';
import type { Identity } from '../secure/identity-store.js';
import type { AppEvent } from './app-events.js';
import type { ChatNode } from './chat-node.js';
import { RelayClient, type RelayStatus } from './relay-client.js';
import { acceptRelayInvites } from './relay-invites.js';

export interface RelayLinkOptions {
  readonly relay: RelayAddress;
  /** The relay's fingerprint, validated, when pinned with host#FP. */
  readonly pin?: string;
  readonly identity: Identity;
  /** Our listening port; 0 when we only dial, and then nobody can be invited to us. */
  readonly port: number;
  /** Our UDP listening port, when we listen on UDP too. */
  readonly udpPort?: number;
  /** A UDP socket whose public endpoint to learn from the relay (RelayClient's `observedUdp`). */
  readonly datagrams?: DatagramPort;
}

/** A relay in use: its control client, and where to open relayed data connections. */
export interface RelayLink {
  readonly client: RelayClient;
  readonly host: string;
  readonly port: number;
}

/** Start using a relay on behalf of `node`; `report` receives its status as AppEvents. */
export function linkRelay(node: ChatNode, options: RelayLinkOptions, report: (event: AppEvent) => void): RelayLink {
  const { relay, port } = options;
  const client = new RelayClient({
    relay,
    ...(options.pin ? { pin: options.pin } : {}),
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
    const event = relayStatusEvent(relay.label, status);
    if (event) report(event);
  });
  // Only a listener can be invited: a `connect` that accepted invitations would let anyone who
  // looks its key up join (and read) the conversation.
  if (port > 0) {
    acceptRelayInvites(node, client, relay, (err) => report({ type: 'warning', code: err.code, message: err.message }));
  }
  client.start();
  return { client, host: relay.host, port: relay.port };
}

/** What the user is told of a relay status change; nothing for a mere `ready`. */
export function relayStatusEvent(label: string, status: RelayStatus): AppEvent | undefined {
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
      };
    case 'disconnected': {
      // The event names the relay; its client's errors do too, for where they are read alone.
      const prefix = `relay ${label}: `;
      const text = status.error.message;
      const message = text.startsWith(prefix) ? text.slice(prefix.length) : text;
      return { type: 'relay', state: 'disconnected', relay: label, code: status.error.code, message, retryInMs: status.retryInMs };
    }
  }
}
