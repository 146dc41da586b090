// The Noise functions of `25519_ChaChaPoly_SHA256` and `25519_AESGCM_SHA256` (DH, cipher, hash) on
// node:crypto alone. Everything above this file deals in raw bytes; KeyObjects and DER never leave it.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { chatError } from '../../errors.js';
import { type CipherFunction, writeNonce } from './cipher-functions.js';

/** X25519 public keys, private keys and shared secrets are all this long (Noise's DHLEN). */
export const DH_LENGTH = 32;
/** SHA-256 output length (Noise's HASHLEN). */
export const HASH_LENGTH = 32;
/** Key length of both ciphers (ChaCha20-Poly1305, AES-256-GCM). */
export const KEY_LENGTH = 32;
/** Authentication tag appended to every ciphertext, by both ciphers. */
export const TAG_LENGTH = 16;

export interface KeyPair {
  readonly publicKey: Buffer;
  readonly privateKey: Buffer;
}

// node:crypto has no raw import for X25519. Public keys go in as JWK (about 10x cheaper than
// SPKI DER); a private key goes in once through PKCS#8 DER (RFC 8410's fixed header + the key) and
// its KeyObject is cached, because importing it costs ten times the X25519 operation itself.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  if (privateKey.length !== DH_LENGTH) {
    throw chatError('ERR_HANDSHAKE_FAILED', `an X25519 private key must be ${DH_LENGTH} bytes, got ${privateKey.length}`);
  }
  let key = privateKeyObjects.get(privateKey);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
    privateKeyObjects.set(privateKey, key);
  }
  return key;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== DH_LENGTH) {
    throw chatError('ERR_HANDSHAKE_FAILED', `an X25519 public key must be ${DH_LENGTH} bytes, got ${publicKey.length}`);
  }
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

// Exports go through DER, not JWK: on Node 20.20 a JWK export can deadlock when a GC runs inside
// it (a loop of thousands of key generations hangs at 0 % CPU).
const SPKI_PREFIX_LENGTH = 12;

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from((key.export({ format: 'der', type: 'spki' }) as Buffer).subarray(SPKI_PREFIX_LENGTH));
}

export function generateKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer;
  const pair = { publicKey: rawPublicKey(publicKey), privateKey: Buffer.from(der.subarray(PKCS8_PREFIX.length)) };
  privateKeyObjects.set(pair.privateKey, privateKey);
  return pair;
}

/** Rebuild a key pair from its 32-byte private half (e.g. a stored identity or a test vector). */
export function keyPairFromPrivate(privateKey: Uint8Array): KeyPair {
  const copy = Buffer.from(privateKey);
  return { publicKey: rawPublicKey(createPublicKey(privateKeyObject(copy))), privateKey: copy };
}

/**
 * X25519. A low-order peer key would make the shared secret all zeros, letting an attacker force a
 * known key; OpenSSL refuses some of these itself and returns zeros for others, so both are caught.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  const pub = publicKeyObject(publicKey);
  const priv = privateKeyObject(privateKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: priv, publicKey: pub });
  } catch (err) {
    throw chatError('ERR_LOW_ORDER_POINT', 'the peer sent a low-order X25519 public key', err);
  }
  // OR-fold instead of an early exit so the check takes the same time whatever the secret is.
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  if (acc === 0) throw chatError('ERR_LOW_ORDER_POINT', 'the peer sent a low-order X25519 public key');
  return shared;
}

// createCipheriv copies the IV, so one scratch buffer serves every call on this thread.
const nonceScratch = Buffer.alloc(12);

// Both AEADs take the same options and give the same methods; @types/node has one overload per
// algorithm family and none for a union, so the name is typed as one of them.
type AeadAlgorithm = 'aes-256-gcm';

/** ENCRYPT(k, n, ad, plaintext) of `cipher`; returns ciphertext || 16-byte tag. */
export function aeadEncrypt(cipher: CipherFunction, key: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const [body, tag] = aeadEncryptParts(cipher, key, n, ad, plaintext);
  return Buffer.concat([body, tag], body.length + TAG_LENGTH);
}

/** The same as two buffers, ciphertext and tag, for callers that write them out without joining. */
export function aeadEncryptParts(cipher: CipherFunction, key: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): [Buffer, Buffer] {
  const encryptor = createCipheriv(cipher.algorithm as AeadAlgorithm, key, writeNonce(cipher, nonceScratch, n), { authTagLength: TAG_LENGTH });
  encryptor.setAAD(ad, { plaintextLength: plaintext.length });
  const body = encryptor.update(plaintext);
  encryptor.final();
  return [body, encryptor.getAuthTag()];
}

/** DECRYPT(k, n, ad, ciphertext || tag) of `cipher`; a bad tag throws ERR_DECRYPT_FAILED. */
export function aeadDecrypt(cipher: CipherFunction, key: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Buffer {
  if (ciphertext.length < TAG_LENGTH) {
    throw chatError('ERR_DECRYPT_FAILED', `ciphertext of ${ciphertext.length} bytes is shorter than its tag`);
  }
  const bodyLength = ciphertext.length - TAG_LENGTH;
  const decipher = createDecipheriv(cipher.algorithm as AeadAlgorithm, key, writeNonce(cipher, nonceScratch, n), { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(ciphertext.subarray(bodyLength));
  decipher.setAAD(ad, { plaintextLength: bodyLength });
  const body = decipher.update(ciphertext.subarray(0, bodyLength));
  try {
    decipher.final();
  } catch (err) {
    // The unauthenticated plaintext is dropped here and never reaches the caller.
    throw chatError('ERR_DECRYPT_FAILED', 'a message was changed in transit and failed authentication', err);
  }
  return body;
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

const BYTE_1 = Uint8Array.of(1);
const BYTE_2 = Uint8Array.of(2);
const BYTE_3 = Uint8Array.of(3);

/** Noise's HKDF (spec section 4.3), which is RFC 5869 with an empty info and 2 or 3 outputs. */
export function hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2): [Buffer, Buffer];
export function hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 3): [Buffer, Buffer, Buffer];
export function hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2 | 3): Buffer[] {
  const tempKey = hmacSha256(chainingKey, inputKeyMaterial);
  const output1 = hmacSha256(tempKey, BYTE_1);
  const output2 = hmacSha256(tempKey, output1, BYTE_2);
  if (outputs === 2) return [output1, output2];
  return [output1, output2, hmacSha256(tempKey, output2, BYTE_3)];
}
