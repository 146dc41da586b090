// What a user is told when the relay's control connection changes state: one AppEvent per change,
// in the shape README "JSON events" documents, and nothing for a dial-only `ready`.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { relayStatusEvent } from '../../../src/app/relay-link.js';
import { chatError } from '../../../src/errors.js';

const RELAY = '192.0.2.1:5050';

describe('relay status events', () => {
  it('registered carries the address the relay sees', () => {
    assert.deepEqual(relayStatusEvent({ relay: RELAY, state: 'registered', observed: '198.51.100.7:40000' }), {
      type: 'relay',
      state: 'registered',
      relay: RELAY,
      observed: '198.51.100.7:40000',
    });
  });

  it('a dial-only connection that is ready says nothing', () => {
    assert.equal(relayStatusEvent({ relay: RELAY, state: 'ready' }), undefined);
  });

  it('disconnected and going-away carry a code, a message (not naming the relay again) and the retry delay', () => {
    const error = chatError('ERR_RELAY_FULL', `relay ${RELAY}: full`);
    assert.deepEqual(relayStatusEvent({ relay: RELAY, state: 'disconnected', error, retryInMs: 750 }), {
      type: 'relay',
      state: 'disconnected',
      relay: RELAY,
      code: 'ERR_RELAY_FULL',
      message: 'full',
      retryInMs: 750,
    });
    const timeout = chatError('ERR_HANDSHAKE_TIMEOUT', 'handshake timed out');
    const event = relayStatusEvent({ relay: RELAY, state: 'disconnected', error: timeout, retryInMs: 750 });
    assert.equal(event?.type === 'relay' && event.state === 'disconnected' && event.message, 'handshake timed out');
    assert.deepEqual(relayStatusEvent({ relay: RELAY, state: 'going-away', reason: '', retryInMs: 500 }), {
      type: 'relay',
      state: 'going-away',
      relay: RELAY,
      code: 'ERR_RELAY_GOING_AWAY',
      message: 'going away (no reason given)',
      retryInMs: 500,
    });
  });

  it('a relay of a list that failed, with the next tried at once, names that next one', () => {
    const error = chatError('ERR_RELAY_UNREACHABLE', `cannot reach relay ${RELAY}: connection refused`);
    assert.deepEqual(relayStatusEvent({ relay: RELAY, state: 'disconnected', error, retryInMs: 0, next: '192.0.2.2:5050' }), {
      type: 'relay',
      state: 'disconnected',
      relay: RELAY,
      code: 'ERR_RELAY_UNREACHABLE',
      message: error.message,
      retryInMs: 0,
      next: '192.0.2.2:5050',
    });
    const away = relayStatusEvent({ relay: RELAY, state: 'going-away', reason: 'restart', retryInMs: 0, next: '192.0.2.2:5050' });
    assert.equal(away?.type === 'relay' && away.state === 'going-away' && away.next, '192.0.2.2:5050');
  });

  it('a relay given up for good is a warning with its code', () => {
    const error = chatError('ERR_PEER_KEY_MISMATCH', `relay ${RELAY} presented key X; not using it`);
    assert.deepEqual(relayStatusEvent({ relay: RELAY, state: 'stopped', error }), {
      type: 'warning',
      code: 'ERR_PEER_KEY_MISMATCH',
      message: error.message,
    });
  });
});
