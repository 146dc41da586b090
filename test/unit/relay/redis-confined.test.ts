// Redis is the relay cluster's business: only src/relay/ may import the `redis` client, so a peer
// (and its bundle's import graph) never depends on a cluster it does not run.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { REPO_ROOT } from '../../helpers/repo-root.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the redis client stays in src/relay/', () => {
  it('no file elsewhere in src/ imports redis or @redis/*', () => {
    const src = join(REPO_ROOT, 'src');
    const importsRedis = /\bfrom\s+['"](redis|@redis\/[^'"]+)['"]|\bimport\(\s*['"](redis|@redis\/[^'"]+)['"]/;
    const outside = sources(src)
      .filter((file) => !relative(src, file).startsWith(`relay${sep}`))
      .filter((file) => importsRedis.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file));
    assert.deepEqual(outside, []);
  });

  it('is loaded only when a relay joins a cluster: no static import of it (loading it costs ~90 ms)', () => {
    const staticImport = /^\s*import\s+(?!type\b)[^;]*\bfrom\s+['"](redis|@redis\/[^'"]+)['"]/m;
    const eager = sources(join(REPO_ROOT, 'src'))
      .filter((file) => staticImport.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file));
    assert.deepEqual(eager, []);
  });
});
