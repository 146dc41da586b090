// `--relay a,b` as users run it (issue 15, part 4): a listener given two `p2p-chat relay`
// processes registers on the first; the first is killed (SIGKILL) and the listener registers on
// the second by itself, where a `connect --relay-only` that knows only the second reaches it.
// A list that makes no sense is one line with a code, before anything starts.

import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { cleanupPeers, PeerProcess, type PeerEvent } from '../helpers/peer-process.js';

afterEach(cleanupPeers);
after(cleanupPeers);

async function startRelay(): Promise<{ relay: PeerProcess; arg: string; label: string }> {
  const relay = new PeerProcess(['relay', '--json', '--host', '127.0.0.1', '--port', '0']);
  const started = await relay.waitForEvent('started');
  const label = `127.0.0.1:${Number(started.port)}`;
  return { relay, label, arg: `${label}#${String(started.fingerprint)}` };
}

const registeredOn = (label: string) => (e: PeerEvent) => e.state === 'registered' && e.relay === label;

describe('--relay with several relays', { timeout: 60_000 }, () => {
  it('a listener whose relay is killed registers on the next, and is reached there', async () => {
    const [a, b] = [await startRelay(), await startRelay()];
    const alice = new PeerProcess(['listen', '--json', '--no-mdns', '--port', '0', '--host', '127.0.0.1', '--name', 'alice', '--relay', `${a.arg},${b.arg}`]);
    await alice.waitForEvent('relay', registeredOn(a.label));

    a.relay.kill('SIGKILL');
    await alice.waitForEvent('relay', registeredOn(b.label), 10_000);
    const passedOver = alice.events.find((e) => e.type === 'relay' && e.state === 'disconnected' && e.next === b.label);
    assert.equal(passedOver?.relay, a.label, 'the dead relay, tried first on the new pass, passed over at once');
    assert.equal(passedOver?.retryInMs, 0);

    const bob = new PeerProcess(['connect', 'alice', '--relay-only', '--json', '--no-mdns', '--name', 'bob', '--relay', b.arg]);
    const connected = await bob.waitForEvent('connected');
    assert.deepEqual([connected.path, connected.via], ['relayed', b.label]);
    bob.send('through the relay that is left');
    await alice.waitForEvent('message', (e) => e.text === 'through the relay that is left');
  });

  it('an empty entry, too many relays or a bad one: one line with a code, exit 2', async () => {
    const nine = Array.from({ length: 9 }, (_, i) => `relay-${i}.example.org`).join(',');
    for (const [list, code] of [['127.0.0.1:1,,127.0.0.1:2', 'ERR_BAD_TARGET'], [nine, 'ERR_USAGE'], ['127.0.0.1:1,127.0.0.1:99999', 'ERR_BAD_PORT']] as const) {
      const peer = new PeerProcess(['listen', '--json', '--no-mdns', '--port', '0', '--relay', list]);
      assert.equal(await peer.exitCode(), 2, list);
      assert.deepEqual([peer.events.length, peer.events[0]?.type, peer.events[0]?.code], [1, 'error', code], list);
      assert.doesNotMatch(peer.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
