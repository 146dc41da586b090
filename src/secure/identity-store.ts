// The long-term X25519 identity of this peer: created on first use, stored with mode 0600, and
// refused (as ssh refuses a private key) when other users could read it.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errno-words.js';
import { chatError, P2PChatError } from '../errors.js';
import { generateKeyPair, keyPairFromPrivate, type KeyPair } from './noise/crypto-primitives.js';
import { fingerprintOf } from './fingerprint.js';
import { ensureHomeDir, publishFileExclusive } from './home-dir.js';

export const IDENTITY_FILE = 'identity.json';

export interface Identity {
  readonly keyPair: KeyPair;
  readonly fingerprint: string;
  readonly path: string;
  readonly created: boolean;
}

interface IdentityFileV1 {
  version: 1;
  type: 'x25519';
  privateKey: string;
  publicKey: string;
  created: string;
}

export function loadOrCreateIdentity(homeDir: string): Identity {
  const path = join(homeDir, IDENTITY_FILE);
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw P2PChatError.from(err, 'ERR_IDENTITY_CORRUPT', `cannot read identity key ${path}`);
    return createIdentity(homeDir, path);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw chatError(
      'ERR_IDENTITY_PERMISSIONS',
      `identity key ${path} is accessible by other users (mode ${octal}); run: chmod 600 ${path}`,
    );
  }
  return readIdentity(path);
}

function createIdentity(homeDir: string, path: string): Identity {
  ensureHomeDir(homeDir);
  const keyPair = generateKeyPair();
  const file: IdentityFileV1 = {
    version: 1,
    type: 'x25519',
    privateKey: keyPair.privateKey.toString('base64'),
    publicKey: keyPair.publicKey.toString('base64'),
    created: new Date().toISOString(),
  };
  // Two processes starting on a fresh home must end up with one identity: publish with link(),
  // which fails if the file appeared meanwhile, and then use the one that won.
  if (!publishFileExclusive(path, JSON.stringify(file, null, 2) + '\n', 0o600)) return readIdentity(path);
  return { keyPair, fingerprint: fingerprintOf(keyPair.publicKey), path, created: true };
}

function readIdentity(path: string): Identity {
  const corrupt = (why: string) => chatError('ERR_IDENTITY_CORRUPT', `identity key ${path} is unusable: ${why}`);
  let parsed: Partial<IdentityFileV1>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<IdentityFileV1>;
  } catch (err) {
    throw P2PChatError.from(err, 'ERR_IDENTITY_CORRUPT', `identity key ${path} is unusable`);
  }
  if (
    typeof parsed !== 'object' || // JSON null would otherwise fail below as a TypeError
    parsed === null ||
    parsed.version !== 1 ||
    parsed.type !== 'x25519' ||
    typeof parsed.privateKey !== 'string'
  ) {
    throw corrupt('unknown format');
  }
  const privateKey = Buffer.from(parsed.privateKey, 'base64');
  if (privateKey.length !== 32) throw corrupt('the private key is not 32 bytes');
  const keyPair = keyPairFromPrivate(privateKey);
  if (parsed.publicKey !== undefined && parsed.publicKey !== keyPair.publicKey.toString('base64')) {
    throw corrupt('the public key does not match the private key');
  }
  return { keyPair, fingerprint: fingerprintOf(keyPair.publicKey), path, created: false };
}
