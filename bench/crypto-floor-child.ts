// The crypto half of file-transfer-direct's CPU floor, run in a process of its own so it shares
// no event loop or core with a transfer: node:crypto's SHA-256 of 1 GiB in 64 KiB chunks, and each
// AEAD a session may use (ChaCha20-Poly1305, AES-256-GCM) sealing and opening 1 GiB in 64 KiB
// records as Noise does (a fresh cipher per record, counter nonce, empty AD, 16-byte tag). Prints
// one JSON line of CPU seconds and exits.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Noise's cipher names, and node:crypto's for them. */
export const FLOOR_AEADS = Object.freeze({ ChaChaPoly: 'chacha20-poly1305', AESGCM: 'aes-256-gcm' } as const);
export type FloorAead = keyof typeof FLOOR_AEADS;

export interface AeadSeconds {
  readonly sealSeconds: number;
  readonly openSeconds: number;
}

export interface CryptoFloorReport {
  readonly sha256Seconds: number;
  readonly aead: Readonly<Record<FloorAead, AeadSeconds>>;
}

const CHUNK_BYTES = 64 * 1024;
const TOTAL_BYTES = 1024 ** 3;
const RECORDS = TOTAL_BYTES / CHUNK_BYTES;
const TAG_BYTES = 16;
/** Distinct sealed records the open pass cycles through: enough nonces to be honest, 1 MiB held. */
const OPEN_RING = 16;

const NO_AD = Buffer.alloc(0);

const key = randomBytes(32);
const plaintext = randomBytes(CHUNK_BYTES);

function nonce(n: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeBigUInt64LE(BigInt(n), 4);
  return out;
}

/** CPU seconds (user + system) that `work` takes on this one thread. */
function cpuSeconds(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function measureAead(name: (typeof FLOOR_AEADS)[FloorAead]): AeadSeconds {
  // node:crypto's typings take authTagLength for one algorithm family at a time, not a union.
  const algorithm = name as 'chacha20-poly1305';
  const seal = (n: number): [Buffer, Buffer] => {
    const cipher = createCipheriv(algorithm, key, nonce(n), { authTagLength: TAG_BYTES });
    cipher.setAAD(NO_AD, { plaintextLength: CHUNK_BYTES });
    const body = cipher.update(plaintext);
    cipher.final();
    return [body, cipher.getAuthTag()];
  };
  const sealSeconds = cpuSeconds(() => {
    for (let i = 0; i < RECORDS; i++) seal(i);
  });
  const ring = Array.from({ length: OPEN_RING }, (_, n) => seal(n));
  const openSeconds = cpuSeconds(() => {
    for (let i = 0; i < RECORDS; i++) {
      const n = i % OPEN_RING;
      const [body, tag] = ring[n]!;
      const decipher = createDecipheriv(algorithm, key, nonce(n), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      decipher.setAAD(NO_AD, { plaintextLength: CHUNK_BYTES });
      decipher.update(body);
      decipher.final(); // throws on a bad tag, which would make every figure here meaningless
    }
  });
  return { sealSeconds, openSeconds };
}

const sha256Seconds = cpuSeconds(() => {
  const hash = createHash('sha256');
  for (let i = 0; i < RECORDS; i++) hash.update(plaintext);
  hash.digest();
});

const report: CryptoFloorReport = {
  sha256Seconds,
  aead: { ChaChaPoly: measureAead(FLOOR_AEADS.ChaChaPoly), AESGCM: measureAead(FLOOR_AEADS.AESGCM) },
};
process.stdout.write(`${JSON.stringify(report)}\n`);
