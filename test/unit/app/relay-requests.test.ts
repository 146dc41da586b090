// Requests on a relay control connection waiting for their answers, on a manual clock: each is
// settled by the answer with its rid (and only once), rejected at exactly its deadline, and all
// rejected together when the connection goes; ids count from 1 across requests and registrations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingRequests } from '../../../src/app/relay-requests.js';
import { chatError, type P2PChatError } from '../../../src/errors.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** The outcome of `promise` so far: 'pending', its value, or its error's message. */
function watch(promise: Promise<string>): () => string {
  let outcome = 'pending';
  promise.then(
    (value) => (outcome = value),
    (err: P2PChatError) => (outcome = `rejected: ${err.message}`),
  );
  return () => outcome;
}

describe('PendingRequests', () => {
  it('numbers requests from 1 and settles each with the answer carrying its rid, once', async () => {
    const requests = new PendingRequests<string>(new ManualClock());
    const sent: number[] = [];
    const late = () => chatError('ERR_RELAY_UNREACHABLE', 'late');
    const first = watch(requests.open((rid) => sent.push(rid), 1_000, late));
    assert.equal(requests.nextRid(), 2, 'a registration takes the next id');
    const third = watch(requests.open((rid) => sent.push(rid), 1_000, late));
    assert.deepEqual(sent, [1, 3]);
    requests.resolve(3, 'three');
    requests.resolve(3, 'again');
    requests.resolve(7, 'never asked');
    requests.reject(1, chatError('ERR_PEER_NOT_FOUND', 'no such peer'));
    await settle();
    assert.deepEqual([first(), third()], ['rejected: no such peer', 'three']);
  });

  it('rejects at exactly its deadline on the clock; an answer after that is dropped', async () => {
    const clock = new ManualClock();
    const requests = new PendingRequests<string>(clock);
    const outcome = watch(requests.open(() => undefined, 1_000, () => chatError('ERR_RELAY_UNREACHABLE', 'did not answer in time')));
    clock.advance(999);
    await settle();
    assert.equal(outcome(), 'pending');
    clock.advance(1);
    await settle();
    assert.equal(outcome(), 'rejected: did not answer in time');
    requests.resolve(1, 'too late');
    await settle();
    assert.equal(outcome(), 'rejected: did not answer in time');
  });

  it('failAll rejects every request still waiting, and clears their deadlines', async () => {
    const clock = new ManualClock();
    const requests = new PendingRequests<string>(clock);
    const late = () => chatError('ERR_RELAY_UNREACHABLE', 'late');
    const outcomes = [watch(requests.open(() => undefined, 1_000, late)), watch(requests.open(() => undefined, 1_000, late))];
    requests.failAll(chatError('ERR_RELAY_GOING_AWAY', 'relay going away'));
    clock.advance(1_000);
    await settle();
    assert.deepEqual(outcomes.map((o) => o()), ['rejected: relay going away', 'rejected: relay going away']);
  });
});
