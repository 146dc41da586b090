// closeOutcome from what a connection saw: a goodbye either way, a lost session, and the ways a
// handshake falls through.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatError } from '../../../src/errors.js';
import { closeOutcome, type ClosedConnection } from '../../../src/session/close-outcome.js';

const UP: ClosedConnection = { address: '192.0.2.1:7000', byeReceived: undefined, byeSent: false, error: undefined, established: true, awaitingMessage3: false };
const HANDSHAKE: ClosedConnection = { ...UP, established: false };

describe('closeOutcome', () => {
  it('is left, with the reason, when the peer said goodbye, whatever else happened', () => {
    const error = chatError('ERR_CONNECTION_LOST', 'reset');
    assert.deepEqual(closeOutcome({ ...UP, byeReceived: 'bye', byeSent: true, error }), { kind: 'left', reason: 'bye' });
  });

  it('is closed when we said goodbye and saw no error', () => {
    assert.deepEqual(closeOutcome({ ...UP, byeSent: true }), { kind: 'closed' });
    assert.deepEqual(closeOutcome({ ...HANDSHAKE, byeSent: true }), { kind: 'closed' });
  });

  it('is lost with the error seen, or ERR_CONNECTION_LOST when the session just ended', () => {
    const error = chatError('ERR_KEEPALIVE_TIMEOUT', 'stopped answering');
    assert.deepEqual(closeOutcome({ ...UP, error }), { kind: 'lost', error });
    assert.deepEqual(closeOutcome({ ...UP, byeSent: true, error }), { kind: 'lost', error });
    const outcome = closeOutcome(UP);
    assert.equal(outcome.kind, 'lost');
    assert.equal('error' in outcome && outcome.error.code, 'ERR_CONNECTION_LOST');
  });

  it('is failed in the handshake: the error seen, an abandoned reply, or a plain cut', () => {
    const error = chatError('ERR_HANDSHAKE_TIMEOUT', 'too slow');
    assert.deepEqual(closeOutcome({ ...HANDSHAKE, error }), { kind: 'failed', error });
    const abandoned = closeOutcome({ ...HANDSHAKE, awaitingMessage3: true });
    assert.equal(abandoned.kind === 'failed' && abandoned.error.code, 'ERR_HANDSHAKE_ABANDONED');
    const cut = closeOutcome(HANDSHAKE);
    assert.equal(cut.kind === 'failed' && cut.error.code, 'ERR_HANDSHAKE_FAILED');
    assert.match(cut.kind === 'failed' ? cut.error.message : '', /192\.0\.2\.1:7000/);
  });
});
