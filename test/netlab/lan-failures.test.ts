// LAN discovery on networks where it cannot work: no multicast route, UDP 5353 held by a stack
// that does not share it, and our instance name already announced (the same identity twice).
// Each gets one clear coded line; a listener keeps serving chat by address; nothing crashes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Netlab, netlabSkip } from '../helpers/netlab.js';

const PORT_HOLDER = fileURLToPath(new URL('./fixtures/udp-port-holder.js', import.meta.url));

describe('netlab: LAN discovery failure modes', { skip: await netlabSkip(), timeout: 90_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('lan', '198.51.100.0/24');
    await lab.addHost('noroute', { lan: 'lan', address: '198.51.100.21/24' });
    await lab.addHost('busy', { lan: 'lan', address: '198.51.100.22/24' });
    await lab.addHost('one', { lan: 'lan', address: '198.51.100.23/24' });
    await lab.addHost('two', { lan: 'lan', address: '198.51.100.24/24' });
    await lab.addHost('v6', { lan: 'lan', address: '198.51.100.25/24' });
    await lab.exec('noroute', 'ip', ['route', 'del', '224.0.0.0/4']);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('no multicast route: the listener warns once and still chats by address; discover fails with one line', async () => {
    const alice = lab!.spawnPeer('noroute', ['listen', '--json', '--name', 'alice', '--host', '0.0.0.0']);
    const warning = await alice.waitForEvent('warning');
    assert.equal(warning.code, 'ERR_MDNS_UNAVAILABLE');
    assert.match(String(warning.message), /no route for multicast/);
    assert.equal(alice.events.some((e) => e.type === 'announced'), false, 'no silent dead announcement');

    const bob = lab!.spawnPeer('one', ['connect', '198.51.100.21', '--json', '--name', 'bob']);
    await bob.waitForEvent('connected');
    bob.send('hello without mDNS');
    await alice.waitForEvent('message', (e) => e.text === 'hello without mDNS');
    assert.equal(alice.events.filter((e) => e.type === 'warning').length, 1, 'said once');

    const discover = lab!.spawnPeer('noroute', ['discover']);
    assert.equal(await discover.exitCode(), 1);
    assert.match(discover.stderr, /^p2p-chat: LAN discovery is off: no route for multicast/);
    assert.equal(discover.stderr.trim().split('\n').length, 1);
    for (const p of [alice, bob]) p.kill('SIGTERM');
  });

  it('UDP 5353 held exclusively by another program: a clear warning, chat unaffected', async () => {
    const holder = lab!.spawnScript('busy', PORT_HOLDER, ['hold']);
    await holder.waitForEvent('ready');
    const alice = lab!.spawnPeer('busy', ['listen', '--json', '--name', 'alice', '--host', '0.0.0.0']);
    const warning = await alice.waitForEvent('warning');
    assert.equal(warning.code, 'ERR_MDNS_UNAVAILABLE');
    assert.match(String(warning.message), /5353/);
    const bob = lab!.spawnPeer('one', ['connect', '198.51.100.22', '--json', '--name', 'bob']);
    await bob.waitForEvent('connected');
    assert.equal(alice.child.exitCode, null, 'the listener keeps running');

    const discover = lab!.spawnPeer('busy', ['discover', '--json']);
    assert.equal(await discover.exitCode(), 1);
    const error = discover.events.find((e) => e.type === 'error');
    assert.equal(error?.code, 'ERR_MDNS_UNAVAILABLE');
    for (const p of [alice, bob, holder]) p.kill('SIGTERM');
  });

  it('IPv4 to the peer blocked: connect by name falls through to its link-local IPv6, with the scope', async () => {
    const alice = lab!.spawnPeer('v6', ['listen', '--json', '--name', 'sixer', '--host', '::']);
    await alice.waitForEvent('announced');
    // Drop IPv4 chat traffic to the listener: the IPv4 dial hangs, the IPv6 one must win.
    await lab!.exec('v6', 'nft', ['add table inet p2ptest']);
    await lab!.exec('v6', 'nft', ['add chain inet p2ptest input { type filter hook input priority 0 ; }']);
    await lab!.exec('v6', 'nft', ['add rule inet p2ptest input meta nfproto ipv4 tcp dport 5050 drop']);
    await lab!.exec('v6', 'nft', ['add rule inet p2ptest input meta nfproto ipv4 udp dport 5050 drop']);
    // A fresh link-local address is 'tentative' (duplicate detection) for a moment: wait it out.
    for (let i = 0; i < 100; i++) {
      const tentative = await lab!.exec('one', 'ip', ['-6', 'addr', 'show', 'dev', 'eth0', 'tentative']);
      if (tentative.trim() === '') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const bob = lab!.spawnPeer('one', ['connect', 'sixer', '--json', '--name', 'bob']);
    const connected = await bob.waitForEvent('connected', () => true, 20_000);
    assert.match(String(connected.address), /^\[fe80::[0-9a-f:]+%eth0\]:5050$/);
    bob.send('over IPv6');
    await alice.waitForEvent('message', (e) => e.text === 'over IPv6');
    for (const p of [alice, bob]) p.kill('SIGTERM');
  });

  it('the same identity announced twice: the second warns of the name clash and is not announced', async () => {
    const home = lab!.tempHome();
    const first = lab!.spawnPeer('one', ['listen', '--json', '--name', 'twin', '--host', '0.0.0.0'], { home });
    await first.waitForEvent('announced');
    const second = lab!.spawnPeer('two', ['listen', '--json', '--name', 'twin', '--host', '0.0.0.0'], { home });
    const warning = await second.waitForEvent('warning');
    assert.equal(warning.code, 'ERR_MDNS_NAME_CONFLICT');
    assert.match(String(warning.message), /already announces "twin [A-Z2-7]{7}"; not announced/);
    assert.equal(second.events.some((e) => e.type === 'announced'), false);
    assert.equal(second.child.exitCode, null, 'still listening');
    for (const p of [first, second]) p.kill('SIGTERM');
  });
});
