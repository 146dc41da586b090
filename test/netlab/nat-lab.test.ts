// Homes behind routers on a TEST-NET "Internet": proves the netlab routers behave like the NATs and
// firewall that later connectivity tests (relay, hole punching) put peers behind. Public host P;
// home A behind RA (plain NAT), B behind RB (symmetric NAT), D behind RD (NAT + stateful firewall).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Netlab, netlabSkip, type RouterKind } from '../helpers/netlab.js';
import type { PeerProcess } from '../helpers/peer-process.js';

const TCP_PROBE = fileURLToPath(new URL('./fixtures/tcp-probe.js', import.meta.url));
const UDP_FIRST = fileURLToPath(new URL('./fixtures/udp-first.js', import.meta.url));
const PROBE_TIMEOUT_MS = 1_500;
const P = '203.0.113.10';

interface Home {
  host: string;
  router: string;
  kind: RouterKind;
  lan: string;
  address: string;
  gateway: string;
  outside: string;
  name: string;
}

const HOMES: readonly Home[] = [
  { host: 'a', router: 'ra', kind: 'nat', lan: '192.168.1', address: '192.168.1.10', gateway: '192.168.1.1', outside: '203.0.113.2', name: 'alice' },
  { host: 'b', router: 'rb', kind: 'symmetric-nat', lan: '192.168.2', address: '192.168.2.10', gateway: '192.168.2.1', outside: '203.0.113.3', name: 'bob' },
  { host: 'd', router: 'rd', kind: 'firewall', lan: '192.168.3', address: '192.168.3.10', gateway: '192.168.3.1', outside: '203.0.113.4', name: 'dora' },
];

function home(host: string): Home {
  const found = HOMES.find((h) => h.host === host);
  if (!found) throw new Error(`no home ${host}`);
  return found;
}

/** Run tcp-probe's client in `host` and return its connected/failed events by target. */
async function probe(lab: Netlab, host: string, localPort: number, targets: string[]) {
  const client = lab.spawnScript(host, TCP_PROBE, ['connect', String(PROBE_TIMEOUT_MS), String(localPort), ...targets]);
  await client.waitForEvent('done', undefined, PROBE_TIMEOUT_MS + 5_000);
  assert.equal(await client.exitCode(), 0, client.stderr);
  return new Map(client.events.filter((e) => e.type !== 'done').map((e) => [String(e.target), e]));
}

function stop(...peers: PeerProcess[]): void {
  for (const peer of peers) peer.kill('SIGTERM');
}

describe('netlab: homes behind NAT and firewall routers', { skip: await netlabSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('internet', '203.0.113.0/24');
    await lab.addHost('p', { lan: 'internet', address: `${P}/24` });
    for (const h of HOMES) await lab.addHome(h, 'internet');
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('routes: home hosts go through their router; P and the routers have no default route', async () => {
    const atA = await lab!.exec('a', 'ip', ['-4', 'route', 'show']);
    assert.match(atA, /^default via 192\.168\.1\.1 dev eth0/m);
    assert.match(atA, /^192\.168\.1\.0\/24 dev eth0 .*src 192\.168\.1\.10/m);
    assert.doesNotMatch(await lab!.exec('p', 'ip', ['-4', 'route', 'show']), /default/);
    for (const h of HOMES) {
      const routes = await lab!.exec(h.router, 'ip', ['-4', 'route', 'show']);
      assert.doesNotMatch(routes, /default/, `${h.router} reaches its two LANs only`);
      assert.match(routes, new RegExp(`^${h.lan.replaceAll('.', '\\.')}\\.0/24 dev eth0 `, 'm'));
      assert.match(routes, /^203\.0\.113\.0\/24 dev eth1 /m);
      assert.equal((await lab!.exec(h.router, 'cat', ['/proc/sys/net/ipv4/ip_forward'])).trim(), '1');
      const ruleset = await lab!.exec(h.router, 'nft', ['list', 'ruleset']);
      const masquerade = h.kind === 'symmetric-nat' ? 'masquerade random,fully-random' : 'masquerade';
      assert.match(ruleset, new RegExp(`oifname "eth1" ${masquerade}\\n`));
      assert.equal(/drop/.test(ruleset), h.kind === 'firewall', `${h.router}: only the firewall drops`);
      // The NAT kinds refuse new UDP for themselves from outside (through nftables: no conntrack entry).
      assert.equal(/iifname "eth1" .*udp .*ct state new reject/.test(ruleset), h.kind !== 'firewall', `${h.router}: ${ruleset}`);
    }
  });

  it('A, B and D each chat with a listener on P, which sees them at their router\'s outside address', async () => {
    const pub = lab!.spawnPeer('p', ['listen', '--json', '--name', 'pub', '--host', '0.0.0.0', '--no-mdns']);
    await pub.waitForEvent('listening');
    const peers: PeerProcess[] = [];
    try {
      for (const h of HOMES) {
        const peer = lab!.spawnPeer(h.host, ['connect', P, '--json', '--name', h.name, '--no-mdns']);
        peers.push(peer);
        const atHome = await peer.waitForEvent('connected');
        assert.equal(atHome.name, 'pub');
        assert.equal(atHome.address, `${P}:5050`);
        const atPub = await pub.waitForEvent('connected', (e) => e.name === h.name);
        const [address, port] = String(atPub.address).split(':');
        assert.equal(address, h.outside, `${h.name}'s traffic is masqueraded by ${h.router}`);
        assert.ok(Number(port) > 0);

        peer.send(`hello from ${h.name}`);
        const message = await pub.waitForEvent('message', (e) => e.text === `hello from ${h.name}`);
        assert.equal(message.from, h.name);
        pub.send(`hello ${h.name}`);
        await peer.waitForEvent('message', (e) => e.text === `hello ${h.name}` && e.from === 'pub');
      }
    } finally {
      stop(pub, ...peers);
    }
  });

  it('P cannot connect to a home listener through its router: NATs refuse, the firewall drops', async () => {
    const listeners = HOMES.map((h) => lab!.spawnPeer(h.host, ['listen', '--json', '--name', h.name, '--host', '0.0.0.0', '--no-mdns']));
    try {
      for (const listener of listeners) assert.equal((await listener.waitForEvent('listening')).port, 5050);
      const results = await probe(lab!, 'p', 0, HOMES.map((h) => `${h.outside}:5050`));
      // Nothing listens on the routers themselves and no port is forwarded: a NAT router answers
      // the SYN with a reset; the firewall drops it, so the dial runs into its timeout.
      assert.deepEqual(
        HOMES.map((h) => [h.router, results.get(`${h.outside}:5050`)?.code]),
        [
          ['ra', 'ECONNREFUSED'],
          ['rb', 'ECONNREFUSED'],
          ['rd', 'ETIMEDOUT'],
        ],
      );
      for (const listener of listeners) {
        assert.equal(listener.events.some((e) => e.type === 'connected' || e.type === 'rejected'), false);
      }
    } finally {
      stop(...listeners);
    }
  });

  it('routed straight at a home address, a plain NAT forwards the connection; the firewall drops it', async () => {
    const servers = ['a', 'd'].map((host) => lab!.spawnScript(host, TCP_PROBE, ['serve', '7000']));
    const routes = ['a', 'd'].map((host) => [`${home(host).lan}.0/24`, 'via', home(host).outside]);
    try {
      for (const server of servers) await server.waitForEvent('listening');
      for (const route of routes) await lab!.exec('p', 'ip', ['route', 'add', ...route]);
      const results = await probe(lab!, 'p', 0, ['192.168.1.10:7000', '192.168.3.10:7000']);
      const toA = results.get('192.168.1.10:7000');
      assert.equal(toA?.type, 'connected', 'masquerade alone filters nothing');
      assert.equal(toA.seen, toA.local, 'inbound traffic is not translated: A sees P itself');
      assert.equal(results.get('192.168.3.10:7000')?.code, 'ETIMEDOUT', 'new inbound connections are dropped');
      assert.equal(servers[1]!.events.some((e) => e.type === 'accepted'), false);
    } finally {
      for (const route of routes) await lab!.exec('p', 'ip', ['route', 'del', ...route]).catch(() => undefined);
      stop(...servers);
    }
  });

  it('mapping: RA and RD keep one external port per inside port across destinations; RB picks a new one per destination', async () => {
    const server = lab!.spawnScript('p', TCP_PROBE, ['serve', '7001', '7002']);
    try {
      await server.waitFor(() => (server.events.filter((e) => e.type === 'listening').length === 2 ? true : undefined), 'two listening');
      const LOCAL_PORT = 40_123;
      const seen = new Map<string, string[]>();
      for (const h of HOMES) {
        const results = await probe(lab!, h.host, LOCAL_PORT, [`${P}:7001`, `${P}:7002`]);
        const pair = [...results.values()];
        for (const result of pair) {
          assert.equal(result.type, 'connected', JSON.stringify(result));
          assert.equal(result.local, `${h.address}:${LOCAL_PORT}`);
        }
        const sources = pair.map((result) => String(result.seen));
        for (const source of sources) {
          assert.equal(source.split(':')[0], h.outside);
          await server.waitForEvent('accepted', (e) => e.from === source); // printed by P's side too
        }
        seen.set(h.router, sources.map((source) => source.split(':')[1] ?? ''));
      }
      // Plain masquerade keeps the inside port while that tuple is free: endpoint-independent.
      assert.deepEqual(seen.get('ra'), [String(LOCAL_PORT), String(LOCAL_PORT)]);
      assert.deepEqual(seen.get('rd'), [String(LOCAL_PORT), String(LOCAL_PORT)]);
      // fully-random: each connection, so each destination, gets its own external port.
      const [first, second] = seen.get('rb') ?? [];
      assert.notEqual(first, second, `RB mapped both destinations to port ${first}`);
    } finally {
      stop(server);
    }
  });

  it('a datagram that reaches RA before its host has sent leaves no trace: the host\'s mapping keeps its port', async () => {
    // As when a peer's punch arrives first. Had RA's own stack taken it, conntrack would keep it,
    // and A's datagrams to that peer would leave from another port (the tuple is taken).
    const PORT = 5_050;
    const far = lab!.spawnScript('p', UDP_FIRST, ['first', '7003', `${home('a').outside}:${PORT}`]);
    try {
      await far.waitForEvent('sent');
      const near = lab!.spawnScript('a', UDP_FIRST, ['send', String(PORT), `${P}:7003`]);
      await near.waitForEvent('done');
      assert.equal(await near.exitCode(), 0, near.stderr);
      const from = await far.waitForEvent('from');
      assert.equal(from.source, `${home('a').outside}:${PORT}`, 'A left through RA from its own port');
    } finally {
      stop(far);
    }
  });
});
