// What a try offers (path-tools.ts): the endpoints the relay saw first (UDP from the punch socket,
// TCP for a simultaneous open only when the control connection's port is known), then our own
// addresses, IP literals only and at most MAX_PATH_CANDIDATES; and the listener's punches keep to
// their schedule within a try's time.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatNode } from '../../../src/app/chat-node.js';
import { pathTools, PUNCH_SCHEDULE_MS } from '../../../src/app/path-tools.js';
import type { RelayLink } from '../../../src/app/relay-link.js';
import type { PunchSocket } from '../../../src/net/datagram-port.js';
import { isIpAddress } from '../../../src/net/address.js';
import { MAX_PATH_CANDIDATES } from '../../../src/session/path-messages.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/** A punch socket that records its punches (nothing here dials). */
function recordingSocket(port: number) {
  const punches: Array<[string, number, number]> = [];
  const socket = {
    port,
    send: () => undefined,
    onDatagram: () => () => undefined,
    dial: () => Promise.reject(new Error('not here')),
    punch: (host: string, to: number) => punches.push([host, to, clock.now()]),
  } as unknown as PunchSocket;
  const clock = new ManualClock();
  return { socket, punches, clock };
}

function relayWith(client: { observed?: string; observedUdp?: string; controlPort?: number }): RelayLink {
  return { client, host: '203.0.113.1', port: 5050 } as unknown as RelayLink;
}

describe('path tools', () => {
  it('offer the endpoints the relay saw first, then own addresses: IP literals only, at most 8', () => {
    const { socket, clock } = recordingSocket(41_000);
    const tools = pathTools({
      node: {} as ChatNode,
      clock,
      relay: () => relayWith({ observed: '198.51.100.7:40001', observedUdp: '198.51.100.7:41000', controlPort: 33_000 }),
      punch: () => socket,
      tcpPort: () => 5050,
    });
    const offered = tools.candidates();
    assert.deepEqual(offered.slice(0, 2), [
      { kind: 'udp', host: '198.51.100.7', port: 41_000 },
      { kind: 'tcp-open', host: '198.51.100.7', port: 40_001 },
    ]);
    assert.ok(offered.length <= MAX_PATH_CANDIDATES);
    for (const c of offered) assert.ok(isIpAddress(c.host), `${c.host} is an IP literal`);
    for (const c of offered.slice(2)) assert.ok((c.kind === 'udp' && c.port === 41_000) || (c.kind === 'tcp' && c.port === 5050), JSON.stringify(c));
    assert.equal(new Set(offered.map((c) => `${c.kind} ${c.host} ${c.port}`)).size, offered.length, 'no candidate twice');
  });

  it('offer no simultaneous open without a bound control port, no UDP without a socket, nothing odd the relay said', () => {
    const { clock } = recordingSocket(0);
    const tools = pathTools({
      node: {} as ChatNode,
      clock,
      relay: () => relayWith({ observed: 'relay.example:40001', observedUdp: '198.51.100.7:41000' }),
      punch: () => undefined,
      tcpPort: () => 0,
    });
    assert.deepEqual(tools.candidates(), []);
  });

  it('punch toward a UDP candidate on the schedule, within the time left', async () => {
    const { socket, punches, clock } = recordingSocket(41_000);
    const tools = pathTools({ node: {} as ChatNode, clock, relay: () => undefined, punch: () => socket, tcpPort: () => 0 });
    const start = clock.now();
    tools.open({ kind: 'udp', host: '198.51.100.9', port: 5050 }, 500, () => assert.fail('no stream from a punch'));
    tools.open({ kind: 'tcp', host: '198.51.100.9', port: 5050 }, 500, () => assert.fail('nothing opened toward a listener'));
    clock.advance(10_000);
    assert.deepEqual(
      punches.map(([, , at]) => at - start),
      PUNCH_SCHEDULE_MS.filter((at) => at < 500),
    );
    assert.ok(punches.every(([host, port]) => host === '198.51.100.9' && port === 5050));
  });
});
