// The repository's copy of the shared delay hub (for a clone that is not beside ../shared) stays the
// same as the shared script wherever both exist, so a lab runs the same hub either way.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COPIED_DELAY_HUB, SHARED_DELAY_HUB } from '../helpers/netlab-delay.js';

describe('the delay hub copy', () => {
  it('is byte for byte the shared delay-hub.py when that is beside the repository', (t) => {
    assert.ok(existsSync(COPIED_DELAY_HUB), 'the copy is in the repository');
    if (!existsSync(SHARED_DELAY_HUB)) {
      t.diagnostic(`no ${SHARED_DELAY_HUB} here: the copy is the one used`);
      return;
    }
    assert.ok(readFileSync(COPIED_DELAY_HUB).equals(readFileSync(SHARED_DELAY_HUB)), 'the copy drifted from the shared script');
  });
});
