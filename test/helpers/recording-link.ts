// A TransferLink for unit tests of file transfers without a connection: a peer called bob whose
// link is always writable and keeps every message sent to him.

import type { PeerLink } from '../../src/app/files/transfers.js';
import type { FileMessage } from '../../src/session/file-messages.js';

export function recordingLink(): PeerLink & { readonly sent: FileMessage[] } {
  const sent: FileMessage[] = [];
  return {
    peer: { name: 'bob', fingerprint: 'f'.repeat(64) },
    known: true,
    send: (message) => sent.push(message),
    sendEncoded: () => undefined,
    writable: true,
    onDrain: () => () => undefined,
    rttMs: undefined,
    pauseReading: () => undefined,
    resumeReading: () => undefined,
    sent,
  };
}
