// AddressWatch on the manual clock: a change of this machine's addresses is reported once, at the
// next look, whatever the order they are listed in; no change, no call; stop() ends the looking.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressWatch } from '../../../src/app/address-watch.js';
import { ManualClock } from '../../helpers/manual-clock.js';

describe('AddressWatch', () => {
  it('reports a change once, at the next look; a reordering is no change; stop() ends it', () => {
    const clock = new ManualClock();
    let addresses = ['198.51.100.1', '2001:db8::1'];
    const watch = new AddressWatch(clock, () => addresses);
    const seen: string[][] = [];
    watch.start(2_000, (now) => seen.push([...now]));
    clock.advance(2_000);
    assert.deepEqual(seen, [], 'nothing changed');
    addresses = ['2001:db8::1', '198.51.100.1'];
    clock.advance(2_000);
    assert.deepEqual(seen, [], 'the same addresses in another order');
    addresses = ['192.0.2.1'];
    clock.advance(1_999);
    assert.deepEqual(seen, [], 'not before the next look');
    clock.advance(1);
    assert.deepEqual(seen, [['192.0.2.1']]);
    clock.advance(10_000);
    assert.equal(seen.length, 1, 'reported once');
    watch.stop();
    addresses = [];
    clock.advance(10_000);
    assert.equal(seen.length, 1, 'stopped: no more looks');
  });
});
