// The cluster's address and URL helpers: a public address takes the listening port when it has
// none (a bare IPv6 literal is put in brackets), and a Redis URL is logged without its password.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redact, withPort } from '../../../src/relay/cluster-connection.js';

describe('cluster connection helpers', () => {
  it('withPort keeps a port given and adds the listening one otherwise', () => {
    assert.equal(withPort('relay-a.example.org:6000', 5050), 'relay-a.example.org:6000');
    assert.equal(withPort('relay-a.example.org', 5050), 'relay-a.example.org:5050');
    assert.equal(withPort('192.0.2.5', 5050), '192.0.2.5:5050');
    assert.equal(withPort('[2001:db8::5]:6000', 5050), '[2001:db8::5]:6000');
    assert.equal(withPort('2001:db8::5', 5050), '[2001:db8::5]:5050');
    assert.equal(withPort('[2001:db8::5]', 5050), '[2001:db8::5]:5050');
  });

  it('redact hides the password and nothing else', () => {
    assert.equal(redact('redis://user:s3cret@192.0.2.5:6379/2'), 'redis://user:***@192.0.2.5:6379/2');
    assert.equal(redact('redis://192.0.2.5:6379'), 'redis://192.0.2.5:6379');
    assert.equal(redact('not a url'), 'the configured URL');
  });
});
