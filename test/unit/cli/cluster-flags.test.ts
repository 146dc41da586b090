// The relay's cluster flags: one needs the others, the public address takes --port when it has
// none, and each malformed value is a one-line ERR_USAGE naming its flag.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterFlags } from '../../../src/cli/cluster-flags.js';
import { throwsCode } from '../../helpers/assert-code.js';

describe('relay cluster flags', () => {
  it('without --cluster: none, and the others alone are refused', () => {
    assert.equal(parseClusterFlags({}, 5050), undefined);
    assert.match(throwsCode(() => parseClusterFlags({ publicAddress: 'a.example.org' }, 5050), 'ERR_USAGE').message, /--public-address needs --cluster/);
    assert.match(throwsCode(() => parseClusterFlags({ clusterTtlMs: 5000 }, 5050), 'ERR_USAGE').message, /--cluster-ttl-ms needs --cluster/);
  });

  it('reads the URL, the address (with or without a port), the prefix and the TTL', () => {
    const url = 'redis://192.0.2.5:6379';
    assert.deepEqual(parseClusterFlags({ cluster: url, publicAddress: 'relay-a.example.org:6000' }, 5050), { url, publicAddress: 'relay-a.example.org:6000' });
    assert.deepEqual(parseClusterFlags({ cluster: url, publicAddress: 'relay-a.example.org' }, 5050), { url, publicAddress: 'relay-a.example.org' });
    assert.deepEqual(parseClusterFlags({ cluster: 'rediss://u:p@r.example.org', publicAddress: '[2001:db8::1]:5050', clusterPrefix: 'c1:', clusterTtlMs: '9000' }, 5050), {
      url: 'rediss://u:p@r.example.org',
      publicAddress: '[2001:db8::1]:5050',
      keyPrefix: 'c1:',
      ttlMs: 9000,
    });
  });

  it('refuses malformed values, naming the flag', () => {
    const ok = { cluster: 'redis://192.0.2.5', publicAddress: 'a.example.org' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...ok, cluster: 'http://192.0.2.5' }, /--cluster .* is not a redis/],
      [{ ...ok, cluster: '' }, /--cluster needs a value/],
      [{ cluster: ok.cluster }, /--cluster needs --public-address/],
      [{ ...ok, publicAddress: 'a b' }, /--public-address 'a b' is not HOST/],
      [{ ...ok, publicAddress: 'a.example.org:70000' }, /--public-address/],
      [{ ...ok, clusterPrefix: 'has space' }, /--cluster-prefix/],
      [{ ...ok, clusterTtlMs: 1000 }, /--cluster-ttl-ms must be a whole number of at least 3000/],
      // A third of it would overflow Node's timers, which then fire every millisecond.
      [{ ...ok, clusterTtlMs: '10000000000' }, /--cluster-ttl-ms must be at most 86400000/],
    ];
    for (const [flags, why] of cases) assert.match(throwsCode(() => parseClusterFlags(flags, 5050), 'ERR_USAGE').message, why);
  });
});
