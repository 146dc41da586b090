// The relay's endpoint reflector on a manual clock and an in-memory datagram network: what it
// answers (the source as it arrived, in a datagram no larger than the probe), what it drops
// (malformed datagrams, anything past a source's budget or the total), and what it forgets.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeEndpointDatagram, encodeEndpointDatagram, ENDPOINT_PROBE_SIZE } from '../../../src/net/endpoint-probe.js';
import { EndpointReflector, REFLECTOR_LIMITS, type ReflectorLimits } from '../../../src/relay/endpoint-reflector.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { MemoryDatagramNetwork } from '../../helpers/memory-datagrams.js';

const RELAY = { host: '198.51.100.1', port: 5050 };

function reflecting(limits: Partial<ReflectorLimits> = {}) {
  const clock = new ManualClock();
  const network = new MemoryDatagramNetwork();
  const socket = network.bind(RELAY.host, RELAY.port);
  const reflector = new EndpointReflector(socket, clock, limits);
  /** Send one probe from host:port; returns how many answers it got back. */
  const probe = (host: string, port = 40_000) => {
    const from = network.bind(host, port);
    const before = network.sentTo({ host, port }).length;
    from.send(encodeEndpointDatagram({ type: 'probe', nonce: randomBytes(8) }), RELAY.port, RELAY.host);
    return network.sentTo({ host, port }).length - before;
  };
  return { clock, network, socket, reflector, probe };
}

describe('EndpointReflector', () => {
  it('answers a probe, to its source, with a seen of the same size that names the source and echoes the nonce', () => {
    const { network, reflector } = reflecting();
    const nonce = Buffer.from('0011223344556677', 'hex');
    const peer = network.bind('192.168.1.20', 5050, { host: '203.0.113.9', port: 41_206 });
    const probe = encodeEndpointDatagram({ type: 'probe', nonce });
    peer.send(probe, RELAY.port, RELAY.host);
    const [answer, ...more] = network.sentTo({ host: '203.0.113.9', port: 41_206 });
    assert.equal(more.length, 0);
    assert.equal(answer!.bytes.length, probe.length);
    assert.equal(answer!.bytes.length, ENDPOINT_PROBE_SIZE);
    assert.deepEqual(answer!.from, RELAY);
    assert.deepEqual(decodeEndpointDatagram(answer!.bytes), { type: 'seen', nonce, host: '203.0.113.9', port: 41_206 });
    assert.equal(reflector.answered, 1);
  });

  it('answers an IPv6 source too', () => {
    const { network } = reflecting();
    const peer = network.bind('2001:db8:7::5', 6000);
    peer.send(encodeEndpointDatagram({ type: 'probe', nonce: Buffer.alloc(8, 1) }), RELAY.port, RELAY.host);
    const [answer] = network.sentTo({ host: '2001:db8:7::5', port: 6000 });
    assert.deepEqual(decodeEndpointDatagram(answer!.bytes), { type: 'seen', nonce: Buffer.alloc(8, 1), host: '2001:db8:7::5', port: 6000 });
  });

  it('drops, unanswered and uncounted, what is not a probe: garbage, a seen, a probe of another size', () => {
    const { network, socket, reflector } = reflecting();
    const probe = encodeEndpointDatagram({ type: 'probe', nonce: Buffer.alloc(8) });
    const from = { host: '203.0.113.9', port: 41_206 };
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('hello'),
      encodeEndpointDatagram({ type: 'seen', nonce: Buffer.alloc(8), host: '192.0.2.1', port: 1 }),
      Buffer.concat([probe, Buffer.alloc(1)]),
      probe.subarray(1),
    ]) {
      socket.deliver(bytes, from);
    }
    socket.deliver(probe, { host: '203.0.113.9', port: 0 });
    assert.equal(network.log.length, 0);
    assert.deepEqual([reflector.answered, reflector.dropped], [0, 0]);
  });

  it('answers one address its burst, then its rate, whatever ports it uses, and other addresses meanwhile', () => {
    const { clock, probe, reflector } = reflecting();
    const { perAddressBurst, perAddressPerSec } = REFLECTOR_LIMITS;
    for (let i = 0; i < perAddressBurst; i++) assert.equal(probe('203.0.113.9', 40_000 + i), 1, `probe ${i} of the burst`);
    assert.equal(probe('203.0.113.9', 50_000), 0, 'past the burst, from a new port too');
    assert.equal(probe('203.0.113.10'), 1, 'another address has its own budget');
    clock.advance(1000 / perAddressPerSec - 1);
    assert.equal(probe('203.0.113.9'), 0, 'not before the rate gives another');
    clock.advance(1);
    assert.equal(probe('203.0.113.9'), 1, 'one more at the rate');
    assert.equal(probe('203.0.113.9'), 0);
    assert.equal(reflector.dropped, 3);
    assert.equal(reflector.answered, perAddressBurst + 2);
  });

  it('counts an IPv6 source by its /64', () => {
    const { probe } = reflecting({ perAddressBurst: 2 });
    assert.equal(probe('2001:db8:1:2::1'), 1);
    assert.equal(probe('2001:db8:1:2:ffff::7'), 1);
    assert.equal(probe('2001:db8:1:2::3'), 0, 'the same /64');
    assert.equal(probe('2001:db8:1:3::1'), 1, 'another /64');
  });

  it('answers at most the total budget from all addresses together, then its rate', () => {
    const { clock, probe, reflector } = reflecting({ totalPerSec: 10, totalBurst: 20 });
    let answered = 0;
    for (let i = 0; i < 100; i++) answered += probe(`10.0.${i >> 8}.${i & 0xff}`);
    assert.equal(answered, 20);
    assert.equal(reflector.dropped, 80);
    clock.advance(100);
    assert.equal(probe('10.1.0.1'), 1, 'a tenth of a second gives one more');
    assert.equal(probe('10.1.0.2'), 0);
  });

  it('a dropped probe spends nothing: an address held back by the total keeps its own budget', () => {
    const { clock, probe } = reflecting({ totalPerSec: 1, totalBurst: 1, perAddressBurst: 2 });
    assert.equal(probe('10.0.0.1'), 1);
    assert.equal(probe('10.0.0.2'), 0);
    assert.equal(probe('10.0.0.2'), 0);
    clock.advance(1000);
    assert.equal(probe('10.0.0.2'), 1);
    clock.advance(1000);
    assert.equal(probe('10.0.0.2'), 1, 'its second answer: the dropped probes took none');
  });

  it('holds budgets only for sources it answered: a flood of forged sources cannot grow it past the total', () => {
    const { probe, reflector } = reflecting({ totalBurst: 100, totalPerSec: 1 });
    for (let i = 0; i < 10_000; i++) probe(`10.${i >> 8}.${i & 255}.1`);
    assert.equal(reflector.answered, 100);
    assert.ok(reflector.held <= reflector.answered, `${reflector.held} budgets held`);
  });

  it('stops answering once closed', () => {
    const { socket, probe, reflector } = reflecting();
    reflector.close();
    assert.equal(socket.listeners, 0);
    assert.equal(probe('203.0.113.9'), 0);
  });
});
