// Public surface of the Noise implementation; code outside secure/noise imports from here only.

export {
  CIPHER_FUNCTIONS,
  CIPHER_NAMES,
  type CipherFunction,
  type CipherName,
  DEFAULT_CIPHER,
  isCipherName,
} from './cipher-functions.js';
export { CipherState, MAX_MESSAGE_LENGTH, MAX_NONCE } from './cipher-state.js';
export { DH_LENGTH, dh, generateKeyPair, type KeyPair, keyPairFromPrivate } from './crypto-primitives.js';
export {
  HANDSHAKE_PATTERNS,
  type HandshakePattern,
  type MessageToken,
  parseProtocolName,
  PATTERN_NAMES,
  type PatternName,
  type PreMessageToken,
  protocolName,
  type ProtocolParts,
  SUPPORTED_SUITES,
} from './handshake-patterns.js';
export { type HandshakeOptions, HandshakeState, type TransportCiphers } from './handshake-state.js';
