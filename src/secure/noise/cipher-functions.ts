// The Noise cipher functions (spec section 12) as data: one row per cipher, read by the AEAD calls
// in crypto-primitives.ts. Both take a 32-byte key and a 96-bit nonce of 4 zero bytes and the
// 64-bit counter; they differ only in the node:crypto algorithm and the counter's byte order.

/** A cipher's name as it appears in a Noise protocol name (`Noise_XX_25519_<name>_SHA256`). */
export type CipherName = 'ChaChaPoly' | 'AESGCM';

export interface CipherFunction {
  readonly name: CipherName;
  /** The algorithm name node:crypto's createCipheriv takes. */
  readonly algorithm: 'chacha20-poly1305' | 'aes-256-gcm';
  /** Byte order of the 64-bit counter in the nonce's last 8 bytes. */
  readonly counterOrder: 'little-endian' | 'big-endian';
}

type CipherRow = Omit<CipherFunction, 'name'>;

const rows = {
  // Spec section 12.3: the counter little-endian, as RFC 7539 lays out its nonce.
  ChaChaPoly: { algorithm: 'chacha20-poly1305', counterOrder: 'little-endian' },
  // Spec section 12.4: the counter big-endian.
  AESGCM: { algorithm: 'aes-256-gcm', counterOrder: 'big-endian' },
} as const satisfies Record<CipherName, CipherRow>;

export const CIPHER_NAMES: readonly CipherName[] = Object.freeze(Object.keys(rows) as CipherName[]);

export const CIPHER_FUNCTIONS: Readonly<Record<CipherName, CipherFunction>> = Object.freeze(
  Object.fromEntries(CIPHER_NAMES.map((name) => [name, Object.freeze({ name, ...rows[name] })])) as Record<CipherName, CipherFunction>,
);

/** The cipher of the handshake and, unless both peers choose otherwise, of the transport. */
export const DEFAULT_CIPHER: CipherFunction = CIPHER_FUNCTIONS.ChaChaPoly;

export function isCipherName(name: string): name is CipherName {
  return Object.hasOwn(rows, name);
}

/** Noise's 96-bit nonce for counter `n` under `cipher`, written into `out` (12 bytes). */
export function writeNonce(cipher: CipherFunction, out: Buffer, n: bigint): Buffer {
  out.writeUInt32LE(0, 0);
  if (cipher.counterOrder === 'big-endian') out.writeBigUInt64BE(n, 4);
  else out.writeBigUInt64LE(n, 4);
  return out;
}
