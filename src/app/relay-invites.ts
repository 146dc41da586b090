// A relay invited us to a session: open the data connection with the token it gave, and run the
// handshake as responder over it, exactly as for a direct incoming connection. The node's own
// timing applies, and a node that is quitting answers no invitation.

import { P2PChatError } from '../errors.js';
import type { RelayAddress } from '../net/relay-address.js';
import { openDataConnection } from '../net/relay-data-connection.js';
import type { ChatNode } from './chat-node.js';
import type { Invite } from './relay-client.js';

/**
 * Relayed incoming connections open at once (being set up or in use). Invitations past this are
 * ignored: an invite flood must not turn us into a dialer of hundreds of connections.
 */
const MAX_CONCURRENT_INVITES = 16;

/** Where invitations come from: a RelayClient. */
interface InviteSource {
  on(event: 'invite', listener: (invite: Invite) => void): unknown;
}

export function acceptRelayInvites(
  node: ChatNode,
  client: InviteSource,
  relay: RelayAddress,
  onError: (error: P2PChatError) => void,
): void {
  let inFlight = 0;
  client.on('invite', (invite) => {
    if (node.quitting || inFlight >= MAX_CONCURRENT_INVITES) return;
    inFlight++;
    openDataConnection(node.transport, relay.host, relay.port, invite.token, { timeoutMs: node.timing.connectTimeoutMs, clock: node.clock }).then(
      (stream) => {
        stream.once('close', () => inFlight--);
        node.acceptOver(stream, { path: 'relayed', via: relay.label }); // closes it if quitting now
      },
      (err: unknown) => {
        inFlight--;
        if (err instanceof P2PChatError && !node.quitting) onError(err);
      },
    );
  });
}
