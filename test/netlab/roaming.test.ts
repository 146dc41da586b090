// A peer that moves to another network keeps its conversation: the dialler, given a new address
// in another subnet mid-conversation, notices the dead path by the keepalive, dials the listener
// again from where it is now, and the conversation resumes with nothing lost or repeated.
//
// One bridge carries two subnets: the listener L holds 198.51.100.1/24 and 192.0.2.1/24, the
// dialler D starts at 198.51.100.2/24 and moves to 192.0.2.2/24 with L as its gateway, so the
// listener's old address stays reachable from the new one (L answers for any of its addresses).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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

      phone.send('p-3 after');
      laptop.send('l-3 after');
      await laptop.waitForEvent('message', (e) => e.text === 'p-3 after');
      await phone.waitForEvent('message', (e) => e.text === 'l-3 after');
      assert.deepEqual(texts(laptop), ['p-1 before', 'p-2 while moving', 'p-3 after']);
      assert.deepEqual(texts(phone), ['l-1 before', 'l-2 while moving', 'l-3 after']);
      assert.equal([...laptop.events, ...phone.events].some((e) => e.type === 'lost'), false, 'nobody was reported lost');

      phone.endInput();
      laptop.endInput();
      assert.equal(await phone.exitCode(30_000), 0, phone.stderr);
    } finally {
      phone.kill('SIGTERM');
      laptop.kill('SIGTERM');
      await Promise.all([phone.exitCode(10_000).catch(() => phone.kill()), laptop.exitCode(10_000).catch(() => laptop.kill())]);
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
      phone.kill('SIGTERM');
      laptop.kill('SIGTERM');
      await Promise.all([phone.exitCode(10_000).catch(() => phone.kill()), laptop.exitCode(10_000).catch(() => laptop.kill())]);
    }
  });
});
