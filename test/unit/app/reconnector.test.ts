// Dialling a suspended conversation again keeps to the transports its connect was given: a peer
// reached with --transport udp is dialled again over UDP only, one reached with --transport tcp
// over TCP only; in auto, one last reached over UDP is raced over UDP again. Each node has two in-memory networks, one playing TCP and one UDP, so that a test
// can see which one a reconnect dialled.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AppEvent } from '../../../src/app/app-events.js';
import { ChatNode } from '../../../src/app/chat-node.js';
import type { TransportMode } from '../../../src/app/connect-strategy.js';
import { reconnect } from '../../../src/app/reconnector.js';
import { cleanupNodes, tempIdentity } from '../../helpers/chat-nodes.js';
import { MEMORY_TIMING } from '../../helpers/memory-chat.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { MemoryNetwork } from '../../helpers/memory-transport.js';

const BOB = '192.0.2.1';
const ALICE = '192.0.2.2';

const started: ChatNode[] = [];

afterEach(() => {
  for (const node of started.splice(0)) node.abort();
  cleanupNodes();
});

interface Lab {
  readonly clock: ManualClock;
  readonly tcp: MemoryNetwork;
  readonly udp: MemoryNetwork;
  readonly bob: ChatNode;
  readonly alice: ChatNode;
  readonly aliceEvents: AppEvent[];
}

/** Bob listening at BOB:5050 over both networks, alice at ALICE dialling him again with `transport` when suspended. */
async function lab(transport: TransportMode): Promise<Lab> {
  const clock = new ManualClock();
  const tcp = new MemoryNetwork();
  const udp = new MemoryNetwork('udp');
  const node = (name: string, host: string) => {
    const { identity, knownPeers } = tempIdentity();
    const n = new ChatNode({ identity, knownPeers, name, clock, timing: MEMORY_TIMING, transport: tcp.transport(host), udp: udp.transport(host) });
    started.push(n);
    return n;
  };
  const bob = node('bob', BOB);
  await bob.listen(BOB, 5050, false);
  const alice = node('alice', ALICE);
  const aliceEvents: AppEvent[] = [];
  alice.on('event', (event) => aliceEvents.push(event));
  alice.on('suspended', (peer, error) => {
    reconnect(alice, peer, error, { mode: 'direct-only', transport, directory: undefined, relay: () => undefined, emit: (event) => aliceEvents.push(event) });
  });
  return { clock, tcp, udp, bob, alice, aliceEvents };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Run the clock in 10 ms steps until alice has reconnected, for at most `maxMs`. */
async function untilReconnected(l: Lab, maxMs: number): Promise<void> {
  await settle();
  for (let passed = 0; !l.aliceEvents.some((e) => e.type === 'reconnected'); passed += 10) {
    const tries = l.aliceEvents.filter((e) => e.type === 'reconnecting').length;
    if (passed >= maxMs) assert.fail(`alice did not reconnect within ${maxMs} ms (${tries} tries; TCP dials ${l.tcp.links.length + l.tcp.refused}, UDP ${l.udp.links.length + l.udp.refused})`);
    l.clock.advance(10);
    await settle();
  }
}

describe('reconnecting keeps the transport of the connect', () => {
  for (const [kept, other] of [['udp', 'tcp'], ['tcp', 'udp']] as const) {
    it(`dials a peer reached with --transport ${kept} again over ${kept.toUpperCase()}, never ${other.toUpperCase()}`, async () => {
      const l = await lab(kept);
      const joined = l.alice.connect(BOB, 5050, undefined, undefined, kept);
      await settle();
      assert.equal((await joined).transport, kept);
      l[kept].last.dialler.destroy();
      await untilReconnected(l, 5_000);
      assert.equal(l[other].links.length + l[other].refused, 0, `a reconnect dialled ${other.toUpperCase()}, which the connect had ruled out`);
      assert.equal(l[kept].links.length, 2, `the reconnect came over ${kept.toUpperCase()}`);
    });
  }

  it('races UDP again in auto for a peer last reached over UDP, when TCP gets nowhere', async () => {
    const l = await lab('auto');
    const joined = l.alice.connect(BOB, 5050, undefined, undefined, 'udp');
    await settle();
    assert.equal((await joined).transport, 'udp');
    l.tcp.down = true; // TCP blocked: only UDP brings the conversation back
    l.udp.last.dialler.destroy();
    await untilReconnected(l, 5_000);
    assert.equal(l.udp.links.length, 2, 'the reconnect came over UDP');
  });
});
