// `--relay` as users type it: one relay or a comma-separated list tried in order, each entry
// host[:port][#fingerprint] with its own pin, and one clear line for a list that makes no sense.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RELAYS, parseRelayAddress, parseRelayList } from '../../../src/net/relay-address.js';
import { throwsCode } from '../../helpers/assert-code.js';

describe('parseRelayList', () => {
  it('one relay is a list of one, as parseRelayAddress reads it', () => {
    assert.deepEqual(parseRelayList('relay.example.org'), [parseRelayAddress('relay.example.org')]);
    assert.deepEqual(parseRelayList('relay.example.org:6000#ABCD'), [{ host: 'relay.example.org', port: 6000, label: 'relay.example.org:6000', pin: 'ABCD' }]);
  });

  it('reads several in the order given, each with its own port and pin, spaces around commas allowed', () => {
    assert.deepEqual(parseRelayList('relay-a.example.org#AAAA, 192.0.2.5:6000 ,[2001:db8::5]:7000#BBBB,2001:db8::6'), [
      { host: 'relay-a.example.org', port: 5050, label: 'relay-a.example.org:5050', pin: 'AAAA' },
      { host: '192.0.2.5', port: 6000, label: '192.0.2.5:6000' },
      { host: '2001:db8::5', port: 7000, label: '[2001:db8::5]:7000', pin: 'BBBB' },
      { host: '2001:db8::6', port: 5050, label: '[2001:db8::6]:5050' },
    ]);
  });

  it(`takes up to ${MAX_RELAYS} relays`, () => {
    const relays = Array.from({ length: MAX_RELAYS }, (_, i) => `relay-${i}.example.org`);
    assert.equal(parseRelayList(relays.join(',')).length, MAX_RELAYS);
    const error = throwsCode(() => parseRelayList([...relays, 'one-more.example.org'].join(',')), 'ERR_USAGE');
    assert.match(error.message, new RegExp(`lists ${MAX_RELAYS + 1} relays; at most ${MAX_RELAYS}$`));
  });

  it('an empty entry, a bad one or the same relay twice is one line with a code', () => {
    for (const text of ['', ',', 'a.example.org,', ',a.example.org', 'a.example.org,,b.example.org', 'a.example.org, ,b.example.org']) {
      assert.match(throwsCode(() => parseRelayList(text), 'ERR_BAD_TARGET').message, /has an empty relay in its list$/, text);
    }
    assert.match(throwsCode(() => parseRelayList('a.example.org,b.example.org:99999'), 'ERR_BAD_PORT').message, /port 99999 is not a valid port/);
    assert.match(throwsCode(() => parseRelayList('a.example.org,b.example.org#'), 'ERR_BAD_TARGET').message, /empty fingerprint/);
    assert.match(throwsCode(() => parseRelayList('a.example.org,FP@b.example.org'), 'ERR_BAD_TARGET').message, /host#FINGERPRINT/);
    const twice = throwsCode(() => parseRelayList('a.example.org,b.example.org:5050,b.example.org#ABCD'), 'ERR_USAGE');
    assert.match(twice.message, /lists relay b\.example\.org:5050 twice$/);
  });
});
