// The relay's fair shares over loopback: sessions per dialling key (over all its control
// connections) and per source address, waiting and open, each refused in one coded line and freed
// when a session ends; and the request rate limit, which refuses, then disconnects a flood, with
// one log line. The rate-limit tests freeze the relay's clock, so no refill depends on timing.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { FLOODING_REASON } from '../../src/relay/relay-control.js';
import type { SessionMessage } from '../../src/session/session-messages.js';
import { cleanupRelayTestnet, type ControlClient, dataConnection, registered, startRelay } from '../helpers/relay-testnet.js';

afterEach(cleanupRelayTestnet);

type Session = Extract<SessionMessage, { type: 'session' }>;

async function dial(from: ControlClient, to: ControlClient): Promise<Session> {
  const answer = await from.request({ type: 'dial', fingerprint: to.fingerprint });
  assert.equal(answer.type, 'session', JSON.stringify(answer));
  return answer as Session;
}

async function refusedDial(from: ControlClient, to: ControlClient, why: RegExp): Promise<void> {
  const answer = await from.request({ type: 'dial', fingerprint: to.fingerprint });
  assert.ok(answer.type === 'relay-error', JSON.stringify(answer));
  assert.equal(answer.code, 'ERR_RELAY_FULL');
  assert.match(answer.message, why);
  assert.doesNotMatch(answer.message, /\n/, 'one line');
}

/** Both data connections of `session` (dialled to `to`, whose oldest unused invite is its own). */
async function pair(port: number, session: Session, to: ControlClient): Promise<Socket[]> {
  const invite = await to.waitFor('invite', (m) => !to.usedInvites.has(m.token));
  to.usedInvites.add(invite.token);
  return Promise.all([dataConnection(port, session.token), dataConnection(port, invite.token)]);
}

describe('relay session caps', { timeout: 60_000 }, () => {
  it('caps the sessions one key dials, over all its control connections, waiting and open', async () => {
    const { port, client, event, events } = await startRelay({ maxPendingSessionsPerKey: 2, maxSessionsPerKey: 3 });
    const [alice, bob, carol] = await Promise.all([client('alice'), client('bob'), client('carol')]);
    await registered(bob);
    const alice2 = await client('alice', alice.identity); // the same key again: dial-only
    const s1 = await dial(alice, bob);
    const s2 = await dial(alice2, bob);
    await refusedDial(alice, bob, /too many of your sessions waiting for their connections \(2\)/);
    await refusedDial(alice2, bob, /waiting/);
    await event('rejected', (e) => e.code === 'ERR_RELAY_FULL' && /dial refused: too many of your sessions/.test(e.message));
    await dial(carol, bob); // another key from the same address is not affected

    const first = await pair(port, s1, bob);
    await event('session-open', (e) => e.id === 1);
    await dial(alice2, bob); // s1 no longer waits: a waiting place is free
    await pair(port, s2, bob);
    await event('session-open', (e) => e.id === 2);
    await refusedDial(alice, bob, /too many relayed sessions for your key \(3\)/);

    first[0]!.destroy(); // s1 ends and gives its place back
    await event('session-closed', (e) => e.id === 1);
    await dial(alice, bob);
    assert.equal(events.filter((e) => e.type === 'session-open').length, 2);
  });

  it('caps the sessions waiting to reach one peer, whoever dials it', async () => {
    const { client } = await startRelay({ maxPendingInvitesPerKey: 2 });
    const [alice, bob, carol, dave, erin] = await Promise.all([client('alice'), client('bob'), client('carol'), client('dave'), client('erin')]);
    await Promise.all([registered(bob), registered(erin)]);
    await dial(alice, bob);
    await dial(carol, bob);
    await refusedDial(dave, bob, /too many sessions waiting to reach that peer \(2\)/);
    await dial(dave, erin); // another peer is not affected
  });

  it('caps the sessions dialled from one address, whatever the keys; other addresses go on', async () => {
    const { port, client, event } = await startRelay({ maxPendingSessionsPerIp: 2, maxSessionsPerIp: 3 });
    const [alice, carol, erin] = await Promise.all([client('alice'), client('carol'), client('erin')]);
    const [bob, dave] = await Promise.all([client('bob', undefined, '127.0.0.2'), client('dave', undefined, '127.0.0.2')]);
    await registered(bob);
    const s1 = await dial(alice, bob);
    const s2 = await dial(carol, bob);
    await refusedDial(erin, bob, /too many sessions from 127\.0\.0\.1 waiting for their connections \(2\)/);
    await dial(dave, bob); // from 127.0.0.2

    await pair(port, s1, bob);
    await pair(port, s2, bob);
    await event('session-open', (e) => e.id === 2);
    await dial(erin, bob);
    await refusedDial(erin, bob, /too many relayed sessions from 127\.0\.0\.1 \(3\)/);
    await dial(dave, bob);
  });
});

describe('relay request rate limit', { timeout: 60_000 }, () => {
  it('serves a burst, refuses more, disconnects a flood, and logs one line for it', async () => {
    // Real timers, time held still: the rate limiter sees only the burst.
    const frozen = Date.now();
    const clock = { ...SYSTEM_CLOCK, now: () => frozen };
    const { client, events } = await startRelay({ controlRequestsPerSec: 1, controlRequestBurst: 3 }, { clock });
    const [flooder, calm] = await Promise.all([client('flooder'), client('calm')]);
    for (let rid = 1; rid <= 12; rid++) flooder.connection.send({ type: 'lookup', rid, query: 'calm' });
    assert.deepEqual(await flooder.closed, { kind: 'left', reason: FLOODING_REASON });

    const answers = flooder.messages.map((m) => (m.type === 'relay-error' ? `${m.rid}:${m.code}` : 'rid' in m ? `${m.rid}:${m.type}` : m.type));
    assert.deepEqual(answers, [
      '1:lookup-result',
      '2:lookup-result',
      '3:lookup-result',
      '4:ERR_RELAY_RATE_LIMITED',
      '5:ERR_RELAY_RATE_LIMITED',
      '6:ERR_RELAY_RATE_LIMITED',
      '0:ERR_RELAY_RATE_LIMITED',
    ]);
    const goodbye = flooder.messages.at(-1) as Extract<SessionMessage, { type: 'relay-error' }>;
    assert.match(goodbye.message, /kept sending more than 1 requests per second \(burst 3\); disconnected/);
    const limited = events.filter((e) => e.type === 'rejected' && e.code === 'ERR_RELAY_RATE_LIMITED');
    assert.equal(limited.length, 1, JSON.stringify(limited));
    assert.match((limited[0] as { message: string }).message, /^requests refused: more than 1 requests per second \(burst 3\)$/);

    assert.equal((await calm.request({ type: 'lookup', query: 'flooder' })).type, 'lookup-result', 'another connection has its own allowance');
  });

  it('serves a client again once it slows down, and logs its refusals once per interval', async () => {
    // Real timers, time moved by the test; keepalives far off, so a jump does not read as silence.
    let now = Date.now();
    const clock = { ...SYSTEM_CLOCK, now: () => now };
    const { client, events } = await startRelay(
      { controlRequestsPerSec: 1, controlRequestBurst: 3, refusalLogIntervalMs: 60_000, keepaliveIntervalMs: 3_600_000, keepaliveTimeoutMs: 7_200_000 },
      { clock },
    );
    const patient = await client('patient');
    // Raw sends with rids of their own: request() numbers from 1.
    for (let rid = 101; rid <= 105; rid++) patient.connection.send({ type: 'lookup', rid, query: 'x' });
    await patient.waitFor('relay-error', (m) => m.rid === 105);
    assert.equal((await patient.waitFor('relay-error', (m) => m.rid === 104)).code, 'ERR_RELAY_RATE_LIMITED');
    now += 3_000; // pays off the two refused and earns one
    assert.equal((await patient.request({ type: 'lookup', query: 'x' })).type, 'lookup-result');

    now += 60_000;
    const answers = await Promise.all([1, 2, 3, 4].map(() => patient.request({ type: 'lookup', query: 'x' })));
    assert.deepEqual(
      answers.map((a) => a.type),
      ['lookup-result', 'lookup-result', 'lookup-result', 'relay-error'],
    );
    const lines = events.flatMap((e) => (e.type === 'rejected' && e.code === 'ERR_RELAY_RATE_LIMITED' ? [e.message] : []));
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.match(lines[1]!, /\(and 1 more since the last line\)$/);
    assert.equal(patient.outcome, undefined, 'never disconnected');
  });
});
