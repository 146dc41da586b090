// Temporary p2p-chat homes for benchmark peers: each gets its identity key created up front, so
// key generation and the first file writes stay outside every timed region. All are removed at the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateIdentity, type Identity } from '../src/secure/identity-store.js';

export interface BenchHome {
  readonly dir: string;
  readonly identity: Identity;
}

export class TempHomes {
  readonly #dirs: string[] = [];

  create(label: string): BenchHome {
    const dir = mkdtempSync(join(tmpdir(), `p2p-chat-bench-${label}-`));
    this.#dirs.push(dir);
    return { dir, identity: loadOrCreateIdentity(dir) };
  }

  removeAll(): void {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
