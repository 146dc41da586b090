// Which relay of a list a peer tries: in order, the next at once after a failure, back to the
// first when the pass is over or a connection in use was lost; a relay dropped (its pinned key
// failed) is never current again, and the last one dropped leaves none.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayRotation } from '../../../src/app/relay-rotation.js';

describe('RelayRotation', () => {
  it('a pass goes through the list in order, then starts again from the first', () => {
    const rotation = new RelayRotation(['a', 'b', 'c']);
    assert.equal(rotation.current, 'a');
    assert.deepEqual([rotation.failed(), rotation.current], ['next', 'b']);
    assert.deepEqual([rotation.failed(), rotation.current], ['next', 'c']);
    assert.deepEqual([rotation.failed(), rotation.current], ['pass-over', 'a']);
    assert.deepEqual([rotation.failed(), rotation.current], ['next', 'b']);
  });

  it('says when the current relay is the last of the pass (it gets the whole connect timeout)', () => {
    const rotation = new RelayRotation(['a', 'b']);
    assert.equal(rotation.isLast, false);
    rotation.failed();
    assert.equal(rotation.isLast, true);
    rotation.failed();
    assert.equal(rotation.isLast, false, 'a new pass');
    assert.equal(new RelayRotation(['a']).isLast, true);
  });

  it('a list of one ends its pass at every failure', () => {
    const rotation = new RelayRotation(['a']);
    assert.deepEqual([rotation.failed(), rotation.current], ['pass-over', 'a']);
    assert.deepEqual([rotation.failed(), rotation.current], ['pass-over', 'a']);
  });

  it('restart() makes the first current again, wherever the pass stood', () => {
    const rotation = new RelayRotation(['a', 'b', 'c']);
    rotation.failed();
    rotation.failed();
    rotation.restart();
    assert.equal(rotation.current, 'a');
  });

  it('a dropped relay leaves the list: the pass goes on with the one after it, and later passes skip it', () => {
    const rotation = new RelayRotation(['a', 'b', 'c']);
    rotation.failed();
    assert.deepEqual([rotation.drop(), rotation.current, rotation.size], ['next', 'c', 2]);
    assert.deepEqual([rotation.failed(), rotation.current], ['pass-over', 'a']);
    assert.deepEqual([rotation.failed(), rotation.current], ['next', 'c']);
    assert.deepEqual([rotation.drop(), rotation.current, rotation.size], ['pass-over', 'a', 1]);
    assert.deepEqual([rotation.drop(), rotation.size], ['none-left', 0]);
    assert.equal(rotation.current, 'a', 'the last one tried, for messages');
    rotation.restart();
    assert.equal(rotation.current, 'a');
  });

  it('is never empty', () => {
    assert.throws(() => new RelayRotation([]), RangeError);
  });
});
