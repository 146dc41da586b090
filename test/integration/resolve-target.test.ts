// Where a `connect` by name fails because the relay could not be asked: the error names that
// cause (a relay that failed its pinned key, one that never let us register), not "no peer named
// ... found", which would send the user looking for a peer that may well be there.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectToTarget } from '../../src/app/connect-strategy.js';
import { cleanupNodes, tempPeer } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, linkedRelay, newIdentity, standInRelay, startRelay } from '../helpers/relay-testnet.js';

afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
});

describe('a name looked up through a relay that cannot be asked', { timeout: 30_000 }, () => {
  it('a relay that fails its pinned key: the error says so, with the keys', async () => {
    const { relay, port } = await startRelay();
    const { node, identity } = tempPeer('bob');
    const pin = newIdentity().fingerprint;
    const address = { host: '127.0.0.1', port, label: `127.0.0.1:${port}` };
    const relayLink = linkedRelay(node, { relays: [{ address, pin }], identity, port: 0 }, () => undefined);
    await assert.rejects(connectToTarget(node, 'alice', { mode: 'auto', relay: relayLink }), {
      code: 'ERR_PEER_KEY_MISMATCH',
      message: `'alice' is not on the LAN, and the relay could not be asked: relay ${address.label} presented key ${relay.fingerprint}, expected ${pin}; not using it`,
    });
  });

  it('a relay that never lets us register: the error says the relay was unreachable', async () => {
    const { address } = await standInRelay();
    const { node, identity } = tempPeer('bob', { relayRegisterTimeoutMs: 50 });
    const relayLink = linkedRelay(node, { relays: [{ address }], identity, port: 0 }, () => undefined);
    await assert.rejects(connectToTarget(node, 'alice', { mode: 'auto', relay: relayLink }), {
      code: 'ERR_RELAY_UNREACHABLE',
      message: `'alice' is not on the LAN, and the relay could not be asked: cannot register with relay ${address.label} within 0.05 s`,
    });
  });

  it('a relay that answers, without the peer: no peer of that name', async () => {
    const { port } = await startRelay();
    const { node, identity } = tempPeer('bob');
    const address = { host: '127.0.0.1', port, label: `127.0.0.1:${port}` };
    const relayLink = linkedRelay(node, { relays: [{ address }], identity, port: 0 }, () => undefined);
    await assert.rejects(connectToTarget(node, 'alice', { mode: 'auto', relay: relayLink }), {
      code: 'ERR_PEER_NOT_FOUND',
      message: `no peer named 'alice' found on the LAN or at relay ${address.label}; is it running with --relay ${address.label}?`,
    });
  });
});
