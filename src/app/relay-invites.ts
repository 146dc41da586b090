// A relay invited us to a session: open the data connection with the token it gave, and run the
// handshake as responder over it, exactly as for a direct incoming connection.

import { DEFAULTS } from '../defaults.js';
import { P2PChatError } from '../errors.js';
import type { RelayAddress } from '../net/relay-address.js';
import { openDataConnection } from '../net/relay-data-connection.js';
import type { ChatNode } from './chat-node.js';
import type { RelayClient } from './relay-client.js';

export function acceptRelayInvites(
  node: ChatNode,
  client: RelayClient,
  relay: RelayAddress,
  onError: (error: P2PChatError) => void,
): void {
  client.on('invite', (invite) => {
    openDataConnection(relay.host, relay.port, invite.token, DEFAULTS.connectTimeoutMs).then(
      (socket) => node.acceptOver(socket, { path: 'relayed', via: relay.label }),
      (err: unknown) => {
        if (err instanceof P2PChatError) onError(err);
      },
    );
  });
}
