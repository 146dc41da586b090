// RelaySessions as unit tests hold it: on a manual clock, small limits, its events collected, and
// the peers of one dial (alice dialling bob from her control connection's address). Shared by the
// tests of tokens, invitation slots and first flights (test/unit/relay/relay-sessions*.test.ts).

import assert from 'node:assert/strict';
import type { RelayEvent } from '../../src/relay/relay-events.js';
import { RelaySessions, type DialAnswer, type RelaySessionsOptions } from '../../src/relay/relay-sessions.js';
import type { ManualClock } from './manual-clock.js';

export const TOKEN_TTL_MS = 10_000;
export const ALICE = { name: 'alice', fingerprint: 'A'.repeat(56) };
export const BOB = { name: 'bob', fingerprint: 'B'.repeat(56) };
/** Alice's control connection; she may have one session waiting for its connections at a time. */
export const DIALLER = { key: ALICE.fingerprint, ip: '192.0.2.2' };

/** Let queued microtasks and immediates run (the in-memory stream delivers on microtasks). */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export function relaySessions(clock: ManualClock, options: Partial<RelaySessionsOptions> = {}) {
  const events: RelayEvent[] = [];
  const sessions = new RelaySessions({
    tokenTtlMs: TOKEN_TTL_MS,
    maxSessions: 10,
    maxSessionsPerKey: 10,
    maxPendingSessionsPerKey: 1,
    maxSessionsPerIp: 10,
    maxPendingSessionsPerIp: 10,
    maxPendingInvitesPerKey: 10,
    maxInvitesFromOneKey: 10,
    maxInvitesFromOneIp: 10,
    unansweredInvitePenaltyMs: 0,
    sessionRateBytesPerSec: 0,
    sessionByteCap: 0,
    sessionIdleTimeoutMs: 0,
    byeGraceMs: 2_000,
    emit: (event) => events.push(event),
    clock,
    ...options,
  });
  const closed = () => events.filter((e) => e.type === 'session-closed');
  return { sessions, events, closed };
}

export function tokens(answer: DialAnswer): { dialerToken: string; dialedToken: string } {
  assert.ok(answer.ok, `the dial was refused: ${answer.ok ? '' : answer.message}`);
  return answer;
}
