import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAddressTarget, planDial } from '../../../src/app/dial-plan.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';

const FP = fingerprintOf(Buffer.alloc(32, 7));

describe('dial plans', () => {
  it('tells addresses from names and fingerprints', () => {
    for (const t of ['192.0.2.7', '192.0.2.7:5050', '[2001:db8::7]:5050', '2001:db8::7', 'relay.example.org', 'localhost', `${FP}@192.0.2.7`]) {
      assert.equal(isAddressTarget(t), true, t);
    }
    for (const t of ['laptop', 'desk-pc', FP.slice(0, 7), FP.slice(0, 15), FP]) {
      assert.equal(isAddressTarget(t), false, t);
    }
  });

  it('an address plan dials that address, with the fingerprint from FP@host as the expected key', async () => {
    assert.deepEqual(await planDial('192.0.2.7'), { label: '192.0.2.7:5050', candidates: [{ host: '192.0.2.7', port: 5050 }] });
    const plan = await planDial(`${FP.toLowerCase()}@[2001:db8::7]:6000`);
    assert.equal(plan.expect, FP);
    assert.deepEqual(plan.candidates, [{ host: '2001:db8::7', port: 6000 }]);
  });

  it('without LAN discovery an unknown name is not found, with a suggestion', async () => {
    await assert.rejects(planDial('no-such-peer-xyz'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_PEER_NOT_FOUND');
      assert.match(err.message, /no peer named 'no-such-peer-xyz' found \(LAN discovery is off\); try 'p2p-chat connect <ip>'/);
      return true;
    });
  });
});

describe('dial plan conflicts', () => {
  it('refuses FP@host together with a different --expect', async () => {
    const other = fingerprintOf(Buffer.alloc(32, 8));
    await assert.rejects(planDial(`${FP}@192.0.2.7`, { expect: other }), { code: 'ERR_USAGE' });
    assert.equal((await planDial(`${FP}@192.0.2.7`, { expect: FP })).expect, FP);
  });
});
