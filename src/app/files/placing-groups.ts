// The files of one incoming transfer by the group they are placed in, their top-level name (a
// file, or a directory with everything under it): which are verified, with the SHA-256 they
// matched, and which are placed and under what name. A group is placed once every one of its
// files is verified; until then each verified file's running hash is kept, a resume point of the
// whole file should the transfer go on over a new connection.

import type { Hash } from 'node:crypto';
import type { SafeEntry } from '../../session/file-names.js';

/** A group ready to be placed: its top-level name, and its files with their paths below it. */
export interface Group {
  readonly top: string;
  readonly files: readonly { readonly index: number; readonly rest: readonly string[] }[];
}

export class PlacingGroups {
  readonly #entries: readonly SafeEntry[];
  /** The files under each top-level name, and how many of them wait to verify. */
  readonly #groups = new Map<string, number[]>();
  readonly #unverified = new Map<string, number>();
  /** Files that matched, with the SHA-256 they matched (file-verified repeats it to the sender). */
  readonly #verified = new Map<number, string>();
  /** The running hashes of verified files not yet placed. */
  readonly #hashes = new Map<number, Hash>();
  /** Where each placed file is, relative to the download directory. */
  readonly #saved = new Map<number, string>();

  constructor(entries: readonly SafeEntry[]) {
    this.#entries = entries;
    entries.forEach((entry, index) => {
      const top = entry.parts[0]!;
      const group = this.#groups.get(top) ?? [];
      if (group.length === 0) this.#groups.set(top, group);
      group.push(index);
      this.#unverified.set(top, group.length);
    });
  }

  /** The top-level names, in the offer's order. */
  get tops(): string[] {
    return [...this.#groups.keys()];
  }

  isVerified(index: number): boolean {
    return this.#verified.has(index);
  }

  /** The SHA-256 file `index` matched, once verified. */
  sha256(index: number): string | undefined {
    return this.#verified.get(index);
  }

  /**
   * File `index` matched `sha256` (its running hash `hash`, kept until placed): its group, when it
   * was the last of the group to verify. Once per file: a verified file is not started again.
   */
  verify(index: number, sha256: string, hash: Hash): Group | undefined {
    this.#verified.set(index, sha256);
    this.#hashes.set(index, hash);
    const top = this.#entries[index]!.parts[0]!;
    const unverified = this.#unverified.get(top)! - 1;
    this.#unverified.set(top, unverified);
    if (unverified > 0) return undefined;
    return { top, files: this.#groups.get(top)!.map((i) => ({ index: i, rest: this.#entries[i]!.parts.slice(1) })) };
  }

  /** `group` was moved into place under `name`. */
  placed(group: Group, name: string): void {
    for (const { index, rest } of group.files) {
      this.#saved.set(index, [name, ...rest].join('/'));
      this.#hashes.delete(index);
    }
  }

  /** Where file `index` was placed, relative to the download directory, if it was. */
  savedAs(index: number): string | undefined {
    return this.#saved.get(index);
  }

  get allPlaced(): boolean {
    return this.#saved.size === this.#entries.length;
  }

  /** The files placed, each with the SHA-256 it matched. */
  placedFiles(): [index: number, sha256: string][] {
    return [...this.#saved.keys()].map((index) => [index, this.#verified.get(index)!]);
  }

  /**
   * Verified files not yet placed count as unverified again (the transfer goes on over a new
   * connection, where they are checked again); returns each with its running hash, which makes
   * a resume point of the whole file.
   */
  unverifyUnplaced(): [index: number, hash: Hash][] {
    const unplaced = [...this.#hashes];
    for (const [index] of unplaced) {
      this.#verified.delete(index);
      this.#hashes.delete(index);
      const top = this.#entries[index]!.parts[0]!;
      this.#unverified.set(top, this.#unverified.get(top)! + 1);
    }
    return unplaced;
  }
}
