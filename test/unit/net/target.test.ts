// Connect targets as users type them: hostnames, IPv4, bracketed and bare IPv6, an expected
// fingerprint before '@', and the messages for ports and targets that make no sense.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePort, parseTarget } from '../../../src/net/target.js';
import { throwsCode } from '../../helpers/assert-code.js';

const DEFAULT_PORT = 5050;


describe('parseTarget', () => {
  it('uses the default port for a bare IPv4 address', () => {
    assert.deepEqual(parseTarget('192.0.2.7', DEFAULT_PORT), { host: '192.0.2.7', port: DEFAULT_PORT });
    assert.deepEqual(parseTarget('192.0.2.7', 7000), { host: '192.0.2.7', port: 7000 });
  });

  it('reads host:port', () => {
    assert.deepEqual(parseTarget('host:1234', DEFAULT_PORT), { host: 'host', port: 1234 });
    assert.deepEqual(parseTarget('192.0.2.7:1', DEFAULT_PORT), { host: '192.0.2.7', port: 1 });
    assert.deepEqual(parseTarget('my-box.local:65535', DEFAULT_PORT), { host: 'my-box.local', port: 65535 });
  });

  it('uses the default port for a bare hostname', () => {
    assert.deepEqual(parseTarget('desktop', DEFAULT_PORT), { host: 'desktop', port: DEFAULT_PORT });
  });

  it('trims surrounding whitespace', () => {
    assert.deepEqual(parseTarget('  host:1234\n', DEFAULT_PORT), { host: 'host', port: 1234 });
  });

  it('reads [IPv6]:port and [IPv6]', () => {
    assert.deepEqual(parseTarget('[2001:db8::7]:5050', 9), { host: '2001:db8::7', port: 5050 });
    assert.deepEqual(parseTarget('[::1]:6000', DEFAULT_PORT), { host: '::1', port: 6000 });
    assert.deepEqual(parseTarget('[2001:db8::7]', DEFAULT_PORT), { host: '2001:db8::7', port: DEFAULT_PORT });
  });

  it('takes a bare IPv6 address as a host on the default port, not host:port', () => {
    assert.deepEqual(parseTarget('2001:db8::7', DEFAULT_PORT), { host: '2001:db8::7', port: DEFAULT_PORT });
    assert.deepEqual(parseTarget('::1', DEFAULT_PORT), { host: '::1', port: DEFAULT_PORT });
  });

  it('sets expect from fp@host:port', () => {
    assert.deepEqual(parseTarget('ABCDEFG-HIJKLMN@host:1234', DEFAULT_PORT), {
      host: 'host',
      port: 1234,
      expect: 'ABCDEFG-HIJKLMN',
    });
    assert.deepEqual(parseTarget('ABCD@[2001:db8::7]:5051', DEFAULT_PORT), {
      host: '2001:db8::7',
      port: 5051,
      expect: 'ABCD',
    });
    assert.deepEqual(parseTarget('ABCD@2001:db8::7', DEFAULT_PORT), {
      host: '2001:db8::7',
      port: DEFAULT_PORT,
      expect: 'ABCD',
    });
    assert.deepEqual(parseTarget('ABCD@192.0.2.7', DEFAULT_PORT), {
      host: '192.0.2.7',
      port: DEFAULT_PORT,
      expect: 'ABCD',
    });
  });

  it('has no expect without an @, nor with an empty one', () => {
    assert.equal('expect' in parseTarget('host:1', DEFAULT_PORT), false);
    assert.equal('expect' in parseTarget('@host:1', DEFAULT_PORT), false);
    assert.deepEqual(parseTarget('@host:1', DEFAULT_PORT), { host: 'host', port: 1 });
  });

  it('refuses bad ports with ERR_BAD_PORT naming the port', () => {
    const err = throwsCode(() => parseTarget('host:99999', DEFAULT_PORT), 'ERR_BAD_PORT');
    assert.equal(err.message, 'port 99999 is not a valid port (1-65535)');
    assert.equal(throwsCode(() => parseTarget('host:abc', DEFAULT_PORT), 'ERR_BAD_PORT').message, 'port abc is not a valid port (1-65535)');
    assert.equal(throwsCode(() => parseTarget('host:0', DEFAULT_PORT), 'ERR_BAD_PORT').message, 'port 0 is not a valid port (1-65535)');
    throwsCode(() => parseTarget('host:', DEFAULT_PORT), 'ERR_BAD_PORT');
    throwsCode(() => parseTarget('host:-1', DEFAULT_PORT), 'ERR_BAD_PORT');
    throwsCode(() => parseTarget('host:65536', DEFAULT_PORT), 'ERR_BAD_PORT');
    throwsCode(() => parseTarget('[2001:db8::7]:70000', DEFAULT_PORT), 'ERR_BAD_PORT');
    throwsCode(() => parseTarget('[2001:db8::7]:', DEFAULT_PORT), 'ERR_BAD_PORT');
  });

  it('refuses what is not a target with ERR_BAD_TARGET', () => {
    for (const input of ['', '   ', 'fp@', '[notv6]:1', '[192.0.2.7]:1', 'a b', 'a b:1', 'host/path', 'user@@']) {
      throwsCode(() => parseTarget(input, DEFAULT_PORT), 'ERR_BAD_TARGET');
    }
  });

  it('says what was wrong in the ERR_BAD_TARGET message', () => {
    assert.match(throwsCode(() => parseTarget('', DEFAULT_PORT), 'ERR_BAD_TARGET').message, /names no host/);
    assert.match(throwsCode(() => parseTarget('[notv6]:1', DEFAULT_PORT), 'ERR_BAD_TARGET').message, /'notv6' is not an IPv6 address/);
    assert.match(throwsCode(() => parseTarget('a b', DEFAULT_PORT), 'ERR_BAD_TARGET').message, /'a b' is not a host/);
  });
});

describe('parsePort', () => {
  it('accepts 1 through 65535', () => {
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('5050'), 5050);
    assert.equal(parsePort('65535'), 65535);
    assert.equal(parsePort('00080'), 80);
  });

  it('refuses anything else with ERR_BAD_PORT', () => {
    for (const text of ['0', '65536', '99999', '123456', '', ' 80', '80 ', '8e3', '0x50', '+80', '-80', '1.5', 'abc']) {
      const err = throwsCode(() => parsePort(text), 'ERR_BAD_PORT');
      assert.equal(err.message, `port ${text} is not a valid port (1-65535)`);
    }
  });
});
