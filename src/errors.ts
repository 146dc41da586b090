// The one error class of p2p-chat. Every failure a user can meet carries a stable string code;
// README.md ("Error codes") lists each code with what to do about it.

import { errnoWords } from './errno-words.js';

export const ERROR_CODES = Object.freeze({
  ERR_USAGE: 'bad command-line usage',
  ERR_BAD_PORT: 'a port is not a number from 1 to 65535',
  ERR_BAD_TARGET: 'a connect target could not be parsed',
  ERR_BAD_FINGERPRINT: 'a fingerprint is malformed or its check characters are wrong',
  ERR_CONNECT_FAILED: 'the peer could not be reached',
  ERR_LISTEN_FAILED: 'no port could be bound',
  ERR_NOT_P2P_CHAT: 'the other side does not speak the p2p-chat protocol',
  ERR_VERSION_MISMATCH: 'the other side speaks an incompatible protocol version',
  ERR_FRAME_TOO_LARGE: 'a frame exceeds the 65535-byte Noise limit',
  ERR_HANDSHAKE_FAILED: 'the Noise handshake did not complete',
  ERR_HANDSHAKE_TIMEOUT: 'the handshake did not finish in time',
  ERR_HANDSHAKE_ABANDONED: 'the dialler left the handshake halfway, normally because it kept a faster path',
  ERR_LISTENER_FULL: 'the listener was at one of its limits and cut off or refused a connection',
  ERR_LOW_ORDER_POINT: 'the peer sent an invalid (low-order) public key',
  ERR_DECRYPT_FAILED: 'a message failed authentication (tampered or corrupted in transit)',
  ERR_NONCE_EXHAUSTED: 'a cipher state ran out of nonces',
  ERR_BAD_MESSAGE: 'a peer sent a message that could not be decoded',
  ERR_MESSAGE_TOO_LONG: 'a chat message is longer than the limit',
  ERR_PEER_KEY_MISMATCH: 'the peer presented a key other than the expected fingerprint',
  ERR_PEER_KEY_CHANGED: 'a known nickname arrived with a different key',
  ERR_IDENTITY_PERMISSIONS: 'the identity key file is readable by other users',
  ERR_IDENTITY_CORRUPT: 'the identity key file could not be read',
  ERR_HOME_UNUSABLE: 'the home directory could not be created or written',
  ERR_CONNECTION_LOST: 'the connection dropped without a goodbye',
  ERR_KEEPALIVE_TIMEOUT: 'the peer stopped answering keepalives',
  ERR_NOT_ACKNOWLEDGED: 'a connected peer acknowledged none of our messages for too long: dropped for good',
  ERR_NOT_DELIVERED: 'piped lines were not acknowledged by every peer before the end',
  ERR_PEER_NOT_FOUND: 'no peer by that name or fingerprint was found',
  ERR_AMBIGUOUS_PEER: 'several peers match that name or fingerprint prefix',
  ERR_MDNS_UNAVAILABLE: 'LAN discovery (mDNS) cannot run on this network',
  ERR_MDNS_NAME_CONFLICT: 'another service on the LAN already uses our announcement name',
  ERR_RELAY_UNREACHABLE: 'the relay server could not be reached or dropped the control connection',
  ERR_RELAY_FULL: 'the relay is at one of its limits and refused the request',
  ERR_RELAY_REFUSED: 'the relay refused the request (peer not registered, bad request)',
  ERR_RELAY_RATE_LIMITED: 'the relay refused requests sent faster than it allows',
  ERR_CLUSTER_UNAVAILABLE: 'a relay lost its cluster\'s Redis, or another relay of it did not answer',
  ERR_CLUSTER_KEY_MISMATCH: 'a relay has another key than the other relays of its cluster',
  ERR_CLUSTER_BAD_RECORD: 'a relay met a value in Redis that it did not write',
  ERR_RELAY_GOING_AWAY: 'the relay server is shutting down',
  ERR_BAD_TOKEN: 'a relayed data connection presented an unknown, expired or used token',
  ERR_FILE_UNREADABLE: 'a file to send does not exist, is not a regular file or cannot be read',
  ERR_FILE_WRITE: 'a received file could not be written (disk full, no permission)',
  ERR_FILE_UNSAFE_NAME: 'an offered file name was refused (absolute, `..`, too long, listed twice)',
  ERR_FILE_DECLINED: 'the peer declined the file offer, or it expired unanswered',
  ERR_FILE_CANCELLED: 'the transfer was cancelled by one side or its conversation ended',
  ERR_FILE_CORRUPT: 'a received file did not match its SHA-256, even after sending it again',
  ERR_FILE_CHANGED: 'a file changed on the sender\'s disk while it was being sent',
  ERR_NO_SUCH_TRANSFER: 'no pending offer or transfer matches the command',
} as const);

export type ErrorCode = keyof typeof ERROR_CODES;

export class P2PChatError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'P2PChatError';
    this.code = code;
  }

  static is(err: unknown, code?: ErrorCode): err is P2PChatError {
    return err instanceof P2PChatError && (code === undefined || err.code === code);
  }

  /**
   * Any thrown value as a coded error: a P2PChatError passes through unchanged; anything else
   * (an errno from the file system or a socket, a library's Error) becomes `fallback`, its
   * message `context: words` with the words from ERRNO_WORDS, and keeps it as the cause.
   */
  static from(err: unknown, fallback: ErrorCode, context?: string): P2PChatError {
    if (err instanceof P2PChatError) return err;
    const words = errnoWords(err);
    return new P2PChatError(fallback, context ? `${context}: ${words}` : words, { cause: err });
  }
}

/** Create a coded error; the message is the one line shown to the user. */
export function chatError(code: ErrorCode, message: string, cause?: unknown): P2PChatError {
  return new P2PChatError(code, message, cause === undefined ? undefined : { cause });
}
