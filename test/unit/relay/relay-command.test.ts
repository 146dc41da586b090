// The `relay` command's option list and limit parsing, which the CLI help and main.ts use: every
// limit in RELAY_DEFAULTS has a flag with its default, and bad values are usage errors.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatRelayEvent, parseRelayLimits, RELAY_OPTIONS, relayLogLine } from '../../../src/cli/relay-command.js';
import { RELAY_DEFAULTS } from '../../../src/relay/relay-defaults.js';
import { throwsCode } from '../../helpers/assert-code.js';

describe('RELAY_OPTIONS', () => {
  it('lists every relay default once, with its value', () => {
    assert.deepEqual(RELAY_OPTIONS.map((o) => o.key).sort(), Object.keys(RELAY_DEFAULTS).sort());
    const maxPeers = RELAY_OPTIONS.find((o) => o.key === 'maxPeers');
    assert.deepEqual(maxPeers && { flag: maxPeers.flag, default: maxPeers.default }, { flag: '--max-peers <n>', default: 20_000 });
    assert.ok(RELAY_OPTIONS.some((o) => o.flag === '--session-rate-bytes-per-sec <n>'));
    assert.ok(RELAY_OPTIONS.every((o) => o.description.length > 0));
  });
});

describe('parseRelayLimits', () => {
  it('takes numbers and numeric strings under their camelCase keys, and ignores other flags', () => {
    assert.deepEqual(parseRelayLimits({ maxPeers: 5, tokenTtlMs: '2500', json: true, port: 7 }), { maxPeers: 5, tokenTtlMs: 2500 });
  });

  it('refuses negative, fractional and non-numeric values, and a zero maximum', () => {
    throwsCode(() => parseRelayLimits({ sessionByteCap: -1 }), 'ERR_USAGE');
    throwsCode(() => parseRelayLimits({ tokenTtlMs: 1.5 }), 'ERR_USAGE');
    const err = throwsCode(() => parseRelayLimits({ maxSessions: 'many' }), 'ERR_USAGE');
    assert.match(err.message, /--max-sessions/);
    throwsCode(() => parseRelayLimits({ maxPeers: 0 }), 'ERR_USAGE');
    assert.deepEqual(parseRelayLimits({ sessionByteCap: 0 }), { sessionByteCap: 0 });
  });
});

describe('formatRelayEvent', () => {
  it('prints the start line the README promises, saying whether UDP is served too', () => {
    const line = formatRelayEvent({ type: 'started', host: '::', port: 5050, fingerprint: 'AIWS2UX-IBTTFAY', udp: true });
    assert.equal(line, 'relay listening on port 5050 (TCP and UDP), fingerprint AIWS2UX-IBTTFAY');
    const tcpOnly = formatRelayEvent({ type: 'started', host: '::', port: 5050, fingerprint: 'AIWS2UX-IBTTFAY', udp: false });
    assert.equal(tcpOnly, 'relay listening on port 5050 (TCP only), fingerprint AIWS2UX-IBTTFAY');
  });

  it('prints a warning with its code', () => {
    const line = formatRelayEvent({ type: 'warning', code: 'ERR_LISTEN_FAILED', message: 'no UDP on port 5050' });
    assert.equal(line, 'warning: ERR_LISTEN_FAILED: no UDP on port 5050');
  });

  it('prints the cluster lines the README promises, and stats with and without a cluster', () => {
    const joined = formatRelayEvent({ type: 'cluster-joined', address: 'relay-a.example.org:5050', url: 'redis://192.0.2.5:6379', relays: 3, peers: 12 });
    assert.equal(joined, 'joined the cluster on redis://192.0.2.5:6379 as relay-a.example.org:5050: 3 relays, 12 peers of this one registered there');
    const left = formatRelayEvent({ type: 'cluster-left', address: 'a:1', code: 'ERR_CLUSTER_UNAVAILABLE', message: 'Redis went away' });
    assert.equal(left, 'left the cluster: ERR_CLUSTER_UNAVAILABLE: Redis went away');
    const stats = { type: 'stats', peers: 5, sessions: 1, bytes: 10, connections: 7 } as const;
    assert.equal(formatRelayEvent(stats), 'stats: 5 peers, 1 sessions, 10 bytes relayed, 7 connections');
    assert.match(formatRelayEvent({ ...stats, cluster: { state: 'joined', relays: 3, peers: 120 } }), /; cluster: 120 peers on 3 relays$/);
    assert.match(formatRelayEvent({ ...stats, cluster: { state: 'unavailable', relays: 0, peers: 0 } }), /; cluster unavailable \(ERR_CLUSTER_UNAVAILABLE\)$/);
  });

  it('the text log puts the time first, UTC to the second (issue 12)', () => {
    const event = { type: 'stopped', reason: 'relay shutting down' } as const;
    assert.equal(relayLogLine(event, Date.UTC(2030, 0, 2, 9, 5, 7, 456)), '2030-01-02T09:05:07Z relay stopped: relay shutting down');
  });
});
