// Trust on first use: recording peers, spotting a nickname claimed by a new key, persistence with
// mode 0600, first/last seen stamps, and starting empty when the file is missing or corrupt.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { KNOWN_PEERS_FILE, KnownPeers } from '../../../src/secure/known-peers.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';

const FP_A = fingerprintOf(generateKeyPair().publicKey);
const FP_B = fingerprintOf(generateKeyPair().publicKey);
const FP_C = fingerprintOf(generateKeyPair().publicKey);

const DAY1 = new Date('2024-05-01T10:00:00.000Z');
const DAY2 = new Date('2024-05-02T11:30:00.000Z');
const DAY3 = new Date('2024-05-03T12:45:00.000Z');

describe('KnownPeers', () => {
  let root: string;
  let home: string;
  let file: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'p2p-chat-known-peers-'));
    home = join(root, 'home');
    file = join(home, KNOWN_PEERS_FILE);
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('starts empty when there is no file, and does not create one by loading', () => {
    const peers = KnownPeers.load(home);
    assert.equal(peers.get(FP_A), undefined);
    assert.deepEqual(peers.check(FP_A, 'alice'), { known: false, nameClaimedBy: [] });
    assert.equal(existsSync(file), false);
  });

  it('records a peer, then knows it by fingerprint', () => {
    const peers = KnownPeers.load(home);
    peers.record(FP_A, 'alice', DAY1);
    assert.deepEqual(peers.get(FP_A), {
      name: 'alice',
      firstSeen: DAY1.toISOString(),
      lastSeen: DAY1.toISOString(),
    });
    assert.deepEqual(peers.check(FP_A, 'alice'), { known: true, nameClaimedBy: [] });
    assert.equal(peers.get(FP_B), undefined);
  });

  it('a known key under a new nickname is still known, and not an impostor', () => {
    const peers = KnownPeers.load(home);
    peers.record(FP_A, 'alice', DAY1);
    assert.deepEqual(peers.check(FP_A, 'alice-laptop'), { known: true, nameClaimedBy: [] });
  });

  it('nameClaimedBy lists other fingerprints that used the same nickname', () => {
    const peers = KnownPeers.load(home);
    peers.record(FP_A, 'alice', DAY1);
    peers.record(FP_B, 'bob', DAY1);
    const check = peers.check(FP_C, 'alice');
    assert.equal(check.known, false);
    assert.deepEqual(check.nameClaimedBy, [FP_A]);

    peers.record(FP_C, 'alice', DAY2); // a second device calling itself alice
    assert.deepEqual(peers.check(FP_C, 'alice'), { known: true, nameClaimedBy: [FP_A] });
    assert.deepEqual([...peers.check(FP_B, 'alice').nameClaimedBy].sort(), [FP_A, FP_C].sort());
    assert.deepEqual(peers.check(FP_A, 'bob'), { known: true, nameClaimedBy: [FP_B] });
  });

  it('compares nicknames exactly', () => {
    const peers = KnownPeers.load(home);
    peers.record(FP_A, 'alice', DAY1);
    assert.deepEqual(peers.check(FP_B, 'Alice').nameClaimedBy, []);
    assert.deepEqual(peers.check(FP_B, 'alice ').nameClaimedBy, []);
  });

  it('keeps firstSeen and moves lastSeen and the name on each record', () => {
    const peers = KnownPeers.load(home);
    peers.record(FP_A, 'alice', DAY1);
    peers.record(FP_A, 'alice', DAY2);
    assert.deepEqual(peers.get(FP_A), { name: 'alice', firstSeen: DAY1.toISOString(), lastSeen: DAY2.toISOString() });
    peers.record(FP_A, 'alice2', DAY3);
    assert.deepEqual(peers.get(FP_A), { name: 'alice2', firstSeen: DAY1.toISOString(), lastSeen: DAY3.toISOString() });
    // The old nickname is no longer claimed by this key.
    assert.deepEqual(peers.check(FP_B, 'alice').nameClaimedBy, []);
    assert.deepEqual(peers.check(FP_B, 'alice2').nameClaimedBy, [FP_A]);
  });

  it('stamps the current time by default', () => {
    const peers = KnownPeers.load(home);
    const before = Date.now();
    peers.record(FP_A, 'alice');
    const after = Date.now();
    const seen = Date.parse(peers.get(FP_A)!.lastSeen);
    assert.ok(seen >= before - 1 && seen <= after + 1, `${seen} not in [${before}, ${after}]`);
  });

  it('persists across load, with firstSeen and lastSeen', () => {
    const first = KnownPeers.load(home);
    first.record(FP_A, 'alice', DAY1);
    first.record(FP_B, 'bob', DAY2);
    first.record(FP_A, 'alice', DAY3);

    const second = KnownPeers.load(home);
    assert.deepEqual(second.get(FP_A), { name: 'alice', firstSeen: DAY1.toISOString(), lastSeen: DAY3.toISOString() });
    assert.deepEqual(second.get(FP_B), { name: 'bob', firstSeen: DAY2.toISOString(), lastSeen: DAY2.toISOString() });
    assert.deepEqual(second.check(FP_C, 'bob'), { known: false, nameClaimedBy: [FP_B] });

    // A reloaded list keeps the original firstSeen when the peer comes back.
    second.record(FP_B, 'bob', DAY3);
    assert.equal(KnownPeers.load(home).get(FP_B)?.firstSeen, DAY2.toISOString());
  });

  it('writes a versioned JSON file with mode 0600, in a home it creates', () => {
    KnownPeers.load(home).record(FP_A, 'alice', DAY1);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { version: number; peers: Record<string, unknown> };
    assert.equal(stored.version, 1);
    assert.deepEqual(Object.keys(stored.peers), [FP_A]);
  });

  it('loads a corrupt file as empty, and can overwrite it', () => {
    mkdirSync(home, { recursive: true });
    writeFileSync(file, '{ definitely not json', { mode: 0o600 });
    const peers = KnownPeers.load(home);
    assert.equal(peers.get(FP_A), undefined);
    assert.deepEqual(peers.check(FP_A, 'alice'), { known: false, nameClaimedBy: [] });
    peers.record(FP_A, 'alice', DAY1);
    assert.equal(KnownPeers.load(home).get(FP_A)?.name, 'alice');
  });

  it('loads well-formed JSON of the wrong shape as empty, skipping bad entries', () => {
    mkdirSync(home, { recursive: true });
    for (const body of ['null', '[]', '42', '"text"', '{}', '{"peers":null}']) {
      writeFileSync(file, body, { mode: 0o600 });
      assert.deepEqual(KnownPeers.load(home).check(FP_A, 'alice'), { known: false, nameClaimedBy: [] }, body);
    }
    const entry = { name: 'alice', firstSeen: DAY1.toISOString(), lastSeen: DAY1.toISOString() };
    writeFileSync(file, JSON.stringify({ version: 1, peers: { [FP_A]: entry, [FP_B]: { name: 7 }, [FP_C]: null } }));
    const peers = KnownPeers.load(home);
    assert.deepEqual(peers.get(FP_A), entry);
    assert.equal(peers.get(FP_B), undefined);
    assert.equal(peers.get(FP_C), undefined);
  });
});
