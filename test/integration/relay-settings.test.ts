// Issue 10, part 6: settings flow through the connect path. A relayed attempt and the relay's
// control connection run on the node's timing, as its direct dials do, and the relay knows the
// node by its current nickname, also after a rename.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppEvent } from '../../src/app/app-events.js';
import { connectToTarget } from '../../src/app/connect-strategy.js';
import { cleanupNodes, tempPeer } from '../helpers/chat-nodes.js';
import { cleanupRelayTestnet, linkedRelay, newIdentity, standInRelay, startRelay, until } from '../helpers/relay-testnet.js';

afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
});

describe('settings on the connect path (issue 10, part 6)', { timeout: 30_000 }, () => {
  it("a relayed attempt waits for the relay's registration as long as the node's settings say", async () => {
    const { address: relay } = await standInRelay();
    const { node, identity } = tempPeer('bob', { relayRegisterTimeoutMs: 50 });
    const relayLink = linkedRelay(node, { relays: [{ address: relay }], identity, port: 0 }, () => undefined);
    const target = `${newIdentity().fingerprint}@127.0.0.1:9`;
    await assert.rejects(connectToTarget(node, target, { mode: 'relay-only', relay: relayLink }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_RELAY_UNREACHABLE');
      assert.equal(err.message, `cannot register with relay ${relay.label} within 0.05 s`);
      return true;
    });
  });

  it("the relay's control connection runs on the node's settings", async () => {
    const { address: relay } = await standInRelay();
    const { node, identity } = tempPeer('bob', { handshakeTimeoutMs: 100 });
    const reported: AppEvent[] = [];
    linkedRelay(node, { relays: [{ address: relay }], identity, port: 0 }, (event) => reported.push(event));
    // The default handshake timeout (10 s) would outlast this wait.
    const event = await until(() => reported.find((e) => e.type === 'relay' && e.state === 'disconnected'), 'the handshake to time out', 3_000);
    assert.equal(event.type === 'relay' && event.state === 'disconnected' && event.code, 'ERR_HANDSHAKE_TIMEOUT');
  });

  it('after a rename the relay has the new nickname, registered again on the same connection', async () => {
    const { relay, port, event, client } = await startRelay();
    const { node, identity } = tempPeer('alice');
    const listening = await node.listen('127.0.0.1', 0, false);
    const reported: AppEvent[] = [];
    const address = { host: '127.0.0.1', port, label: `127.0.0.1:${port}` };
    const relayLink = linkedRelay(node, { relays: [{ address, pin: relay.fingerprint }], identity, port: listening }, (e) => reported.push(e));
    await event('registered', (e) => e.name === 'alice');

    node.rename('alice two');
    relayLink.client.refreshName();
    await event('registered', (e) => e.name === 'alice two' && e.fingerprint === identity.fingerprint);
    const asker = await client('asker');
    const found = await asker.request({ type: 'lookup', query: 'alice two' });
    assert.equal(found.type, 'lookup-result');
    assert.deepEqual(found.type === 'lookup-result' && found.peers.map((p) => [p.name, p.fingerprint, p.port]), [['alice two', identity.fingerprint, listening]]);
    const old = await asker.request({ type: 'lookup', query: 'alice' });
    assert.deepEqual(old.type === 'lookup-result' && old.peers, [], 'the old name is gone');

    // Answered after the second registration, on the same connection: that one has been heard.
    await relayLink.client.lookup('anyone');
    const lines = reported.filter((e) => e.type === 'relay');
    assert.equal(lines.length, 1, `a new name is not a new registration to report: ${JSON.stringify(lines)}`);
    assert.equal(relay.peerCount, 1);
  });
});
