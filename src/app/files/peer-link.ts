// A PeerConnection seen as a TransferLink: what a file transfer needs of the connection it runs
// over, and nothing else.

import type { PeerConnection } from '../../session/peer-connection.js';
import type { PeerLink } from './transfers.js';

/** `name` is read on each use, so a transfer's messages follow the peer's /nick. */
export function peerLink(connection: PeerConnection, name: () => string, known: boolean): PeerLink {
  const fingerprint = connection.remote?.fingerprint ?? '';
  return {
    get peer() {
      return { name: name(), fingerprint };
    },
    known,
    send: (message) => connection.send(message),
    sendEncoded: (plaintexts) => connection.sendEncoded(plaintexts),
    get writable() {
      return !connection.needsDrain;
    },
    onDrain(listener) {
      connection.on('drain', listener);
      return () => connection.off('drain', listener);
    },
    get rttMs() {
      return connection.rttMs;
    },
    // Our disk's pace, not the peer's doing: its silence meanwhile is excused.
    pauseReading: (holder) => connection.holdReading(holder, { excusesPeer: true }),
    resumeReading: (holder) => connection.releaseReading(holder),
  };
}

/** Whether the peer's build can receive files. */
export function speaksFiles(connection: PeerConnection): boolean {
  return connection.speaks('files');
}
