// The line /send and `p2p-chat send` print when a directory held symlinks or special files that
// were left out: the count, singular or plural, and where, with the names made safe to print.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { skippedLine } from '../../../src/cli/file-commands.js';

/** The line without picocolors' yellow (on when the test runs on a terminal). */
function plain(line: string | undefined): string | undefined {
  return line?.replace(/\x1b\[3[39]m/g, '');
}

describe('skippedLine', () => {
  it('says nothing when nothing was skipped', () => {
    assert.equal(skippedLine({ files: [], skipped: 0, skippedUnder: [] }), undefined);
  });

  it('counts what was skipped and names the directories it was under', () => {
    assert.equal(plain(skippedLine({ files: [], skipped: 1, skippedUnder: ['photos'] })), 'skipped 1 symlink or special file under photos (not sent)');
    assert.equal(
      plain(skippedLine({ files: [], skipped: 3, skippedUnder: ['photos', '/tmp/notes'] })),
      'skipped 3 symlinks or special files under photos, /tmp/notes (not sent)',
    );
  });

  it('prints a directory name with escape sequences and line breaks made harmless', () => {
    const line = plain(skippedLine({ files: [], skipped: 2, skippedUnder: ['evil\x1b[2Jdir\nnext'] }))!;
    assert.doesNotMatch(line, /[\x1b\n]/);
    assert.match(line, /^skipped 2 symlinks or special files under evil.*dir next \(not sent\)$/);
  });
});
