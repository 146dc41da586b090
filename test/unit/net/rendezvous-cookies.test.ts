// The udx listener's rendezvous tickets on a manual clock and a fixed secret: the same asker in
// the same slot gets the same ticket, any other source, port, dialler id, slot or secret another,
// and a ticket is good in its slot and the next one only.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COOKIE_SLOT_MS, RendezvousCookies, type RendezvousAsker } from '../../../src/net/rendezvous-cookies.js';
import { ID_WINDOW, streamIdFor } from '../../../src/net/udx-runtime.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const SECRET = Buffer.alloc(32, 7);
const ASKER: RendezvousAsker = { host: '203.0.113.9', port: 41_206, dialerId: 0x2a };

/** Cookies on a clock at the start of a slot, so that a test knows where the boundaries are. */
function cookies(secret: Uint8Array = SECRET) {
  const clock = new ManualClock(COOKIE_SLOT_MS * 170_000_000);
  return { clock, cookies: new RendezvousCookies(clock, secret) };
}

describe('RendezvousCookies', () => {
  it('issues the same ticket to the same asker within a slot, and it checks as issued in that slot', () => {
    const { clock, cookies: c } = cookies();
    const ticket = c.issue(ASKER);
    clock.advance(COOKIE_SLOT_MS - 1);
    assert.deepEqual(c.issue(ASKER), ticket);
    assert.deepEqual(new RendezvousCookies(clock, Buffer.from(SECRET)).issue(ASKER), ticket, 'a function of the secret and inputs alone');
    assert.equal(c.check(ASKER, ticket), c.slot());
  });

  it('gives another source address, port, dialler id, slot or secret another cookie and stream id', () => {
    const { clock, cookies: c } = cookies();
    const ticket = c.issue(ASKER);
    const others = [
      c.issue({ ...ASKER, host: '203.0.113.10' }),
      c.issue({ ...ASKER, port: 41_207 }),
      c.issue({ ...ASKER, dialerId: 0x2b }),
      new RendezvousCookies(clock, Buffer.alloc(32, 8)).issue(ASKER),
      c.ticket(ASKER, c.slot() + 1),
    ];
    for (const other of others) {
      assert.notEqual(other.cookie, ticket.cookie);
      assert.notEqual(other.listenerId, ticket.listenerId);
    }
  });

  it('reads an IPv4-mapped source as the plain IPv4 address it is', () => {
    const { cookies: c } = cookies();
    assert.deepEqual(c.issue({ ...ASKER, host: `::ffff:${ASKER.host}` }), c.issue(ASKER));
  });

  it('names a stream id in the process window, never 0', () => {
    const { cookies: c } = cookies();
    const low = streamIdFor(0);
    for (let dialerId = 1; dialerId <= 1_000; dialerId++) {
      const { listenerId } = c.issue({ ...ASKER, dialerId });
      assert.ok(listenerId >= low && listenerId < low + ID_WINDOW && listenerId > 0, `${listenerId}`);
    }
  });

  it('accepts a ticket in the next slot too, and none older', () => {
    const { clock, cookies: c } = cookies();
    const issuedIn = c.slot();
    const ticket = c.issue(ASKER);
    clock.advance(COOKIE_SLOT_MS);
    assert.equal(c.check(ASKER, ticket), issuedIn, 'just after the boundary');
    clock.advance(COOKIE_SLOT_MS - 1);
    assert.equal(c.check(ASKER, ticket), issuedIn, 'to the end of the next slot: 20 s in all');
    clock.advance(1);
    assert.equal(c.check(ASKER, ticket), undefined, 'two slots on');
  });

  it('refuses a ticket with another cookie, stream id or asker, and one from a slot ahead', () => {
    const { cookies: c } = cookies();
    const ticket = c.issue(ASKER);
    assert.equal(c.check(ASKER, { ...ticket, cookie: (ticket.cookie + 1) >>> 0 }), undefined);
    assert.equal(c.check(ASKER, { ...ticket, listenerId: ticket.listenerId + 1 }), undefined);
    assert.equal(c.check({ ...ASKER, port: ASKER.port + 1 }, ticket), undefined);
    assert.equal(c.check({ ...ASKER, dialerId: ASKER.dialerId + 1 }, ticket), undefined);
    assert.equal(c.check(ASKER, c.ticket(ASKER, c.slot() + 1)), undefined);
  });
});
