// ReadGate over a recording stream: reading stops while any holder holds it or our writes are
// blocked, and resumes only when neither is true.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadGate } from '../../../src/session/read-gate.js';

function recorder() {
  const calls: string[] = [];
  return { calls, stream: { pause: () => void calls.push('pause'), resume: () => void calls.push('resume') } };
}

describe('ReadGate', () => {
  it('reads again only when every holder has released, once each', () => {
    const { calls, stream } = recorder();
    const gate = new ReadGate(stream);
    const disk = {};
    const other = {};
    gate.hold(disk);
    gate.hold(disk); // holding twice is holding once
    gate.hold(other);
    assert.deepEqual(calls, ['pause', 'pause']);
    gate.release(disk);
    assert.equal(calls.at(-1), 'pause');
    gate.release(disk); // a second release by the same holder changes nothing
    assert.equal(calls.length, 3);
    gate.release(other);
    assert.equal(calls.at(-1), 'resume');
  });

  it('stays paused after a drain while a holder still holds, and after a release while writes are blocked', () => {
    const { calls, stream } = recorder();
    const gate = new ReadGate(stream);
    const holder = {};
    gate.writesBlocked();
    gate.writesBlocked();
    assert.deepEqual(calls, ['pause']);
    gate.hold(holder);
    gate.writesDrained();
    assert.equal(calls.at(-1), 'pause');
    gate.writesBlocked();
    gate.release(holder);
    assert.equal(calls.at(-1), 'pause');
    gate.writesDrained();
    assert.equal(calls.at(-1), 'resume');
  });

  it('does nothing on a drain it was not paused for', () => {
    const { calls, stream } = recorder();
    new ReadGate(stream).writesDrained();
    assert.deepEqual(calls, []);
  });
});
