// Everything a running chat reports to its user interface. The terminal, pipe and --json front
// ends all render this one union; in --json mode each event is printed as-is (README: "JSON events").

import type { TransportKind } from '../net/byte-stream.js';
import type { CipherName } from '../secure/noise/cipher-functions.js';

export type PathKind = 'direct' | 'relayed';

export interface PeerSummary {
  readonly name: string;
  readonly fingerprint: string;
  readonly address: string;
  readonly path: PathKind;
  /** What carries the connection: `tcp` or `udp` (a relayed session: the transport to the relay). */
  readonly transport: TransportKind;
  /** The relay (host:port) carrying a relayed session. */
  readonly via?: string;
  readonly direction: 'incoming' | 'outgoing';
  readonly rttMs?: number;
  /** In /who: its connection was lost and the conversation waits for it to resume. */
  readonly away?: true;
}

/**
 * Someone in the conversation through a host we dialled: we have no session with them, the host
 * passes their messages on. `address` and `direction` are the host's connection, which is how we
 * reach them.
 */
export interface ForwardedPeer {
  readonly name: string;
  readonly fingerprint: string;
  readonly address: string;
  readonly path: 'forwarded';
  /** The host's nickname. */
  readonly via: string;
  readonly hostFingerprint: string;
  readonly direction: 'outgoing';
}

/** A row of /who: a peer connected to us, or one reached through a host (listed after its host). */
export type WhoEntry = PeerSummary | ForwardedPeer;

/** Which transfer a file event is about, and with whom. */
export interface FileRef {
  readonly id: string;
  readonly direction: 'send' | 'receive';
  readonly peer: string;
  readonly fingerprint: string;
}

export interface FileEntryEvent {
  readonly path: string;
  readonly size: number;
  /**
   * Where the receiver saved it, relative to `dir`, when that differs from `path` (the name was
   * taken); in an offer, where it will be saved as the download directory stands then.
   */
  readonly savedAs?: string;
}

/** A file offer or transfer, as a front end lists it (/transfers) and its commands return it. */
export interface TransferSummary extends FileRef {
  /** Receiving, `savedAs` is where each file is, or as predicted will be, saved when `path` is taken. */
  readonly files: readonly FileEntryEvent[];
  readonly total: number;
  /** Bytes complete so far. */
  readonly bytes: number;
  readonly state: 'offered' | 'active' | 'done' | 'failed';
}

/** A peer seen on the LAN, as /peers lists it and peer-up / peer-down report it. */
export interface LanPeer {
  name: string;
  fingerprint: string;
  addresses: string[];
  port: number;
  /** ISO 8601 time the peer was last heard on the LAN. */
  lastSeen: string;
  known: boolean;
  /** A different key was known under this nickname. */
  keyChanged: boolean;
}

export type FileEvent =
  | ({ type: 'file-offer'; files: FileEntryEvent[]; total: number; autoAccept: boolean } & FileRef)
  | ({ type: 'file-accepted'; dir?: string } & FileRef)
  | ({ type: 'file-progress'; bytes: number; total: number; bytesPerSecond: number; etaSeconds?: number } & FileRef)
  | ({ type: 'file-done'; files: FileEntryEvent[]; total: number; resumed: number; dir?: string; sha256Verified: true; seconds: number } & FileRef)
  | ({ type: 'file-error'; code: string; message: string; resumable: boolean } & FileRef);

export type AppEvent =
  | FileEvent
  | { type: 'identity'; name: string; fingerprint: string; created: boolean; home: string }
  /** `udpPort`: set when it listens on UDP too (the same number as `port`). */
  | { type: 'listening'; host: string; port: number; udpPort?: number; fingerprint: string; name: string; busyPort?: number }
  /** `cipher`: what encrypts the session's messages (AESGCM when both ends offered it). */
  | ({ type: 'connected'; known: boolean; cipher: CipherName } & PeerSummary)
  | { type: 'relay'; state: 'registered'; relay: string; observed: string }
  /** `next`: the relay of the list tried at once (`retryInMs` is then 0). */
  | { type: 'relay'; state: 'disconnected' | 'going-away'; relay: string; code: string; message: string; retryInMs: number; next?: string }
  | {
      type: 'message';
      from: string;
      fingerprint: string;
      text: string;
      id: string;
      /** When the sender says it sent it (its clock, ms since the epoch). */
      time: number;
      /** When it arrived here (our clock): what the terminal shows. */
      receivedAt: number;
      action?: boolean;
      /** Set when a host passed the message on from another of its peers. */
      via?: string;
    }
  /** `pending`: how many of the recipients are away (reconnecting); it waits for them. */
  | { type: 'sent'; id: string; text: string; time: number; action?: boolean; recipients: number; pending?: number }
  /**
   * A peer acknowledged our message `id`: it has it (peers that acknowledge delivery only). `via`:
   * the host that passed it on says its member `peer` has it.
   */
  | { type: 'delivered'; id: string; peer: string; fingerprint: string; via?: string }
  /** `unacknowledged`: how many of our messages it went without (when any). */
  | { type: 'left'; name: string; fingerprint: string; reason: string; via?: string; unacknowledged?: number }
  | { type: 'lost'; name: string; fingerprint: string; code: string; message: string; via?: string; unacknowledged?: number }
  /**
   * The connection to a peer was lost without a goodbye and the conversation is kept for the
   * resume window: we dial it again (`attempt` from 1, the next in `retryInMs`), or, when it
   * dialled us, wait for it (`attempt` 0).
   */
  | { type: 'reconnecting'; peer: string; fingerprint: string; code: string; message: string; attempt: number; retryInMs: number }
  /**
   * The conversation goes on over a new connection; `resent`: our messages it had missed, sent
   * again; `cipher`: the new session's, as in `connected`.
   */
  | { type: 'reconnected'; peer: string; fingerprint: string; path: PathKind; address: string; cipher: CipherName; resent: number; downtimeMs: number }
  /**
   * A live conversation moved to another connection with nothing lost or repeated (a direct path
   * found while relayed, or back to the relay when the direct one went silent): where it is now,
   * and where it was. `resent`: reliable messages sent again over the new path; `cipher`: the new
   * session's, as in `connected`.
   */
  | {
      type: 'path';
      peer: string;
      fingerprint: string;
      path: PathKind;
      via?: string;
      transport: TransportKind;
      address: string;
      cipher: CipherName;
      rttMs?: number;
      resent: number;
      previous: { path: PathKind; via?: string; transport: TransportKind; address: string };
    }
  /**
   * A try for a direct path to a relayed conversation failed (`tries` made so far); the next comes
   * in `retryInMs`, or, without it, the conversation stays relayed.
   */
  | { type: 'upgrade'; peer: string; fingerprint: string; attempt: number; tries: number; message: string; retryInMs?: number }
  /** `present`: the peer was already in the host's conversation when we joined it. */
  | { type: 'joined'; name: string; fingerprint: string; via: string; present?: true }
  | { type: 'renamed'; fingerprint: string; oldName: string; name: string; via?: string }
  /** Our own nickname changed (at /nick, or later when the change had to wait for its turn). */
  | { type: 'nick'; oldName: string; name: string }
  /**
   * A join left us in several conversations whose members cannot see each other's messages: one
   * per host we dialled (`hosts`, their nicknames) and, when peers dialled us, our own (`hosting`).
   */
  | { type: 'conversations'; hosts: string[]; hosting: boolean }
  | { type: 'rejected'; address: string; code: string; message: string }
  | { type: 'announced'; instance: string; port: number }
  | ({ type: 'peer-up' | 'peer-down' } & LanPeer)
  | { type: 'warning'; code: string; message: string }
  /** Routine detail shown only with P2P_CHAT_DEBUG set, e.g. a dialler's abandoned spare path. */
  | { type: 'debug'; code: string; message: string }
  | { type: 'error'; code: string; message: string };

export type AppEventType = AppEvent['type'];

/** Our own chat line as it went out (the `sent` event without its type). */
export type SentMessage = Omit<Extract<AppEvent, { type: 'sent' }>, 'type'>;
