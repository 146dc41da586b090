// When an AESGCM session changes its keys. AES-GCM's safety margin is counted in blocks per key
// (TLS 1.3 caps a key at 2^24.5 records of 16 KiB, about 2^38.5 bytes), and one file transfer can
// pass that within a session; ChaCha20-Poly1305 has no such margin to keep. So each direction of an
// AESGCM session calls Noise's Rekey() (spec section 11.3: the nonce goes on) after every
// AESGCM_REKEY_EVERY messages. Both sides count the same messages, so nothing is sent to agree.

import type { CipherState } from './noise/index.js';

/** 2^20 messages: 64 GiB of full 64 KiB records per key, a quarter of AES-GCM's margin. */
export const AESGCM_REKEY_EVERY = 2 ** 20;

/** After a message went through `cipher`: Rekey() when it was the last of a key's share. */
export function rekeyWhenDue(cipher: CipherState, every: bigint): void {
  if (cipher.nonce % every === 0n) cipher.rekey();
}
