// How a peer connection ended, worked out once its stream has closed: the peer said goodbye, we
// did, the session was up and the link died, or it never got through the handshake. Pure: the
// connection passes in what it saw.

import { chatError, type P2PChatError } from '../errors.js';

export type CloseOutcome =
  | { readonly kind: 'left'; readonly reason: string }
  | { readonly kind: 'lost'; readonly error: P2PChatError }
  | { readonly kind: 'failed'; readonly error: P2PChatError }
  | { readonly kind: 'closed' };

/** What a connection knows about itself when its stream closes. */
export interface ClosedConnection {
  readonly address: string;
  /** The reason in the peer's goodbye, if one came. */
  readonly byeReceived: string | undefined;
  /** We said goodbye or destroyed the connection ourselves. */
  readonly byeSent: boolean;
  /** The first error seen on the connection (transport, protocol, keepalive, handshake timeout). */
  readonly error: P2PChatError | undefined;
  /** The session was established at some point (one that broke later, by a bad tag too, was). */
  readonly established: boolean;
  /** Responder: our handshake reply went out and the initiator's last message had not come. */
  readonly awaitingMessage3: boolean;
}

export function closeOutcome(c: ClosedConnection): CloseOutcome {
  if (c.byeReceived !== undefined) return { kind: 'left', reason: c.byeReceived };
  if (c.byeSent && !c.error) return { kind: 'closed' };
  if (!c.established) return { kind: 'failed', error: c.error ?? handshakeCut(c) };
  return { kind: 'lost', error: c.error ?? chatError('ERR_CONNECTION_LOST', `connection to ${c.address} closed without a goodbye`) };
}

/** Why the peer closed during the handshake without an error on our side. */
function handshakeCut(c: ClosedConnection): P2PChatError {
  if (c.awaitingMessage3) {
    return chatError('ERR_HANDSHAKE_ABANDONED', `${c.address} left the handshake after our reply (it kept another path to us, or expected another key)`);
  }
  return chatError('ERR_HANDSHAKE_FAILED', `${c.address} closed the connection during the handshake`);
}
