// The listener's handshake budget: a per-address cap and a total, each met by evicting the
// handshake that has waited longest (never a newcomer refused, never an established peer), and
// at most one line per address per interval about it. On the manual clock.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeAdmission, type AdmissionLimits, type RefusalLine } from '../../../src/app/handshake-admission.js';
import { DEFAULTS } from '../../../src/defaults.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const C = '2001:db8::3';

function setup(limits: Partial<AdmissionLimits> = {}) {
  const clock = new ManualClock();
  const admission = new HandshakeAdmission<string>({ ...DEFAULTS, ...limits }, clock);
  const evicted: string[] = [];
  const lines: RefusalLine[] = [];
  const admit = (item: string, ip: string) => {
    const result = admission.admit(item, ip);
    evicted.push(...result.evicted);
    lines.push(...result.lines);
  };
  return { clock, admission, admit, evicted, lines };
}

describe('HandshakeAdmission', () => {
  it('lets an address hold maxHandshakesPerIp; a newcomer past it evicts that address\'s oldest', () => {
    const { admission, admit, evicted, lines } = setup({ maxHandshakesPerIp: 4 });
    for (const item of ['a1', 'a2', 'a3', 'a4']) admit(item, A);
    admit('b1', B);
    assert.deepEqual(evicted, []);
    admit('a5', A);
    assert.deepEqual(evicted, ['a1']);
    admit('a6', A);
    assert.deepEqual(evicted, ['a1', 'a2']);
    assert.equal(admission.heldBy(A), 4);
    assert.equal(admission.heldBy(B), 1);
    assert.equal(admission.size, 5);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.ip, A);
    assert.equal(lines[0]!.limit, 'handshakes-per-ip');
    assert.match(lines[0]!.message, /192\.0\.2\.1 had 4 handshakes in progress, the most one address may hold/);
  });

  it('at the total budget evicts the oldest of the address holding the most, not a lone stranger', () => {
    const { admit, evicted, lines } = setup({ maxHandshakes: 6, maxHandshakesPerIp: 4 });
    admit('c1', C); // the oldest of all, but alone from its address
    for (const item of ['b1', 'b2']) admit(item, B);
    for (const item of ['a1', 'a2', 'a3']) admit(item, A);
    admit('d1', '192.0.2.4');
    assert.deepEqual(evicted, ['a1']);
    // A and B now hold two each: of those, the one whose oldest is older (B's b1, not A's a2).
    admit('d2', '192.0.2.5');
    assert.deepEqual(evicted, ['a1', 'b1']);
    assert.equal(lines[0]!.limit, 'handshakes');
    assert.match(lines[0]!.message, /6 handshakes were in progress, the most the listener holds, and 192\.0\.2\.1 held the most/);
  });

  it('when every address holds one, the oldest of all makes way', () => {
    const { admit, evicted } = setup({ maxHandshakes: 3 });
    admit('a1', A);
    admit('b1', B);
    admit('c1', C);
    admit('d1', '192.0.2.4');
    assert.deepEqual(evicted, ['a1']);
  });

  it('never evicts a handshake that is done (an established peer), nor counts it', () => {
    const { admission, admit, evicted } = setup({ maxHandshakes: 4, maxHandshakesPerIp: 2 });
    admit('peer', A);
    admission.done('peer');
    for (let i = 0; i < 1_000; i++) admit(`flood${i}`, i % 2 === 0 ? A : B);
    assert.equal(evicted.includes('peer'), false);
    assert.equal(evicted.length, 1_000 - 4);
    assert.equal(admission.size, 4);
    admission.done('peer'); // done twice, or for an unknown item: nothing happens
    admission.done('never admitted');
    assert.equal(admission.size, 4);
  });

  it('a closed handshake frees its slot', () => {
    const { admission, admit, evicted } = setup({ maxHandshakesPerIp: 2 });
    admit('a1', A);
    admit('a2', A);
    admission.done('a1');
    admit('a3', A);
    assert.deepEqual(evicted, []);
    assert.equal(admission.heldBy(A), 2);
  });

  it('logs at most one line per address per interval; the next counts those held back', () => {
    const { clock, admit, lines } = setup({ maxHandshakesPerIp: 1, refusalLogIntervalMs: 60_000 });
    admit('a0', A);
    admit('b0', B);
    for (let i = 1; i <= 1_000; i++) {
      admit(`a${i}`, A);
      if (i <= 3) admit(`b${i}`, B);
      clock.advance(50); // 50 s over the loop: all of it within one interval
    }
    assert.deepEqual(lines.map((l) => [l.ip, l.held]), [[A, 0], [B, 0]]);
    assert.match(lines[0]!.message, /more from 192\.0\.2\.1 are logged at most once in 60 s/);
    clock.advance(10_000);
    admit('a1001', A);
    // ...and B, which fell silent, gets its last line counting its two held back.
    assert.deepEqual(lines.slice(2).map((l) => [l.ip, l.held]), [[A, 999], [B, 2]]);
    assert.match(lines[2]!.message, /\(and 999 more since the last line\)/);
  });

  it('an address that falls silent gets one last line counting what was held back', () => {
    const { clock, admit, lines } = setup({ maxHandshakesPerIp: 1, refusalLogIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) admit(`a${i}`, A);
    assert.equal(lines.length, 1);
    clock.advance(60_000);
    admit('c0', C); // anything the listener does after the interval sweeps it
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.ip, A);
    assert.equal(lines[1]!.limit, undefined);
    assert.equal(lines[1]!.held, 3);
    assert.match(lines[1]!.message, /3 more connections from 192\.0\.2\.1 were cut off or refused in the 60 s after the last line/);
    // That line was A's for this interval: the next eviction waits for the one after.
    admit('a5', A);
    assert.equal(lines.length, 2);
  });

  it('refusals for the peer limit share the address\'s line budget', () => {
    const { clock, admission, admit, lines } = setup({ maxHandshakesPerIp: 1, maxPeers: 256 });
    const refused = admission.refused(A, 'peers');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.limit, 'peers');
    assert.match(refused[0]!.message, /connection refused: 256 peers are connected, the most the listener takes/);
    assert.deepEqual(admission.refused(A, 'peers'), []);
    admit('a1', A);
    admit('a2', A);
    assert.deepEqual(lines, []);
    clock.advance(DEFAULTS.refusalLogIntervalMs);
    assert.deepEqual(admission.refused(A, 'peers').map((l) => l.held), [2]);
  });
});
