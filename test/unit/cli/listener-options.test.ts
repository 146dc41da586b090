// The node settings `listen` and `connect` take as flags: each with its default from DEFAULTS,
// numbers checked, bad values usage errors naming the flag.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENER_OPTIONS, parseListenerSettings } from '../../../src/cli/listener-options.js';
import { DEFAULTS } from '../../../src/defaults.js';
import { throwsCode } from '../../helpers/assert-code.js';

describe('LISTENER_OPTIONS', () => {
  it('lists the handshake deadline and the listener caps with their defaults', () => {
    assert.deepEqual(
      LISTENER_OPTIONS.map((o) => [o.flag, o.default]),
      [
        ['--handshake-timeout-ms <ms>', DEFAULTS.handshakeTimeoutMs],
        ['--max-peers <n>', 256],
        ['--max-handshakes <n>', 64],
        ['--max-handshakes-per-ip <n>', 4],
        ['--refusal-log-interval-ms <ms>', 60_000],
      ],
    );
  });
});

describe('parseListenerSettings', () => {
  it('takes numbers and numeric strings under their camelCase keys, and ignores other flags', () => {
    assert.deepEqual(parseListenerSettings({ maxHandshakes: 8, handshakeTimeoutMs: '2500', json: true, port: 7 }), {
      maxHandshakes: 8,
      handshakeTimeoutMs: 2500,
    });
    assert.deepEqual(parseListenerSettings({}), {});
  });

  it('refuses zero caps, fractions and words; a log interval of 0 logs every line', () => {
    assert.match(throwsCode(() => parseListenerSettings({ maxHandshakesPerIp: 0 }), 'ERR_USAGE').message, /--max-handshakes-per-ip/);
    throwsCode(() => parseListenerSettings({ handshakeTimeoutMs: 0 }), 'ERR_USAGE');
    throwsCode(() => parseListenerSettings({ maxPeers: 1.5 }), 'ERR_USAGE');
    throwsCode(() => parseListenerSettings({ maxHandshakes: 'many' }), 'ERR_USAGE');
    assert.deepEqual(parseListenerSettings({ refusalLogIntervalMs: 0 }), { refusalLogIntervalMs: 0 });
  });
});
