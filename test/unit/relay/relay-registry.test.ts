// The relay's registry: lookups by full fingerprint (any case, dashes or not), by prefix and by
// nickname; several matches all returned; re-registration replaces; a replaced owner cannot
// remove the newer record.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RelayRegistry } from '../../../src/relay/relay-registry.js';
import { fingerprintMatches, fingerprintOf } from '../../../src/secure/fingerprint.js';
import { generateKeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { MAX_LOOKUP_RESULTS, type RelayRecord } from '../../../src/session/relay-messages.js';

function record(name: string, fingerprint = fingerprintOf(generateKeyPair().publicKey)): RelayRecord {
  return { name, fingerprint, observed: '192.0.2.1:40000', port: 5050, addresses: ['10.0.0.2'] };
}

describe('RelayRegistry', () => {
  it('finds a peer by its full fingerprint in any case, with or without dashes', () => {
    const reg = new RelayRegistry<string>();
    const alice = record('alice');
    reg.register(alice, 'conn-a');
    reg.register(record('bob'), 'conn-b');
    assert.deepEqual(reg.lookup(alice.fingerprint), [alice]);
    assert.deepEqual(reg.lookup(alice.fingerprint.toLowerCase().replace(/-/g, '')), [alice]);
    assert.deepEqual(reg.lookup(` ${alice.fingerprint} `), [alice]);
  });

  it('a full fingerprint nobody registered finds nothing, even if it is also a prefix of nothing', () => {
    const reg = new RelayRegistry<string>();
    reg.register(record('alice'), 'a');
    assert.deepEqual(reg.lookup(fingerprintOf(generateKeyPair().publicKey)), []);
  });

  it('finds by a fingerprint prefix of at least 4 characters, not shorter', () => {
    const reg = new RelayRegistry<string>();
    const alice = record('alice');
    reg.register(alice, 'a');
    assert.deepEqual(reg.lookup(alice.fingerprint.slice(0, 4)), [alice]);
    assert.deepEqual(reg.lookup(alice.fingerprint.slice(0, 10).toLowerCase()), [alice]);
    assert.deepEqual(reg.lookup(alice.fingerprint.slice(0, 3)), []);
  });

  it('a prefix lookup among many peers finds exactly the matching ones, across the dashes', () => {
    const reg = new RelayRegistry<number>();
    const records = Array.from({ length: 300 }, (_, i) => record(`p${i}`));
    records.forEach((r, i) => reg.register(r, i));
    reg.unregister(records[7]!.fingerprint, 7);
    const live = records.filter((_, i) => i !== 7);
    for (const r of [records[0]!, records[150]!, records[7]!]) {
      for (const prefix of [r.fingerprint.slice(0, 4), r.fingerprint.slice(0, 9), r.fingerprint.replace(/-/g, '').slice(0, 12).toLowerCase()]) {
        const expected = live.filter((x) => fingerprintMatches(x.fingerprint, prefix)).slice(0, MAX_LOOKUP_RESULTS);
        const found = reg.lookup(prefix);
        assert.deepEqual(found.map((x) => x.fingerprint).sort(), expected.map((x) => x.fingerprint).sort(), prefix);
      }
    }
    assert.deepEqual(reg.lookup(records[7]!.fingerprint.slice(0, 12)), [], 'an unregistered peer is gone from the index');
  });

  it('finds by nickname, case-insensitive and exact', () => {
    const reg = new RelayRegistry<string>();
    const alice = record('Alice');
    reg.register(alice, 'a');
    assert.deepEqual(reg.lookup('alice'), [alice]);
    assert.deepEqual(reg.lookup('ALICE'), [alice]);
    assert.deepEqual(reg.lookup('alic'), []);
  });

  it('returns every match of an ambiguous name, up to the limit', () => {
    const reg = new RelayRegistry<number>();
    for (let i = 0; i < MAX_LOOKUP_RESULTS + 4; i++) reg.register(record('laptop'), i);
    reg.register(record('desk'), 99);
    const found = reg.lookup('laptop');
    assert.equal(found.length, MAX_LOOKUP_RESULTS);
    assert.ok(found.every((r) => r.name === 'laptop'));
    assert.equal(reg.lookup('laptop', 2).length, 2);
  });

  it('a name and a prefix that both match the same peer list it once', () => {
    const reg = new RelayRegistry<string>();
    const fp = fingerprintOf(generateKeyPair().publicKey);
    const named = record(fp.slice(0, 7), fp);
    reg.register(named, 'a');
    assert.deepEqual(reg.lookup(fp.slice(0, 7)), [named]);
  });

  it('re-registering a key replaces its record and reports the older owner', () => {
    const reg = new RelayRegistry<string>();
    const first = record('old-name');
    assert.equal(reg.register(first, 'conn-1'), undefined);
    const second = { ...first, name: 'new-name', observed: '198.51.100.9:1234' };
    assert.equal(reg.register(second, 'conn-2'), 'conn-1');
    assert.equal(reg.size, 1);
    assert.deepEqual(reg.get(first.fingerprint), second);
    assert.deepEqual(reg.lookup('old-name'), [], 'the old nickname no longer finds it');
    assert.deepEqual(reg.lookup('new-name'), [second]);
    // The same connection updating its record replaces nobody.
    assert.equal(reg.register({ ...second, port: 6000 }, 'conn-2'), undefined);
  });

  it('only the owner of a record can remove it', () => {
    const reg = new RelayRegistry<string>();
    const r = record('alice');
    reg.register(r, 'conn-1');
    reg.register(r, 'conn-2');
    assert.equal(reg.unregister(r.fingerprint, 'conn-1'), undefined);
    assert.equal(reg.ownerOf(r.fingerprint), 'conn-2');
    assert.deepEqual(reg.unregister(r.fingerprint, 'conn-2'), r);
    assert.equal(reg.size, 0);
    assert.deepEqual(reg.lookup('alice'), []);
  });
});
