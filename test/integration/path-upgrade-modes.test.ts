// Which conversations try for a direct path, with two whole Conversations and an in-process relay
// over loopback: a `connect --relay-only` stays relayed from its first moment (a try would send
// our addresses to the peer and move the conversation off the relay).

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../src/app/app-events.js';
import { cleanupNodes, EventLog, tempConversation } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, startRelay } from '../helpers/relay-testnet.js';

afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
});

/** Tries short and few, so that a try that ran has said so within a second or two. */
const TIMING = { upgradeAttemptMs: 1_000, upgradeRetryMs: 1_000, upgradeEarlyTries: 1, upgradeLaterTries: 0 };

/** Alice listening and registered at a relay; bob connected to her `--relay-only` through it. */
async function relayOnlyPair() {
  const { relay, port } = await startRelay();
  const address = { host: '127.0.0.1', port, label: `127.0.0.1:${port}` };
  const alice = tempConversation('alice', { listen: { host: '127.0.0.1', port: 0, fallback: false }, relays: [{ address, pin: relay.fingerprint }], timing: TIMING });
  const atAlice = new EventLog(alice);
  await alice.start();
  await atAlice.until((e) => e.type === 'relay' && e.state === 'registered');
  const bob = tempConversation('bob', { relays: [{ address, pin: relay.fingerprint }], timing: TIMING });
  const atBob = new EventLog(bob);
  await bob.start();
  const summary = await bob.connect('alice', { mode: 'relay-only' });
  return { alice, bob, atAlice, atBob, summary };
}

/** What of the path machinery a side reported: tries that failed, and moves. */
function pathEvents(log: EventLog): AppEvent['type'][] {
  return log.events.filter((e) => e.type === 'upgrade' || e.type === 'path').map((e) => e.type);
}

describe('which relayed conversations try for a direct path', { timeout: 30_000 }, () => {
  it('a --relay-only connect stays relayed from its first moment: no try, no move', async () => {
    const { bob, atAlice, atBob, summary } = await relayOnlyPair();
    assert.equal(summary.path, 'relayed');
    // On loopback a try finds the direct path within a few milliseconds, and one that fails says so within a second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.deepEqual([pathEvents(atBob), pathEvents(atAlice)], [[], []], 'no try was made, none answered');
    assert.deepEqual(
      bob.who().map((p) => p.path),
      ['relayed'],
    );
  });
});
