// The heap trim threshold: what each kind of process raises it to, and that nothing is done
// without glibc. That it keeps the faults away is measured on real processes
// (integration/relay-heap-trim.test.ts, integration/peer-heap-trim.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PEER_HEAP_TRIM_BLOCK_BYTES, RELAY_HEAP_TRIM_BLOCK_BYTES, raiseHeapTrimThreshold } from '../../src/heap-trim-threshold.js';

const MiB = 1024 * 1024;

describe('raiseHeapTrimThreshold', () => {
  it("blocks just under glibc's 32 MiB cap for the relay, half that for a chat process", () => {
    assert.ok(RELAY_HEAP_TRIM_BLOCK_BYTES < 32 * MiB && RELAY_HEAP_TRIM_BLOCK_BYTES > 31 * MiB);
    assert.ok(PEER_HEAP_TRIM_BLOCK_BYTES < 16 * MiB && PEER_HEAP_TRIM_BLOCK_BYTES > 15 * MiB);
  });

  it('does nothing without glibc, and says so', () => {
    assert.equal(raiseHeapTrimThreshold(PEER_HEAP_TRIM_BLOCK_BYTES, null), false);
    assert.equal(raiseHeapTrimThreshold(PEER_HEAP_TRIM_BLOCK_BYTES, '2.36'), true);
  });
});
