// PartClaims: a live transfer's partial files are its own, and an ended transfer's stay unsettled
// until its last writes land, so the next transfer of the same file reads the partial as it stays.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { PartClaims } from '../../../../src/app/files/part-claims.js';

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Whether `promise` has settled once every promise job queued meanwhile has run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await setImmediate();
  return settled;
}

describe('PartClaims', () => {
  it('refuses a part a live transfer holds, claiming nothing of the request', () => {
    const claims = new PartClaims();
    assert.equal(claims.claim(['a', 'b']), true);
    assert.equal(claims.claim(['c', 'b']), false, 'b is held');
    assert.equal(claims.claim(['c']), true, 'c was not claimed by the refused request');
  });

  it("frees an ended transfer's parts at once, but settles them only when its writes have landed", async () => {
    const claims = new PartClaims();
    claims.claim(['a', 'b']);
    const writes = deferred();
    claims.release(['a', 'b'], writes.promise);
    assert.equal(claims.claim(['a']), true, 'the next transfer may claim it');
    const a = claims.settled(['a']);
    const all = claims.settled();
    assert.equal(await isSettled(claims.settled(['z'])), true, 'a part nobody wrote is settled');
    assert.equal(await isSettled(a), false, 'a write of the ended transfer is under way');
    assert.equal(await isSettled(all), false);
    writes.resolve();
    assert.equal(await isSettled(a), true);
    assert.equal(await isSettled(all), true);
  });

  it('settles a part whose last writes failed too', async () => {
    const claims = new PartClaims();
    claims.claim(['a']);
    const writes = deferred();
    claims.release(['a'], writes.promise);
    writes.reject(new Error('ENOSPC'));
    assert.equal(await isSettled(claims.settled(['a'])), true);
  });

  it("waits for every ended transfer's writes, an earlier one's too", async () => {
    const claims = new PartClaims();
    const first = deferred();
    const second = deferred();
    claims.claim(['a']);
    claims.release(['a'], first.promise);
    claims.claim(['a']);
    claims.release(['a'], second.promise);
    second.resolve();
    assert.equal(await isSettled(claims.settled(['a'])), false, "the first transfer's writes are still under way");
    first.resolve();
    assert.equal(await isSettled(claims.settled(['a'])), true);
  });
});
