// A peer that moves to another network keeps its conversation: the dialler, given a new address
// in another subnet mid-conversation, notices the dead path by the keepalive, dials the listener
// again from where it is now, and the conversation resumes with nothing lost or repeated. A
// listener that moves is found again: on the LAN by mDNS, or by key through its relay.
//
// One bridge carries two subnets: the listener L holds 198.51.100.1/24 and 192.0.2.1/24, the
// dialler D starts at 198.51.100.2/24 and moves to 192.0.2.2/24 with L as its gateway, so the
// listener's old address stays reachable from the new one (L answers for any of its addresses).
// The relay case has its own lab, described with it below.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Netlab, netlabSkip } from '../helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../helpers/peer-process.js';

const L_OLD = '198.51.100.1';
const L_NEW = '192.0.2.1';
const D_OLD = '198.51.100.2';
const D_NEW = '192.0.2.2';
/** Keepalive 1 s: a dead path is found within about 3 s. */
const FLAGS = ['--json', '--no-mdns', '--keepalive', '1', '--resume-window', '60'];

function eventAfter(peer: PeerProcess, from: number, type: string, match: (e: PeerEvent) => boolean = () => true, timeoutMs = 30_000) {
  return peer.waitFor(() => peer.events.slice(from).find((e) => e.type === type && match(e)), `event ${type} after #${from}`, timeoutMs);
}

function texts(peer: PeerProcess): string[] {
  return peer.events.filter((e) => e.type === 'message').map((e) => String(e.text));
}

/**
 * The lines said after the move, then all that each side heard: the lines of before, during and
 * after, once each and in order; and neither side ever reported the other lost.
 */
async function assertWholeConversation(phone: PeerProcess, laptop: PeerProcess): Promise<void> {
  phone.send('p-3 after');
  laptop.send('l-3 after');
  await laptop.waitForEvent('message', (e) => e.text === 'p-3 after');
  await phone.waitForEvent('message', (e) => e.text === 'l-3 after');
  assert.deepEqual(texts(laptop), ['p-1 before', 'p-2 while moving', 'p-3 after']);
  assert.deepEqual(texts(phone), ['l-1 before', 'l-2 while moving', 'l-3 after']);
  assert.equal([...laptop.events, ...phone.events].some((e) => e.type === 'lost'), false, 'nobody was reported lost');
}

/** SIGTERM (a graceful leave) and wait, bounded; SIGKILL what does not go. */
async function stop(...peers: PeerProcess[]): Promise<void> {
  for (const peer of peers) peer.kill('SIGTERM');
  await Promise.all(peers.map((peer) => peer.exitCode(10_000).catch(() => peer.kill())));
}

describe('netlab: roaming, a dialler that moves to another subnet', { skip: await netlabSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('lan', '198.51.100.0/24');
    await lab.addHost('l', { lan: 'lan', address: `${L_OLD}/24` });
    await lab.addHost('d', { lan: 'lan', address: `${D_OLD}/24` });
    await lab.exec('l', 'ip', ['addr', 'add', `${L_NEW}/24`, 'dev', 'eth0']);
    await lab.exec('l', 'sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('resumes from the new address: lines sent before, during and after the move arrive once each, in order', async (t) => {
    const laptop = lab!.spawnPeer('l', ['listen', '--name', 'laptop', '--host', '0.0.0.0', ...FLAGS]);
    await laptop.waitForEvent('listening');
    const phone = lab!.spawnPeer('d', ['connect', L_OLD, '--name', 'phone', ...FLAGS]);
    try {
      const atPhone = await phone.waitForEvent('connected', undefined, 15_000);
      assert.equal(atPhone.address, `${L_OLD}:5050`);
      const atLaptop = await laptop.waitForEvent('connected');
      assert.match(String(atLaptop.address), new RegExp(`^${D_OLD.replace(/\./g, '\\.')}:\\d+$`));
      phone.send('p-1 before');
      laptop.send('l-1 before');
      await laptop.waitForEvent('message', (e) => e.text === 'p-1 before');
      await phone.waitForEvent('message', (e) => e.text === 'l-1 before');
      const [markL, markP] = [laptop.events.length, phone.events.length];

      // The move: the new address first, then the old one goes (and with it the old subnet's route).
      await lab!.exec('d', 'ip', ['addr', 'add', `${D_NEW}/24`, 'dev', 'eth0']);
      await lab!.exec('d', 'ip', ['addr', 'del', `${D_OLD}/24`, 'dev', 'eth0']);
      await lab!.exec('d', 'ip', ['route', 'add', 'default', 'via', L_NEW, 'dev', 'eth0']);
      const moved = Date.now();
      phone.send('p-2 while moving');
      laptop.send('l-2 while moving');

      const back = await eventAfter(phone, markP, 'reconnected');
      const backAtLaptop = await eventAfter(laptop, markL, 'reconnected');
      t.diagnostic(`resumed ${Date.now() - moved} ms after the move; phone saw ${String(back.downtimeMs)} ms down`);
      assert.deepEqual([back.peer, back.path, back.address], ['laptop', 'direct', `${L_OLD}:5050`]);
      assert.match(String(backAtLaptop.address), new RegExp(`^${D_NEW.replace(/\./g, '\\.')}:\\d+$`), 'the laptop sees the phone at its new address');
      const cut = phone.events.slice(markP).find((e) => e.type === 'reconnecting');
      assert.ok(cut, 'the phone noticed the dead path');

      await assertWholeConversation(phone, laptop);

      phone.endInput();
      laptop.endInput();
      assert.equal(await phone.exitCode(30_000), 0, phone.stderr);
    } finally {
      await stop(phone, laptop);
    }
  });
});

describe('netlab: roaming, a listener that moves is found again on the LAN', { skip: await netlabSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('lan', '198.51.100.0/24');
    await lab.addHost('l', { lan: 'lan', address: `${L_OLD}/24` });
    await lab.addHost('d', { lan: 'lan', address: `${D_OLD}/24` });
    // The dialler is on both subnets: the listener's new address is on its LAN too.
    await lab.exec('d', 'ip', ['addr', 'add', `${D_NEW}/24`, 'dev', 'eth0']);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('announces itself again at its new address; the dialler finds it there by mDNS and resumes', async (t) => {
    const flags = FLAGS.filter((f) => f !== '--no-mdns');
    const laptop = lab!.spawnPeer('l', ['listen', '--name', 'laptop', '--host', '0.0.0.0', ...flags]);
    await laptop.waitForEvent('announced', undefined, 15_000);
    const phone = lab!.spawnPeer('d', ['connect', 'laptop', '--name', 'phone', ...flags]);
    try {
      const atPhone = await phone.waitForEvent('connected', undefined, 15_000);
      assert.equal(atPhone.address, `${L_OLD}:5050`);
      phone.send('p-1 before');
      await laptop.waitForEvent('message', (e) => e.text === 'p-1 before');
      const [markL, markP] = [laptop.events.length, phone.events.length];

      await lab!.exec('l', 'ip', ['addr', 'add', `${L_NEW}/24`, 'dev', 'eth0']);
      await lab!.exec('l', 'ip', ['addr', 'del', `${L_OLD}/24`, 'dev', 'eth0']);
      const moved = Date.now();
      phone.send('p-2 while moving');

      const again = await eventAfter(laptop, markL, 'announced', undefined, 15_000);
      t.diagnostic(`announced again ${Date.now() - moved} ms after the move: ${String(again.instance)}`);
      const back = await eventAfter(phone, markP, 'reconnected', undefined, 60_000);
      t.diagnostic(`resumed ${Date.now() - moved} ms after the move, at ${String(back.address)}`);
      assert.deepEqual([back.peer, back.path, back.address], ['laptop', 'direct', `${L_NEW}:5050`]);
      await laptop.waitForEvent('message', (e) => e.text === 'p-2 while moving');
      assert.deepEqual(texts(laptop), ['p-1 before', 'p-2 while moving']);
      assert.equal([...laptop.events, ...phone.events].some((e) => e.type === 'lost'), false, 'nobody was reported lost');
    } finally {
      await stop(phone, laptop);
    }
  });
});

// The relay case: relay R and the dialler D on a TEST-NET "Internet" (203.0.113.0/24); the listener
// L at home behind firewall RA (192.168.1.1 inside, seen outside as 203.0.113.2), where nothing
// gets in unsolicited, so D reaches L only through R. The home LAN's bridge also carries
// 192.168.2.0/24, served by a second firewall RB (203.0.113.3 outside). L first drops out of
// reach (RA's side of the home LAN goes down; L keeps its address), then moves to RB's subnet, so
// its own address and the address R sees it at both change. Only R can tell D where L is now, and
// only once L registered again.
const R = '203.0.113.1';
const RELAY = `${R}:5050`;
const D = '203.0.113.10';
const HOME = { host: 'l', router: 'ra', kind: 'firewall', lan: '192.168.1', outside: '203.0.113.2' } as const;
const CAFE = { router: 'rb', inside: '192.168.2.1', outside: '203.0.113.3' } as const;
const L_HOME = '192.168.1.10';
const L_CAFE = '192.168.2.10';
/**
 * Default keepalives on the relay (L's dead registration stays for 30 s) and a long one on L (60 s:
 * 180 s to find a connection dead), so neither notices the move within this test: L registers
 * again quickly only because it sees its addresses change. The phone keeps 1 s (FLAGS): it finds
 * the dead relayed session within about 3 s and dials again while L is out of reach, which the
 * relay passes on over L's dead control connection; that dial reaches L only because the relay
 * sends the invitation again when L registers anew (else it waits out its 10 s handshake timeout
 * and dials once more).
 */
const RELAY_FLAGS = ['--json', '--host', '0.0.0.0'];
const LAPTOP_FLAGS = ['--json', '--no-mdns', '--keepalive', '60', '--resume-window', '60'];

function hostOf(address: unknown): string {
  return String(address).split(':')[0] ?? '';
}

describe('netlab: roaming, a listener that moves is found again through its relay', { skip: await netlabSkip(), timeout: 120_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('internet', '203.0.113.0/24');
    await lab.addHost('r', { lan: 'internet', address: `${R}/24` });
    await lab.addHost('d', { lan: 'internet', address: `${D}/24` });
    await lab.addHome(HOME, 'internet');
    // RB joins the home LAN at an address of its subnet (as Netlab wires routers), then serves only the other one.
    await lab.addRouter(CAFE.router, {
      inside: { lan: `home${HOME.host}`, address: `${HOME.lan}.254/24` },
      outside: { lan: 'internet', address: `${CAFE.outside}/24` },
      kind: 'firewall',
    });
    await lab.exec(CAFE.router, 'ip', ['addr', 'add', `${CAFE.inside}/24`, 'dev', 'eth0']);
    await lab.exec(CAFE.router, 'ip', ['addr', 'del', `${HOME.lan}.254/24`, 'dev', 'eth0']);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  it('registers again from its new address; the dialler comes back through the relay and the conversation resumes', async (t) => {
    const relay = lab!.spawnPeer('r', ['relay', ...RELAY_FLAGS]);
    const peers = [relay];
    try {
      await relay.waitForEvent('started', undefined, 15_000);
      const laptop = lab!.spawnPeer('l', ['listen', '--name', 'laptop', '--host', '0.0.0.0', '--relay', R, ...LAPTOP_FLAGS]);
      peers.push(laptop);
      const fingerprint = String((await laptop.waitForEvent('listening', undefined, 15_000)).fingerprint);
      const registered = await laptop.waitForEvent('relay', (e) => e.state === 'registered', 15_000);
      assert.equal(hostOf(registered.observed), HOME.outside, 'the relay sees the laptop through RA');

      const phone = lab!.spawnPeer('d', ['connect', 'laptop', '--name', 'phone', '--relay', R, ...FLAGS]);
      peers.push(phone);
      const atPhone = await phone.waitForEvent('connected', undefined, 15_000);
      assert.deepEqual([atPhone.fingerprint, atPhone.path, atPhone.via], [fingerprint, 'relayed', RELAY], 'RA lets no direct dial in');
      const atLaptop = await laptop.waitForEvent('connected', (e) => e.name === 'phone');
      assert.equal(atLaptop.path, 'relayed');
      phone.send('p-1 before');
      laptop.send('l-1 before');
      await laptop.waitForEvent('message', (e) => e.text === 'p-1 before');
      await phone.waitForEvent('message', (e) => e.text === 'l-1 before');
      const [markL, markP, markR] = [laptop.events.length, phone.events.length, relay.events.length];

      // Out of reach of home first (L keeps its address, so it sees no change yet): the phone's
      // next dial is passed on to L over its control connection, now dead.
      await lab!.exec(HOME.router, 'ip', ['link', 'set', 'eth0', 'down']);
      const left = Date.now();
      phone.send('p-2 while moving');
      laptop.send('l-2 while moving');
      const cut = await eventAfter(phone, markP, 'reconnecting', undefined, 15_000);
      t.diagnostic(`the phone noticed the dead path ${Date.now() - left} ms after the laptop left`);
      await sleep(Number(cut.retryInMs) + 1_000); // its dial goes out and the relay invites L

      // The move: the new address and the way out through RB first, then the old address goes.
      await lab!.exec('l', 'ip', ['addr', 'add', `${L_CAFE}/24`, 'dev', 'eth0']);
      await lab!.exec('l', 'ip', ['route', 'replace', 'default', 'via', CAFE.inside, 'dev', 'eth0']);
      await lab!.exec('l', 'ip', ['addr', 'del', `${L_HOME}/24`, 'dev', 'eth0']);
      const moved = Date.now();

      const [again, seen, backAtPhone, backAtLaptop] = await Promise.all([
        eventAfter(laptop, markL, 'relay', (e) => e.state === 'registered', 15_000),
        eventAfter(relay, markR, 'registered', (e) => e.fingerprint === fingerprint, 15_000),
        eventAfter(phone, markP, 'reconnected', undefined, 20_000),
        eventAfter(laptop, markL, 'reconnected', undefined, 20_000),
      ]);
      t.diagnostic(`resumed ${Date.now() - moved} ms after the move; phone saw ${String(backAtPhone.downtimeMs)} ms down`);
      assert.equal(hostOf(again.observed), CAFE.outside, 'the laptop is told it is seen through RB now');
      assert.deepEqual([seen.name, hostOf(seen.observed)], ['laptop', CAFE.outside], 'the relay registered it again at its new address');
      assert.deepEqual([backAtPhone.peer, backAtPhone.fingerprint, backAtPhone.path, backAtPhone.address], ['laptop', fingerprint, 'relayed', RELAY]);
      assert.deepEqual([backAtLaptop.peer, backAtLaptop.path], ['phone', 'relayed']);
      // The dial made before L registered again reached it (the relay invited it again on its new
      // control connection) instead of waiting out the token's lifetime. Being Noise IK, it is
      // declined at once (L's old relayed session still looks alive to L, and a message 1 never
      // takes a conversation off a live connection), and the next try, over XX, resumes.
      const expired = relay.events.slice(markR).filter((e) => e.type === 'session-closed' && String(e.reason).startsWith('expired'));
      assert.deepEqual(expired, [], 'no relayed session waited out its token');
      const tries = phone.events.slice(markP).filter((e) => e.type === 'reconnecting').length;
      assert.ok(tries <= 2, `${tries} tries: the first reached L and was declined, the second resumed`);

      await assertWholeConversation(phone, laptop);

      phone.endInput();
      assert.equal(await phone.exitCode(30_000), 0, phone.stderr);
    } finally {
      await stop(...peers);
    }
  });
});
