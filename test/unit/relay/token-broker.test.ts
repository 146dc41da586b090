// One-time session tokens: distinct per side, paired when both come, usable once, void after the
// lifetime (an injected clock, no sleeping), and cancellable with the waiting side handed back.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBroker } from '../../../src/relay/token-broker.js';
import { TOKEN_PATTERN } from '../../../src/session/relay-messages.js';

function broker(ttlMs = 10_000) {
  const clock = { now: 1_000 };
  const b = new TokenBroker<string, string>({ ttlMs, now: () => clock.now });
  return { b, clock };
}

describe('TokenBroker', () => {
  it('issues two distinct well-formed tokens per session', () => {
    const { b } = broker();
    const s = b.issue('a->b');
    assert.match(s.dialerToken, TOKEN_PATTERN);
    assert.match(s.dialedToken, TOKEN_PATTERN);
    assert.notEqual(s.dialerToken, s.dialedToken);
    assert.notEqual(b.issue('c->d').dialerToken, s.dialerToken);
    assert.equal(b.pending, 2);
  });

  it('pairs the two connections whichever comes first', () => {
    for (const dialedFirst of [false, true]) {
      const { b } = broker();
      const s = b.issue('meta');
      const first = dialedFirst ? b.redeem(s.dialedToken, 'B') : b.redeem(s.dialerToken, 'A');
      assert.equal(first.kind, 'waiting');
      const second = dialedFirst ? b.redeem(s.dialerToken, 'A') : b.redeem(s.dialedToken, 'B');
      assert.deepEqual(second, { kind: 'paired', id: s.id, meta: 'meta', dialer: 'A', dialed: 'B' });
      assert.equal(b.pending, 0);
    }
  });

  it('accepts a token once only', () => {
    const { b } = broker();
    const s = b.issue('m');
    assert.equal(b.redeem(s.dialerToken, 'A').kind, 'waiting');
    assert.equal(b.redeem(s.dialerToken, 'A2').kind, 'refused');
    assert.equal(b.redeem(s.dialedToken, 'B').kind, 'paired');
    assert.equal(b.redeem(s.dialedToken, 'B2').kind, 'refused');
  });

  it('refuses an unknown token', () => {
    const { b } = broker();
    b.issue('m');
    const r = b.redeem('00'.repeat(32), 'X');
    assert.equal(r.kind, 'refused');
  });

  it('refuses a token presented after its lifetime, and cancel hands back who waited', () => {
    const { b, clock } = broker(5_000);
    const s = b.issue('m');
    assert.equal(b.redeem(s.dialerToken, 'A').kind, 'waiting');
    clock.now += 5_000;
    const late = b.redeem(s.dialedToken, 'B');
    assert.deepEqual(late, { kind: 'refused', why: 'expired token' });
    assert.deepEqual(b.cancel(s.id), { meta: 'm', waiting: [{ side: 'dialer', handle: 'A' }] });
    assert.equal(b.cancel(s.id), undefined, 'cancelled once');
    assert.equal(b.pending, 0);
  });

  it('voids the unused token of a cancelled session', () => {
    const { b } = broker();
    const s = b.issue('m');
    b.cancel(s.id);
    assert.equal(b.redeem(s.dialerToken, 'A').kind, 'refused');
  });

  it('clear() cancels everything and returns every waiting handle', () => {
    const { b } = broker();
    const s1 = b.issue('one');
    b.issue('two');
    b.redeem(s1.dialedToken, 'B1');
    const cleared = b.clear();
    assert.deepEqual(cleared.map((c) => c.meta).sort(), ['one', 'two']);
    assert.deepEqual(cleared.flatMap((c) => c.waiting.map((w) => w.handle)), ['B1']);
    assert.equal(b.pending, 0);
  });

  it('never issues a token twice even when the generator repeats', () => {
    const tokens = ['aa'.repeat(32), 'aa'.repeat(32), 'bb'.repeat(32), 'cc'.repeat(32)];
    const b = new TokenBroker<string, string>({ ttlMs: 1_000, now: () => 0, newToken: () => tokens.shift()! });
    const s = b.issue('m');
    assert.deepEqual([s.dialerToken, s.dialedToken], ['aa'.repeat(32), 'bb'.repeat(32)]);
  });
});
