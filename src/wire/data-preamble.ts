// A relayed session's data connection starts with its own preamble, `P2PDATA` + version, and the
// 32-byte one-time token the relay handed out; after that the relay splices the two connections
// and the peers speak the ordinary p2p-chat protocol (preamble, Noise) end to end through it.

import { chatError } from '../errors.js';
import { PROTOCOL_VERSION } from './preamble.js';

export const DATA_MAGIC = Buffer.from('P2PDATA', 'ascii');
export const DATA_PREAMBLE: Buffer = Buffer.concat([DATA_MAGIC, Buffer.from([PROTOCOL_VERSION])]);
export const TOKEN_BYTES = 32;
/** Preamble + token: what a data connection sends before anything else. */
export const DATA_HELLO_LENGTH = DATA_PREAMBLE.length + TOKEN_BYTES;

export function encodeDataHello(tokenHex: string): Buffer {
  const token = Buffer.from(tokenHex, 'hex');
  if (token.length !== TOKEN_BYTES) throw chatError('ERR_BAD_TOKEN', 'a session token is 32 bytes');
  return Buffer.concat([DATA_PREAMBLE, token]);
}
