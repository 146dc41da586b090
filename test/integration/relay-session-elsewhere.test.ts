// A relay of a cluster answers a dial for a peer registered on another relay with a `session`
// naming that relay (`relay`, docs/protocol.md): the dialler must open its data connection there.
// Over real sockets on loopback, a redirecting relay (test/helpers/redirecting-relay.ts) sends
// every session to a real relay A, where the listener is registered: the chat comes up spliced
// on A, and the route names A, with and without first flights (which open a data connection to
// the asked relay while the dial is on its way, to be given up when the answer points elsewhere).

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../src/app/app-events.js';
import { connectWithStrategy } from '../../src/app/connect-strategy.js';
import type { ChatNode } from '../../src/app/chat-node.js';
import type { RelayAddress } from '../../src/net/relay-address.js';
import { cleanupNodes, EventLog, tempPeer } from '../helpers/chat-nodes.js';
import { redirectingRelay } from '../helpers/redirecting-relay.js';
import { cleanupRelayTestnet, linkedRelay, startRelay, until } from '../helpers/relay-testnet.js';

afterEach(async () => {
  cleanupNodes();
  await cleanupRelayTestnet();
});

const isMessage = (text: string) => (e: AppEvent) => e.type === 'message' && e.text === text;

/** A node linked to the relay at `relay` (listening, and registered there, when `listens`). */
async function peer(name: string, relay: RelayAddress, listens: boolean) {
  const { node, identity } = tempPeer(name);
  const log = new EventLog(node);
  const port = listens ? await node.listen('127.0.0.1', 0, false) : 0;
  const link = linkedRelay(node, { relays: [{ address: relay }], identity, port }, () => undefined);
  await link.client.whenRegistered(5_000);
  return { node, log, link };
}

/** A line each way between two nodes in one conversation. */
async function chat(from: { node: ChatNode; log: EventLog }, to: { node: ChatNode; log: EventLog }): Promise<void> {
  from.node.say('spliced on the relay that holds the session');
  await to.log.until(isMessage('spliced on the relay that holds the session'));
  to.node.say('and back the same way');
  await from.log.until(isMessage('and back the same way'));
}

describe('a session held by another relay of the cluster', { timeout: 30_000 }, () => {
  for (const early of [false, true]) {
    const features = early ? ['relay', 'early'] : ['relay'];
    it(`the dialler opens its data connection where the answer says (${early ? 'with' : 'without'} first flights)`, async () => {
      const holder = await startRelay();
      const holderAddress = { host: '127.0.0.1', port: holder.port, label: `127.0.0.1:${holder.port}` };
      const alice = await peer('alice', holderAddress, true);
      const through = await holder.client('cluster-peer');
      const asked = await redirectingRelay(through, holderAddress.label, features);
      const bob = await peer('bob', asked.address, false);
      assert.equal(bob.link.client.carriesEarly, early);

      const summary = await connectWithStrategy(bob.node, { label: 'alice', candidates: [], expect: alice.node.fingerprint, relay: bob.link, mode: 'relay-only' });
      assert.deepEqual([summary.path, summary.via, summary.address], ['relayed', holderAddress.label, holderAddress.label], 'carried by the relay named, not the one asked');
      const opened = await holder.event('session-open');
      assert.deepEqual([opened.a.fingerprint, opened.b.fingerprint], [through.fingerprint, alice.node.fingerprint], 'spliced on the holder, for the session it issued');
      await chat(bob, alice);
      const connected = await bob.log.until((e) => e.type === 'connected');
      assert.equal(connected.type === 'connected' && connected.via, holderAddress.label);

      // The asked relay carried only bob's control session; with first flights, also the data
      // connection bob opened there at once, given up without a byte when the answer came.
      const control = asked.accepted[0];
      assert.ok(control?.established, 'bob’s control session');
      if (!early) assert.equal(asked.accepted.length, 1, 'no data connection to the asked relay');
      else {
        const spare = await until(() => asked.accepted[1], 'the data connection opened while the dial was on its way');
        await until(() => spare.closed, 'it to be closed');
        assert.deepEqual([asked.accepted.length, spare.established, spare.socket.bytesRead], [2, false, 0], 'closed unused: no token presented there');
      }
    });
  }
});
