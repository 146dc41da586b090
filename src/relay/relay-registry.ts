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

  /** Every record, in no particular order. */
  *records(): IterableIterator<RelayRecord> {
    for (const entry of this.#byFingerprint.values()) yield entry.record;
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
    const asked = parseLookupQuery(query);
    if ('fingerprint' in asked) {
      const record = this.get(asked.fingerprint);
      return record ? [record] : [];
    }
    const found = new Map<string, RelayRecord>();
    // Iterated, never copied: a nickname thousands of peers share costs only `limit` steps.
    const take = (fingerprints: Iterable<string>): void => {
      for (const fp of fingerprints) {
        if (found.size >= limit) return;
        const record = this.get(fp);
        if (record) found.set(fp, record);
      }
    };
    take(this.#byName.get(asked.name) ?? []);
    if (asked.prefix !== undefined && found.size < limit) take(this.#sorted.withPrefix(asked.prefix, limit));
    return [...found.values()];
  }

  #unindex(record: RelayRecord): void {
    const key = nameKey(record.name);
    const set = this.#byName.get(key);
    set?.delete(record.fingerprint);
    if (set?.size === 0) this.#byName.delete(key);
  }
}

/** What a lookup asks for: one full fingerprint, or a nickname key and perhaps a dashed fingerprint prefix. */
export type LookupQuery = { readonly fingerprint: string } | { readonly name: string; readonly prefix?: string };

/**
 * A full fingerprint (any case, with or without dashes) asks for exactly that peer; anything else
 * is a nickname (case-insensitive, exact) and, when it is at least MIN_FINGERPRINT_PREFIX (4)
 * fingerprint characters, a fingerprint prefix too.
 */
export function parseLookupQuery(query: string): LookupQuery {
  const trimmed = query.trim();
  try {
    return { fingerprint: normalizeFingerprint(trimmed) };
  } catch {
    // not a full fingerprint
  }
  // The same rule as fingerprintMatches(): the dashed form of a compact prefix is a prefix of
  // the dashed fingerprint exactly when the compact one is (dashes sit at the same places).
  const prefix = trimmed.replace(/[\s-]+/g, '').toUpperCase();
  const name = nameKey(trimmed);
  return prefix.length >= MIN_FINGERPRINT_PREFIX && /^[A-Z2-7]+$/.test(prefix) ? { name, prefix: dashed(prefix) } : { name };
}

/** The key a nickname is indexed under: case and surrounding blanks do not count. */
export function nameKey(name: string): string {
  return name.trim().toLowerCase();
}
