// The heap trim threshold: what each kind of process raises it to, and that raising it costs no
// resident memory. That it keeps the faults away is measured on real processes
// (integration/relay-heap-trim.test.ts, integration/peer-heap-trim.test.ts).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PEER_HEAP_TRIM_BLOCK_BYTES, RELAY_HEAP_TRIM_BLOCK_BYTES, raiseHeapTrimThreshold } from '../../src/heap-trim-threshold.js';

const MiB = 1024 * 1024;

describe('raiseHeapTrimThreshold', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it("blocks just under glibc's 32 MiB cap for the relay, half that for a chat process", () => {
    assert.ok(RELAY_HEAP_TRIM_BLOCK_BYTES < 32 * MiB && RELAY_HEAP_TRIM_BLOCK_BYTES > 31 * MiB);
    assert.ok(PEER_HEAP_TRIM_BLOCK_BYTES < 16 * MiB && PEER_HEAP_TRIM_BLOCK_BYTES > 15 * MiB);
  });

  it('costs no resident memory: the block is never written', () => {
    const rssKiB = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const before = rssKiB();
    raiseHeapTrimThreshold(PEER_HEAP_TRIM_BLOCK_BYTES);
    const grown = rssKiB() - before;
    assert.ok(grown < 1024, `resident memory grew by ${grown} KiB for a block of ${PEER_HEAP_TRIM_BLOCK_BYTES / 1024} KiB`);
  });
});
