// The transport messages' cipher: which one a session uses, and when an AESGCM session changes
// its keys. Both ends decide each from what both handshake payloads said, so they agree without a
// message of their own.

import { AESGCM_FEATURE } from './handshake-payload.js';
import { CIPHER_FUNCTIONS, type CipherFunction, DEFAULT_CIPHER } from './noise/cipher-functions.js';
import type { CipherState } from './noise/index.js';

// AES-GCM's safety margin is counted in blocks per key (TLS 1.3 caps a key at 2^24.5 records of
// 16 KiB, about 2^38.5 bytes), and one file transfer can pass that within a session;
// ChaCha20-Poly1305 has no such margin to keep. So each direction of an AESGCM session calls
// Noise's Rekey() (spec section 11.3: the nonce goes on) after every AESGCM_REKEY_EVERY messages.
// Both sides count the same messages, so nothing is sent to agree.

/** 2^20 messages: 64 GiB of full 64 KiB records per key, a quarter of AES-GCM's margin. */
export const AESGCM_REKEY_EVERY = 2 ** 20;

export interface TransportCipher {
  readonly cipher: CipherFunction;
  /** Messages per key in each direction; undefined: never rekey. */
  readonly rekeyEvery: bigint | undefined;
}

/**
 * AESGCM when both lists name `aesgcm`, else ChaChaPoly. Both came in authenticated handshake
 * payloads (a changed byte fails its AEAD check), so both sides see the same two and make the same
 * choice: a middlebox cannot downgrade it. `ours` must be our list as the peer reads it
 * (featureList), so that an entry it drops counts for neither side.
 */
export function chooseTransportCipher(ours: readonly string[], theirs: readonly string[], aesGcmRekeyEvery = AESGCM_REKEY_EVERY): TransportCipher {
  return ours.includes(AESGCM_FEATURE) && theirs.includes(AESGCM_FEATURE)
    ? { cipher: CIPHER_FUNCTIONS.AESGCM, rekeyEvery: BigInt(aesGcmRekeyEvery) }
    : { cipher: DEFAULT_CIPHER, rekeyEvery: undefined };
}

/** After a message went through `cipher`: Rekey() when it was the last of a key's share. */
export function rekeyWhenDue(cipher: CipherState, every: bigint): void {
  if (cipher.nonce % every === 0n) cipher.rekey();
}
