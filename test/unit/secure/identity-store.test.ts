// The identity key file: created once with mode 0600, loaded unchanged afterwards, refused when
// other users could read it (as ssh does), and refused when it is corrupt or self-contradictory.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { IDENTITY_FILE, loadOrCreateIdentity } from '../../../src/secure/identity-store.js';
import { generateKeyPair, keyPairFromPrivate } from '../../../src/secure/noise/crypto-primitives.js';
import { throwsCode } from '../../helpers/assert-code.js';


describe('loadOrCreateIdentity', () => {
  let root: string;
  let home: string;
  let file: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'p2p-chat-identity-'));
    // A home that does not exist yet: the store must create it.
    home = join(root, 'home');
    file = join(home, IDENTITY_FILE);
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the identity on first use, with mode 0600 in a 0700 directory', () => {
    const identity = loadOrCreateIdentity(home);
    assert.equal(identity.created, true);
    assert.equal(identity.path, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(identity.keyPair.publicKey.length, 32);
    assert.equal(identity.keyPair.privateKey.length, 32);
    assert.equal(identity.fingerprint, fingerprintOf(identity.keyPair.publicKey));
    assert.deepEqual(keyPairFromPrivate(identity.keyPair.privateKey).publicKey, identity.keyPair.publicKey);

    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.equal(stored.version, 1);
    assert.equal(stored.type, 'x25519');
    assert.equal(stored.privateKey, identity.keyPair.privateKey.toString('base64'));
    assert.equal(stored.publicKey, identity.keyPair.publicKey.toString('base64'));
    assert.ok(!Number.isNaN(Date.parse(String(stored.created))));
  });

  it('loads the same identity the second time, with created: false', () => {
    const first = loadOrCreateIdentity(home);
    const before = readFileSync(file, 'utf8');
    const second = loadOrCreateIdentity(home);
    assert.equal(second.created, false);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.deepEqual(second.keyPair, first.keyPair);
    assert.equal(readFileSync(file, 'utf8'), before, 'loading must not rewrite the file');
  });

  it('gives different homes different identities', () => {
    const a = loadOrCreateIdentity(join(root, 'a'));
    const b = loadOrCreateIdentity(join(root, 'b'));
    assert.notEqual(a.fingerprint, b.fingerprint);
  });

  it('refuses a key file others can read, telling the user to chmod 600', () => {
    loadOrCreateIdentity(home);
    chmodSync(file, 0o644);
    const err = throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_PERMISSIONS');
    assert.match(err.message, /chmod 600/);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /0644/);
    // The file is left alone for the user to fix.
    assert.equal(statSync(file).mode & 0o777, 0o644);
  });

  it('refuses group-only access too, and loads again once fixed', () => {
    const created = loadOrCreateIdentity(home);
    chmodSync(file, 0o640);
    throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_PERMISSIONS');
    chmodSync(file, 0o600);
    assert.equal(loadOrCreateIdentity(home).fingerprint, created.fingerprint);
  });

  it('accepts an owner-only read-only file (0400)', () => {
    const created = loadOrCreateIdentity(home);
    chmodSync(file, 0o400);
    assert.equal(loadOrCreateIdentity(home).fingerprint, created.fingerprint);
  });

  it('refuses a file that is not JSON as ERR_IDENTITY_CORRUPT, without replacing it', () => {
    loadOrCreateIdentity(home);
    writeFileSync(file, '{ this is not json', { mode: 0o600 });
    const err = throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_CORRUPT');
    assert.ok(err.message.includes(file), err.message);
    assert.equal(readFileSync(file, 'utf8'), '{ this is not json');
  });

  it('says in plain words why the file cannot be read, not with the errno', () => {
    mkdirSync(file, { recursive: true, mode: 0o700 }); // reading it fails with EISDIR
    const err = throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_CORRUPT');
    assert.equal(err.message, `identity key ${file} is unusable: is a directory`);
  });

  it('refuses unknown formats and keys of the wrong size as ERR_IDENTITY_CORRUPT', () => {
    loadOrCreateIdentity(home);
    const good = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const variants: Record<string, unknown>[] = [
      { ...good, version: 2 },
      { ...good, type: 'ed25519' },
      { ...good, privateKey: undefined },
      { ...good, privateKey: 42 },
      { ...good, privateKey: Buffer.alloc(16).toString('base64') },
    ];
    for (const variant of variants) {
      writeFileSync(file, JSON.stringify(variant), { mode: 0o600 });
      throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_CORRUPT');
    }
    // Regression: JSON that is not an object (null) used to escape as a TypeError.
    for (const body of ['null', '42', '"text"', '[]']) {
      writeFileSync(file, body, { mode: 0o600 });
      throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_CORRUPT');
    }
  });

  it('refuses a publicKey that does not belong to the private key', () => {
    loadOrCreateIdentity(home);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    stored.publicKey = generateKeyPair().publicKey.toString('base64');
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    const err = throwsCode(() => loadOrCreateIdentity(home), 'ERR_IDENTITY_CORRUPT');
    assert.match(err.message, /public key does not match/);
  });

  it('accepts a file without publicKey, deriving it from the private key', () => {
    const created = loadOrCreateIdentity(home);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete stored.publicKey;
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    const loaded = loadOrCreateIdentity(home);
    assert.equal(loaded.fingerprint, created.fingerprint);
    assert.equal(loaded.created, false);
  });
});

describe('identity creation race (review regression)', () => {
  it('publishFileExclusive never replaces a file another process created first', async () => {
    const { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { publishFileExclusive } = await import('../../../src/secure/home-dir.js');
    const dir = mkdtempSync(join(tmpdir(), 'p2p-chat-publish-'));
    try {
      const path = join(dir, 'identity.json');
      assert.equal(publishFileExclusive(path, 'first', 0o600), true);
      assert.equal(publishFileExclusive(path, 'second', 0o600), false);
      assert.equal(readFileSync(path, 'utf8'), 'first');
      writeFileSync(join(dir, 'x'), '');
      assert.deepEqual(readdirSync(dir).sort(), ['identity.json', 'x'], 'no temporary file left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
