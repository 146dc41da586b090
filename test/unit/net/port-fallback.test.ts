// The next-free-port rule shared by the TCP and UDP listeners, over a bind that fails as told:
// busy ports are skipped only with fallback tries, `::` falls back to IPv4, and every failure is
// one coded line.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindWithFallback } from '../../../src/net/port-fallback.js';
import { rejectsCode } from '../../helpers/assert-code.js';

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** A bind where the listed ports are in use and `::` exists only if `ipv6`; it records each try. */
function fakeBind(busy: number[], ipv6 = true) {
  const tries: string[] = [];
  const bind = async (host: string, port: number) => {
    tries.push(`${host} ${port}`);
    if (host === '::' && !ipv6) throw errno('EAFNOSUPPORT');
    if (busy.includes(port)) throw errno('EADDRINUSE');
    return port;
  };
  return { tries, bind };
}

describe('bindWithFallback', () => {
  it('takes the port asked when it is free', async () => {
    const { bind } = fakeBind([]);
    assert.deepEqual(await bindWithFallback({ host: '::', port: 5050, fallbackTries: 3 }, bind), { bound: 5050, host: '::', busyPort: undefined });
  });

  it('moves to the next free port with fallback tries, and says which was busy', async () => {
    const { bind, tries } = fakeBind([5050, 5051]);
    assert.deepEqual(await bindWithFallback({ host: '127.0.0.1', port: 5050, fallbackTries: 3 }, bind), { bound: 5052, host: '127.0.0.1', busyPort: 5050 });
    assert.deepEqual(tries, ['127.0.0.1 5050', '127.0.0.1 5051', '127.0.0.1 5052']);
  });

  it('fails on a busy port without fallback tries, and when every try is busy', async () => {
    const one = await rejectsCode(bindWithFallback({ host: '127.0.0.1', port: 5050, fallbackTries: 0 }, fakeBind([5050]).bind), 'ERR_LISTEN_FAILED');
    assert.equal(one.message, 'cannot listen on 127.0.0.1:5050: port 5050 is in use');
    const all = await rejectsCode(bindWithFallback({ host: '127.0.0.1', port: 5050, fallbackTries: 2 }, fakeBind([5050, 5051, 5052]).bind), 'ERR_LISTEN_FAILED');
    assert.equal(all.message, 'cannot listen: ports 5050-5052 are in use');
  });

  it('falls back from :: to 0.0.0.0 on a machine without IPv6', async () => {
    const { bind, tries } = fakeBind([], false);
    assert.deepEqual(await bindWithFallback({ host: '::', port: 5050, fallbackTries: 0 }, bind), { bound: 5050, host: '0.0.0.0', busyPort: undefined });
    assert.deepEqual(tries, [':: 5050', '0.0.0.0 5050']);
  });

  it('reports any other failure at once, in words', async () => {
    const denied = async () => {
      throw errno('EACCES');
    };
    const error = await rejectsCode(bindWithFallback({ host: '127.0.0.1', port: 80, fallbackTries: 5 }, denied), 'ERR_LISTEN_FAILED');
    assert.match(error.message, /^cannot listen on 127\.0\.0\.1:80: /);
  });
});
