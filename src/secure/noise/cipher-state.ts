// Noise CipherState (spec section 5.1): a key plus a 64-bit message counter used as the nonce.
// After the handshake, one of these per direction encrypts every transport message.

import { chatError } from '../../errors.js';
import { type CipherFunction, DEFAULT_CIPHER } from './cipher-functions.js';
import { aeadDecrypt, aeadEncrypt, aeadEncryptParts, KEY_LENGTH, TAG_LENGTH } from './crypto-primitives.js';

/** No Noise message, handshake or transport, may exceed this many bytes (spec section 3). */
export const MAX_MESSAGE_LENGTH = 65535;

/** 2^64-1 is reserved by the spec for Rekey, so it is never used for a message. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

const ZEROS_32 = new Uint8Array(32);
const EMPTY = new Uint8Array(0);

export class CipherState {
  /** The cipher function this state encrypts with (ChaChaPoly or AESGCM). */
  readonly cipher: CipherFunction;
  #key: Buffer | undefined;
  // bigint keeps the full 64-bit range exact; a JS number would silently lose counts past 2^53.
  #nonce = 0n;
  // Set only for the direction a one-way pattern never uses, so a mistaken send fails loudly.
  readonly #disabledReason: string | undefined;

  constructor(key?: Uint8Array, cipher: CipherFunction = DEFAULT_CIPHER, disabledReason?: string) {
    this.cipher = cipher;
    if (key !== undefined) this.initializeKey(key);
    this.#disabledReason = disabledReason;
  }

  /** A cipher state that refuses every operation: the unused direction of a one-way pattern. */
  static disabled(reason: string, cipher: CipherFunction = DEFAULT_CIPHER): CipherState {
    return new CipherState(undefined, cipher, reason);
  }

  initializeKey(key: Uint8Array): void {
    if (key.length !== KEY_LENGTH) {
      throw chatError('ERR_HANDSHAKE_FAILED', `a cipher key must be ${KEY_LENGTH} bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
    this.#nonce = 0n;
  }

  hasKey(): boolean {
    return this.#key !== undefined;
  }

  /** The counter the next message will use. */
  get nonce(): bigint {
    return this.#nonce;
  }

  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE) {
      throw chatError('ERR_NONCE_EXHAUSTED', `nonce ${nonce} is outside the 64-bit range`);
    }
    this.#nonce = nonce;
  }

  /** Without a key this is the identity, as the handshake's first messages require. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    this.#checkLength(plaintext);
    if (this.#key === undefined) return Buffer.from(plaintext);
    this.#checkNonce();
    const ciphertext = aeadEncrypt(this.cipher, this.#key, this.#nonce, ad, plaintext);
    this.#nonce++;
    return ciphertext;
  }

  /** encryptWithAd for a keyed state, returning the ciphertext and the tag unjoined (bulk data). */
  encryptWithAdParts(ad: Uint8Array, plaintext: Uint8Array): [Buffer, Buffer] {
    this.#checkLength(plaintext);
    if (this.#key === undefined) throw chatError('ERR_HANDSHAKE_FAILED', 'no key to encrypt with');
    this.#checkNonce();
    const parts = aeadEncryptParts(this.cipher, this.#key, this.#nonce, ad, plaintext);
    this.#nonce++;
    return parts;
  }

  #checkLength(plaintext: Uint8Array): void {
    this.#checkUsable();
    if (plaintext.length + (this.#key ? TAG_LENGTH : 0) > MAX_MESSAGE_LENGTH) {
      throw chatError('ERR_FRAME_TOO_LARGE', `a ${plaintext.length}-byte plaintext does not fit in one Noise message`);
    }
  }

  /** On a bad tag this throws ERR_DECRYPT_FAILED and leaves the nonce alone, per the spec. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Buffer {
    this.#checkUsable();
    if (ciphertext.length > MAX_MESSAGE_LENGTH) {
      throw chatError('ERR_FRAME_TOO_LARGE', `a ${ciphertext.length}-byte message exceeds the Noise limit`);
    }
    if (this.#key === undefined) return Buffer.from(ciphertext);
    this.#checkNonce();
    const plaintext = aeadDecrypt(this.cipher, this.#key, this.#nonce, ad, ciphertext);
    this.#nonce++;
    return plaintext;
  }

  /**
   * Replace the key with one derived from it (spec section 11.3: REKEY, the first 32 bytes of
   * ENCRYPT at nonce 2^64-1, in this state's cipher); the nonce is kept.
   */
  rekey(): void {
    this.#checkUsable();
    if (this.#key === undefined) throw chatError('ERR_HANDSHAKE_FAILED', 'cannot rekey a cipher state that has no key');
    this.#key = aeadEncrypt(this.cipher, this.#key, MAX_NONCE, EMPTY, ZEROS_32).subarray(0, KEY_LENGTH);
  }

  #checkUsable(): void {
    if (this.#disabledReason !== undefined) throw chatError('ERR_HANDSHAKE_FAILED', this.#disabledReason);
  }

  #checkNonce(): void {
    if (this.#nonce >= MAX_NONCE) {
      throw chatError('ERR_NONCE_EXHAUSTED', 'this cipher state has used all its nonces; the session must be re-established');
    }
  }
}
