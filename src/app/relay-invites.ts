// A relay invited us to a session: open the data connection with the token it gave, and run the
// handshake as responder over it, exactly as for a direct incoming connection. An invite that
// brings the dialler's first flight is answered at once over the control session, before the
// data connection is up. The node's own timing applies, and a node that is quitting answers no
// invitation.

import { P2PChatError } from '../errors.js';
import type { RelayAddress } from '../net/relay-address.js';
import { formatHostPort } from '../net/address.js';
import { MAX_EARLY_FLIGHT_BYTES } from '../session/relay-messages.js';
import { DeferredStream } from '../net/deferred-stream.js';
import { openDataConnection } from '../net/relay-data-connection.js';
import { PREAMBLE } from '../wire/preamble.js';
import type { ChatNode } from './chat-node.js';
import type { Invite } from './relay-client.js';

/**
 * Relayed incoming connections open at once (being set up or in use). Invitations past this are
 * ignored: an invite flood must not turn us into a dialer of hundreds of connections.
 */
const MAX_CONCURRENT_INVITES = 16;
/**
 * Tokens remembered, to take each invitation once: a relay sends an invitation again when we
 * register anew (we may have moved, and the first may have gone to a dead connection).
 */
const TOKENS_REMEMBERED = 64;

/**
 * Where invitations come from, and where a first flight is answered: a RelayClient. `relay` is
 * the relay it is connected to, which sent the invitation and holds the session.
 */
interface InviteSource {
  on(event: 'invite', listener: (invite: Invite) => void): unknown;
  answer(token: string, early: Buffer): void;
  readonly relay: RelayAddress;
}

export function acceptRelayInvites(node: ChatNode, client: InviteSource, onError: (error: P2PChatError) => void): void {
  let inFlight = 0;
  const taken = new Set<string>();
  client.on('invite', (invite) => {
    if (node.quitting || inFlight >= MAX_CONCURRENT_INVITES || taken.has(invite.token)) return;
    const relay = client.relay;
    taken.add(invite.token);
    if (taken.size > TOKENS_REMEMBERED) taken.delete(taken.values().next().value!);
    const route = { path: 'relayed' as const, via: relay.label };
    let early: DeferredStream | undefined;
    if (invite.early) {
      // Our answer (preamble, message 2) is written as we read theirs; it goes back at once.
      early = new DeferredStream(relay.host, formatHostPort(relay.host, relay.port));
      node.acceptOver(early, route);
      early.push(invite.early);
      if (early.destroyed) {
        // Not a session we take (a resumption we refuse, a handshake we cannot answer): say so at
        // once, so that the dialler tries again now instead of waiting out the token's lifetime.
        decline(node, client, relay, invite.token);
        return;
      }
      client.answer(invite.token, early.takeEarly(MAX_EARLY_FLIGHT_BYTES));
    }
    inFlight++;
    openDataConnection(node.transport, relay.host, relay.port, invite.token, { timeoutMs: node.timing.connectTimeoutMs, clock: node.clock }).then(
      (stream) => {
        stream.once('close', () => inFlight--);
        if (early) early.attach(stream);
        else node.acceptOver(stream, route); // closes it if quitting now
      },
      (err: unknown) => {
        inFlight--;
        // Not taken up after all (we may have moved): the relay's next invitation with it is welcome.
        taken.delete(invite.token);
        const error = P2PChatError.from(err, 'ERR_RELAY_UNREACHABLE');
        early?.fail(error);
        if (err instanceof P2PChatError && !node.quitting) onError(err);
      },
    );
  });
}

/**
 * Decline a session whose first flight we read: answer with a bare preamble and end the data
 * connection right behind the token. The relay splices the two as usual, and the dialler reads a
 * preamble, then the end: its handshake fails at once.
 */
function decline(node: ChatNode, client: InviteSource, relay: RelayAddress, token: string): void {
  client.answer(token, PREAMBLE);
  openDataConnection(node.transport, relay.host, relay.port, token, { timeoutMs: node.timing.connectTimeoutMs, clock: node.clock }).then(
    (stream) => {
      stream.once('close', () => undefined);
      stream.end();
      stream.resume();
    },
    () => undefined, // the session expires on its own
  );
}
