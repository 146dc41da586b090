// Whether this end offers AES-256-GCM for the transport (the handshake feature `aesgcm`): what the
// user chose ($P2P_CHAT_CIPHER), else a probe of both ciphers' speed on this CPU, run once per
// process when the first handshake payload is built. SecureChannel makes the choice from both offers.

import { performance } from 'node:perf_hooks';
import { chatError } from '../errors.js';
import { CIPHER_FUNCTIONS, type CipherFunction } from './noise/cipher-functions.js';
import { aeadEncryptParts } from './noise/crypto-primitives.js';

/** What one end offers: `aesgcm` lists the feature, `chachapoly` does not. */
export type CipherOffer = 'aesgcm' | 'chachapoly';
export const CIPHER_OFFERS: readonly CipherOffer[] = Object.freeze(['aesgcm', 'chachapoly']);

export function isCipherOffer(value: string): value is CipherOffer {
  return (CIPHER_OFFERS as readonly string[]).includes(value);
}

/** The user's choice as given in `source` (an environment variable); unset or empty: none. Throws ERR_USAGE. */
export function parseCipherOffer(value: string | undefined, source: string): CipherOffer | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isCipherOffer(value)) {
    throw chatError('ERR_USAGE', `${source}=${JSON.stringify(value)} is not a cipher; use ${CIPHER_OFFERS.join(' or ')} (or leave it unset)`);
  }
  return value;
}

/**
 * AESGCM is offered when it seals in at most this multiple of ChaChaPoly's time. In a process's
 * first milliseconds it takes, here (fresh processes, record set-up included as in a session):
 * 0.76-1.11 of it with AES-NI and PCLMULQDQ; 1.64-1.81 with AES-NI but no carry-less multiply
 * (OpenSSL's GHASH then uses tables, which can leak timing); 1.86-2.20 without AES-NI; 3.3-3.5
 * without either. 1.3 keeps the first kind (3 of 100 probes were over 1.0) and none of the others.
 */
export const AESGCM_TIME_RATIO = 1.3;

// A file chunk's size, enough of them that the first records' set-up (OpenSSL's, the JIT's) does
// not decide, the best of a few rounds: about 3 ms, and the minimum shrugs off a round that a
// context switch or a GC hit. With 4 records a cold process measured both ciphers alike.
const RECORD = Buffer.alloc(64 * 1024);
const RECORDS = 8;
const ROUNDS = 3;
const KEY = Buffer.alloc(32, 7);
const EMPTY = Buffer.alloc(0);

export interface CipherTimes {
  readonly aesgcmMs: number;
  readonly chachapolyMs: number;
}

/** Seal RECORDS records with each cipher, ROUNDS times, alternating; the fastest round of each. */
export function timeCiphers(now: () => number = () => performance.now()): CipherTimes {
  const round = (cipher: CipherFunction): number => {
    const start = now();
    for (let i = 0; i < RECORDS; i++) aeadEncryptParts(cipher, KEY, BigInt(i), EMPTY, RECORD);
    return now() - start;
  };
  let aesgcmMs = Infinity;
  let chachapolyMs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    aesgcmMs = Math.min(aesgcmMs, round(CIPHER_FUNCTIONS.AESGCM));
    chachapolyMs = Math.min(chachapolyMs, round(CIPHER_FUNCTIONS.ChaChaPoly));
  }
  return { aesgcmMs, chachapolyMs };
}

export function aesGcmIsFaster(times: CipherTimes): boolean {
  return times.aesgcmMs <= AESGCM_TIME_RATIO * times.chachapolyMs;
}

let probed: boolean | undefined;

/** Whether to list `aesgcm`: the user's choice when given, else the probe's (run at most once). */
export function offersAesGcm(choice?: CipherOffer): boolean {
  if (choice !== undefined) return choice === 'aesgcm';
  probed ??= aesGcmIsFaster(timeCiphers());
  return probed;
}
