// connectWithStrategy's race with a stand-in node whose dials the test settles by hand: a path
// that claimed the race and then failed before it joined (an IK message 1 the peer refused, which
// claims at the start) leaves the race open to the paths still to come.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerSummary } from '../../../src/app/app-events.js';
import type { ChatNode, Gate } from '../../../src/app/chat-node.js';
import { connectWithStrategy } from '../../../src/app/connect-strategy.js';
import { DEFAULTS } from '../../../src/defaults.js';
import { chatError } from '../../../src/errors.js';
import { ManualClock } from '../../helpers/manual-clock.js';

interface Dial {
  readonly host: string;
  readonly gate: Gate;
  resolve(summary: PeerSummary): void;
  reject(error: Error): void;
}

function standInNode(clock: ManualClock, quitting = false) {
  const dials: Dial[] = [];
  const node = {
    clock,
    timing: DEFAULTS,
    quitting,
    speaksUdp: false,
    connect: (host: string, _port: number, _expect: string | undefined, gate: Gate) =>
      new Promise<PeerSummary>((resolve, reject) => dials.push({ host, gate, resolve, reject })),
  } as unknown as ChatNode;
  return { node, dials };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};
const candidates = [
  { host: '192.0.2.1', port: 5050 },
  { host: '192.0.2.2', port: 5050 },
];

describe('connectWithStrategy: a claimed path that fails', () => {
  it('leaves the race open: the next path may still win', async () => {
    const clock = new ManualClock();
    const { node, dials } = standInNode(clock);
    const result = connectWithStrategy(node, { label: 'bob', candidates, mode: 'direct-only', timing: DEFAULTS });
    await settle();
    assert.deepEqual(dials.map((d) => d.host), ['192.0.2.1']);
    assert.equal(dials[0]!.gate(), true, 'the first path claims the race (as IK does before message 1)');
    dials[0]!.reject(chatError('ERR_CONNECTION_LOST', 'refused after message 1'));
    await settle();
    assert.deepEqual(dials.map((d) => d.host), ['192.0.2.1', '192.0.2.2'], 'its failure hands the turn on at once');
    assert.equal(dials[1]!.gate(), true, 'and the next path may claim it');
    const summary = { name: 'bob' } as PeerSummary;
    dials[1]!.resolve(summary);
    assert.equal(await result, summary);
  });

  it('ends the connect at once when the node is quitting', async () => {
    const clock = new ManualClock();
    const { node, dials } = standInNode(clock, true);
    const result = connectWithStrategy(node, { label: 'bob', candidates, mode: 'direct-only', timing: DEFAULTS });
    await settle();
    dials[0]!.gate();
    dials[0]!.reject(chatError('ERR_CONNECTION_LOST', 'shutting down'));
    await assert.rejects(result, (err: Error) => err.message === 'shutting down');
    assert.equal(dials.length, 1, 'no other path is tried');
  });
});
