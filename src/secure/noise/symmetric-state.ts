// Noise SymmetricState (spec section 5.2): the chaining key `ck` and transcript hash `h` that every
// handshake token feeds, wrapped around the CipherState that encrypts the handshake's payloads.

import type { CipherFunction } from './cipher-functions.js';
import { CipherState } from './cipher-state.js';
import { HASH_LENGTH, hkdf, KEY_LENGTH, sha256 } from './crypto-primitives.js';

const EMPTY = new Uint8Array(0);

export class SymmetricState {
  #chainingKey: Buffer;
  #hash: Buffer;
  readonly #cipher: CipherState;

  /** InitializeSymmetric: short names are zero-padded into `h`, long ones hashed. */
  constructor(protocolName: string, cipher: CipherFunction) {
    this.#cipher = new CipherState(undefined, cipher);
    const name = Buffer.from(protocolName, 'utf8');
    if (name.length <= HASH_LENGTH) {
      this.#hash = Buffer.alloc(HASH_LENGTH);
      name.copy(this.#hash);
    } else {
      this.#hash = sha256(name);
    }
    this.#chainingKey = Buffer.from(this.#hash);
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = hkdf(this.#chainingKey, inputKeyMaterial, 2);
    this.#chainingKey = chainingKey;
    this.#cipher.initializeKey(tempKey.subarray(0, KEY_LENGTH));
  }

  mixHash(data: Uint8Array): void {
    this.#hash = sha256(this.#hash, data);
  }

  /** Used by psk tokens; kept so the table can grow psk patterns without touching this file. */
  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempHash, tempKey] = hkdf(this.#chainingKey, inputKeyMaterial, 3);
    this.#chainingKey = chainingKey;
    this.mixHash(tempHash);
    this.#cipher.initializeKey(tempKey.subarray(0, KEY_LENGTH));
  }

  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  getHandshakeHash(): Buffer {
    return Buffer.from(this.#hash);
  }

  encryptAndHash(plaintext: Uint8Array): Buffer {
    const ciphertext = this.#cipher.encryptWithAd(this.#hash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Buffer {
    const plaintext = this.#cipher.decryptWithAd(this.#hash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /**
   * The two transport cipher states: c1 carries initiator→responder, c2 the reverse. They use the
   * handshake's cipher unless `cipher` names another one that both sides agreed on.
   */
  split(cipher: CipherFunction = this.#cipher.cipher): [CipherState, CipherState] {
    const [key1, key2] = hkdf(this.#chainingKey, EMPTY, 2);
    return [new CipherState(key1.subarray(0, KEY_LENGTH), cipher), new CipherState(key2.subarray(0, KEY_LENGTH), cipher)];
  }
}
