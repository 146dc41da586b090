// Two hosts on one LAN in network namespaces: p2p-chat connects by address on the default port,
// a busy default port falls forward, and multicast crosses the bridge (what mDNS discovery will
// need). Proves the netlab itself. A third host sits behind a firewall that drops TCP to its chat
// port and passes UDP: a connect by name gets in directly over UDP, a TCP-only one cannot.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../src/defaults.js';
import { Netlab, netlabSkip } from '../helpers/netlab.js';

const MULTICAST_PROBE = fileURLToPath(new URL('./fixtures/multicast-probe.js', import.meta.url));

describe('netlab: one LAN, direct connection', { skip: await netlabSkip(), timeout: 60_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('lan', '192.0.2.0/24');
    await lab.addHost('a', { lan: 'lan', address: '192.0.2.11/24' });
    await lab.addHost('b', { lan: 'lan', address: '192.0.2.12/24' });
    await lab.addHost('fw', { lan: 'lan', address: '192.0.2.21/24' });
    // Dropped, not refused: a TCP dial gets no answer at all, as behind most firewalls.
    await lab.exec('fw', 'nft', ['add table inet p2ptest']);
    await lab.exec('fw', 'nft', ['add chain inet p2ptest input { type filter hook input priority 0 ; }']);
    await lab.exec('fw', 'nft', ['add rule inet p2ptest input tcp dport 5050 counter drop']);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('hosts have only their LAN: an address, a multicast route, no default route', async () => {
    const routes = await lab!.exec('a', 'ip', ['-4', 'route', 'show']);
    assert.match(routes, /^192\.0\.2\.0\/24 dev eth0 .*src 192\.0\.2\.11/m);
    assert.match(routes, /^224\.0\.0\.0\/4 dev eth0/m);
    assert.doesNotMatch(routes, /default/);
  });

  it('bob connects to alice by address on the default port; they chat both ways', async () => {
    const alice = lab!.spawnPeer('a', ['listen', '--json', '--name', 'alice', '--host', '0.0.0.0']);
    const listening = await alice.waitForEvent('listening');
    assert.equal(listening.port, 5050, 'each namespace has its own, free, port 5050');

    const bob = lab!.spawnPeer('b', ['connect', '192.0.2.11', '--json', '--name', 'bob']);
    const atBob = await bob.waitForEvent('connected');
    assert.equal(atBob.name, 'alice');
    assert.equal(atBob.address, '192.0.2.11:5050');
    assert.equal(atBob.path, 'direct');
    const atAlice = await alice.waitForEvent('connected');
    assert.equal(atAlice.name, 'bob');
    assert.match(String(atAlice.address), /^192\.0\.2\.12:\d+$/);

    bob.send('hello alice, over the bridge');
    const toAlice = await alice.waitForEvent('message');
    assert.equal(toAlice.text, 'hello alice, over the bridge');
    assert.equal(toAlice.from, 'bob');

    alice.send('hello bob');
    const toBob = await bob.waitForEvent('message');
    assert.equal(toBob.text, 'hello bob');
    assert.equal(toBob.from, 'alice');
  });

  it('a busy default port falls forward to the next free one and says which', async () => {
    // In a namespace of our own, port 5050 is ours to occupy whatever else runs on the machine.
    const blocker = lab!.spawnPeer('b', ['listen', '--json', '--name', 'blocker', '--port', '5050']);
    assert.equal((await blocker.waitForEvent('listening')).port, 5050);
    const second = lab!.spawnPeer('b', ['listen', '--json', '--name', 'second']);
    const listening = await second.waitForEvent('listening');
    assert.equal(listening.busyPort, 5050);
    assert.ok((listening.port as number) > 5050 && (listening.port as number) <= 5070, `took port ${listening.port}`);
  });

  it('TCP dropped, UDP passed: connect by name gets in directly over UDP; --transport tcp fails in one line', async () => {
    const dana = lab!.spawnPeer('fw', ['listen', '--json', '--name', 'dana', '--host', '0.0.0.0']);
    assert.equal((await dana.waitForEvent('listening')).udpPort, 5050, 'dana listens on UDP at the TCP port number');
    await dana.waitForEvent('announced');

    // Both dial at once: the TCP-only one waits out its connect timeout meanwhile.
    const tcpOnly = lab!.spawnPeer('a', ['connect', 'dana', '--transport', 'tcp', '--name', 'carol']);
    const erin = lab!.spawnPeer('b', ['connect', 'dana', '--json', '--name', 'erin']);

    const atErin = await erin.waitForEvent('connected');
    assert.deepEqual([atErin.name, atErin.path, atErin.transport, atErin.address], ['dana', 'direct', 'udp', '192.0.2.21:5050']);
    const atDana = await dana.waitForEvent('connected', (e) => e.name === 'erin');
    assert.deepEqual([atDana.path, atDana.transport], ['direct', 'udp']);
    erin.send('hello dana, past the firewall');
    assert.equal((await dana.waitForEvent('message')).text, 'hello dana, past the firewall');
    dana.send('hello erin');
    assert.equal((await erin.waitForEvent('message')).text, 'hello erin');

    assert.equal(await tcpOnly.exitCode(DEFAULTS.connectTimeoutMs + 10_000), 1, tcpOnly.stderr);
    assert.match(tcpOnly.stderr, /^p2p-chat: cannot reach dana: 192\.0\.2\.21:5050: timed out after 10 s/);
    assert.equal(tcpOnly.stderr.trimEnd().split('\n').length, 1, tcpOnly.stderr);
    assert.equal(dana.events.some((e) => e.type === 'connected' && e.name === 'carol'), false, 'carol never got in');
    const counted = await lab!.exec('fw', 'nft', ['list chain inet p2ptest input']);
    assert.match(counted, /tcp dport 5050 counter packets [1-9]/, 'the TCP dials met the firewall');
  });

  it('multicast from one namespace reaches a group member in another', async () => {
    const receiver = lab!.spawnScript('b', MULTICAST_PROBE, ['receive', '224.0.0.251', '5399', '192.0.2.12']);
    await receiver.waitForEvent('ready');
    const sender = lab!.spawnScript('a', MULTICAST_PROBE, ['send', '224.0.0.251', '5399', '192.0.2.11', 'who is there?']);
    const datagram = await receiver.waitForEvent('datagram');
    assert.equal(datagram.text, 'who is there?');
    assert.match(String(datagram.from), /^192\.0\.2\.11:\d+$/);
    assert.equal(await sender.exitCode(), 0, sender.stderr);
  });
});
