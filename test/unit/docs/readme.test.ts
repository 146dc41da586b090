// The README is the user's reference: it must list every error code a user can see.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../src/errors.js';
import { REPO_ROOT } from '../../helpers/repo-root.js';

describe('README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('documents every error code', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !readme.includes(`| \`${code}\` |`));
    assert.deepEqual(missing, []);
  });

  it('documents no error code that does not exist', () => {
    const listed = [...readme.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(listed.filter((code) => !(code! in ERROR_CODES)), []);
  });
});
