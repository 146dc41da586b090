// Who is registered at the relay, keyed by the fingerprint each peer proved in its handshake, and
// the lookups peers make: by full fingerprint, fingerprint prefix or nickname. Every lookup is
// indexed (a hash or a binary search) and returns at most `limit` records, so its cost does not
// grow with the number of peers. Pure data: `Owner` is whatever the server uses for the control
// connection a record belongs to.

import { dashed, MIN_FINGERPRINT_PREFIX, normalizeFingerprint } from '../secure/fingerprint.js';
import { MAX_LOOKUP_RESULTS, type RelayRecord } from '../session/relay-messages.js';
import { SortedPrefixIndex } from './sorted-prefix-index.js';

interface Entry<Owner> {
  readonly record: RelayRecord;
  readonly owner: Owner;
}

export class RelayRegistry<Owner> {
  readonly #byFingerprint = new Map<string, Entry<Owner>>();
  /** Lower-cased nickname → fingerprints, so a name lookup does not scan thousands of peers. */
  readonly #byName = new Map<string, Set<string>>();
  /** The fingerprints (dashed, all alike in length), sorted for prefix lookups. */
  readonly #sorted = new SortedPrefixIndex();

  get size(): number {
    return this.#byFingerprint.size;
  }

  /**
   * Record `record` as owned by `owner`, replacing any record of the same fingerprint. Returns the
   * owner it replaced when that was another one (an older connection of the same key, which the
   * caller closes), else undefined.
   */
  register(record: RelayRecord, owner: Owner): Owner | undefined {
    const previous = this.#byFingerprint.get(record.fingerprint);
    if (previous) this.#unindex(previous.record);
    this.#byFingerprint.set(record.fingerprint, { record, owner });
    this.#sorted.add(record.fingerprint);
    const key = nameKey(record.name);
    let set = this.#byName.get(key);
    if (!set) this.#byName.set(key, (set = new Set()));
    set.add(record.fingerprint);
    return previous && previous.owner !== owner ? previous.owner : undefined;
  }

  /**
   * Remove the record of `fingerprint` if `owner` still owns it (a connection replaced by a newer
   * registration must not take the newer record with it when it closes). Returns the removed record.
   */
  unregister(fingerprint: string, owner: Owner): RelayRecord | undefined {
    const entry = this.#byFingerprint.get(fingerprint);
    if (!entry || entry.owner !== owner) return undefined;
    this.#byFingerprint.delete(fingerprint);
    this.#sorted.delete(fingerprint);
    this.#unindex(entry.record);
    return entry.record;
  }

  get(fingerprint: string): RelayRecord | undefined {
    return this.#byFingerprint.get(fingerprint)?.record;
  }

  ownerOf(fingerprint: string): Owner | undefined {
    return this.#byFingerprint.get(fingerprint)?.owner;
  }

  /**
   * Registered peers matching `query`: a full fingerprint (any case, with or without dashes)
   * matches exactly; otherwise a nickname (case-insensitive, exact) and a fingerprint prefix of at
   * least MIN_FINGERPRINT_PREFIX (4) characters both count. Several matches are all returned (up
   * to `limit`): telling an ambiguous name apart is the asker's business.
   */
  lookup(query: string, limit: number = MAX_LOOKUP_RESULTS): RelayRecord[] {
    const trimmed = query.trim();
    let full: string | undefined;
    try {
      full = normalizeFingerprint(trimmed);
    } catch {
      full = undefined;
    }
    if (full !== undefined) {
      const record = this.get(full);
      return record ? [record] : [];
    }
    const found = new Map<string, RelayRecord>();
    for (const fp of this.#byName.get(nameKey(trimmed)) ?? []) {
      if (found.size >= limit) break;
      const record = this.get(fp);
      if (record) found.set(fp, record);
    }
    // The same rule as fingerprintMatches(): the dashed form of a compact prefix is a prefix of
    // the dashed fingerprint exactly when the compact one is (dashes sit at the same places).
    const prefix = compact(trimmed);
    if (prefix.length >= MIN_FINGERPRINT_PREFIX && /^[A-Z2-7]+$/.test(prefix)) {
      for (const fp of this.#sorted.withPrefix(dashed(prefix), limit)) {
        if (found.size >= limit) break;
        const record = this.get(fp);
        if (record) found.set(fp, record);
      }
    }
    return [...found.values()];
  }

  #unindex(record: RelayRecord): void {
    const key = nameKey(record.name);
    const set = this.#byName.get(key);
    set?.delete(record.fingerprint);
    if (set?.size === 0) this.#byName.delete(key);
  }
}

function compact(fingerprint: string): string {
  return fingerprint.replace(/[\s-]+/g, '').toUpperCase();
}

function nameKey(name: string): string {
  return name.trim().toLowerCase();
}
