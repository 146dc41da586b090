// A peer's invitation slots under a flood (issue 11, item 2): throwaway keys dialling one victim
// over and over, never presenting their tokens, must not keep a legitimate dialler from another
// address out. The relay runs on a manual clock, so tokens expire when the test says.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_DEFAULTS } from '../../src/relay/relay-defaults.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { cleanupRelayTestnet, type ControlClient, dataConnection, registered, relayedChat, startRelay, until } from '../helpers/relay-testnet.js';

afterEach(cleanupRelayTestnet);

const TOKEN_TTL_MS = 10_000;
/** The attackers dial every 10.5 s: just after the last round's tokens expired. */
const ROUND_MS = 10_500;

/** A relay on a manual clock; keepalives far off, so moving the clock never reads as silence. */
async function floodableRelay() {
  const clock = new ManualClock(Date.now());
  const relay = await startRelay({ tokenTtlMs: TOKEN_TTL_MS, keepaliveIntervalMs: 3_600_000, keepaliveTimeoutMs: 7_200_000 }, { clock });
  return { ...relay, clock };
}

/** `dials` dials from `attacker` to `victim` at once; how many were given a session. */
async function flood(attacker: ControlClient, victim: ControlClient, dials: number): Promise<number> {
  const answers = await Promise.all(Array.from({ length: dials }, () => attacker.request({ type: 'dial', fingerprint: victim.fingerprint })));
  for (const answer of answers) {
    if (answer.type === 'relay-error') assert.equal(answer.code, 'ERR_RELAY_FULL', answer.message);
    else assert.equal(answer.type, 'session', JSON.stringify(answer));
  }
  return answers.filter((a) => a.type === 'session').length;
}

/**
 * The victim answers every invitation it has not answered yet, as a listener does: it opens the
 * data connection, which waits at the relay for a dialler that never comes.
 */
async function answerInvites(port: number, victim: ControlClient, expected: number): Promise<void> {
  const invites = await until(() => {
    const all = victim.messages.filter((m) => m.type === 'invite');
    return all.length >= expected && all;
  }, `${expected} invitations`);
  for (const invite of invites) {
    if (invite.type !== 'invite' || victim.usedInvites.has(invite.token)) continue;
    victim.usedInvites.add(invite.token);
    const socket = await dataConnection(port, invite.token);
    socket.on('error', () => undefined); // the relay resets it when the token expires
  }
}

describe('relay invitation flood', { timeout: 60_000 }, () => {
  it('two keys from one address dialling a victim every 10.5 s hold a few of its slots; a dial from elsewhere connects', async () => {
    const { port, client, clock, events } = await floodableRelay();
    const victim = await client('victim');
    await registered(victim);
    const attackers = await Promise.all([client('x1'), client('x2')]);
    const alice = await client('alice', undefined, '127.0.0.2');

    let invited = 0;
    const held: number[] = [];
    for (let round = 0; round < 4; round++) {
      const given = (await Promise.all(attackers.map((x) => flood(x, victim, 8)))).reduce((a, b) => a + b, 0);
      held.push(given);
      invited += given;
      await answerInvites(port, victim, invited);
      if (round < 3) clock.advance(ROUND_MS);
    }
    // Its address's share of the victim's 16 slots, once; then its unanswered invitations hold
    // that share for the penalty (60 s), longer than the three rounds that follow.
    assert.deepEqual(held, [RELAY_DEFAULTS.maxInvitesFromOneIp, 0, 0, 0]);
    const expired = events.filter((e) => e.type === 'session-closed' && e.reason.startsWith('expired: '));
    assert.equal(expired.length, held[0], 'what the flood was given expired');

    const { peerA, peerB } = await relayedChat(port, alice, victim);
    peerA.connection.send({ type: 'chat', id: 'm1', time: Date.now(), text: 'through the flood' });
    await peerB.waitFor('chat', (m) => m.text === 'through the flood');
  });

  it('when four addresses fill every slot, a fifth still gets one: the biggest holder gives up its oldest', async () => {
    const { port, client, event } = await floodableRelay();
    const victim = await client('victim');
    await registered(victim);
    const floods = await Promise.all(
      ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].flatMap((from) => [client('x', undefined, from), client('x', undefined, from)]),
    );
    const given = (await Promise.all(floods.map((x) => flood(x, victim, 8)))).reduce((a, b) => a + b, 0);
    assert.equal(given, 16, 'four addresses at their share fill the victim');
    await answerInvites(port, victim, 16);

    const alice = await client('alice', undefined, '127.0.0.2');
    const { peerA, peerB } = await relayedChat(port, alice, victim);
    await event('session-closed', (e) => e.reason.startsWith('evicted'));
    peerB.connection.send({ type: 'chat', id: 'm1', time: Date.now(), text: 'made room' });
    await peerA.waitFor('chat', (m) => m.text === 'made room');
  });
});
