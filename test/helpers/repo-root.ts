// Tests run compiled from dist/test/...; fixtures and the CLI are found from the repository root.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

export const REPO_ROOT = findRoot();
export const CLI_PATH = join(REPO_ROOT, 'bin', 'p2p-chat.js');
