// One-time session tokens, as pure bookkeeping with an injectable clock: a dial issues two
// distinct tokens (one for each peer), each data connection redeems its own, and when both have
// come the two waiting connections are handed back as a pair. A token works once; a token that
// is unknown, used or past its time is refused. No sockets or timers here: the caller closes.

import { randomBytes } from 'node:crypto';
import { TOKEN_BYTES } from '../wire/data-preamble.js';

export type Side = 'dialer' | 'dialed';

export interface IssuedSession<Meta> {
  readonly id: number;
  readonly meta: Meta;
  /** Token for the dialling peer's data connection (hex). */
  readonly dialerToken: string;
  /** Token for the dialled peer's data connection (hex). */
  readonly dialedToken: string;
  readonly expiresAt: number;
}

export type Redemption<Handle, Meta> =
  | { readonly kind: 'refused'; readonly why: string }
  | { readonly kind: 'waiting'; readonly id: number; readonly meta: Meta; readonly side: Side }
  | { readonly kind: 'paired'; readonly id: number; readonly meta: Meta; readonly dialer: Handle; readonly dialed: Handle };

export interface TokenBrokerOptions {
  readonly ttlMs: number;
  /** The current time (the relay's clock); tokens expire by it. */
  readonly now: () => number;
  /** Tests may make tokens predictable; by default 32 random bytes, hex. */
  readonly newToken?: () => string;
}

interface Pending<Handle, Meta> {
  readonly issued: IssuedSession<Meta>;
  /** Tokens not yet presented; a presented one is gone at once, so it can never work twice. */
  readonly unused: Set<string>;
  readonly waiting: Map<Side, Handle>;
}

export class TokenBroker<Handle, Meta> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #newToken: () => string;
  readonly #byToken = new Map<string, { session: Pending<Handle, Meta>; side: Side }>();
  readonly #sessions = new Map<number, Pending<Handle, Meta>>();
  #nextId = 1;

  constructor(options: TokenBrokerOptions) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now;
    this.#newToken = options.newToken ?? (() => randomBytes(TOKEN_BYTES).toString('hex'));
  }

  /** Sessions issued and not yet paired, expired or cancelled. */
  get pending(): number {
    return this.#sessions.size;
  }

  issue(meta: Meta): IssuedSession<Meta> {
    const dialerToken = this.#freshToken();
    let dialedToken = this.#freshToken();
    while (dialedToken === dialerToken) dialedToken = this.#freshToken();
    const issued: IssuedSession<Meta> = {
      id: this.#nextId++,
      meta,
      dialerToken,
      dialedToken,
      expiresAt: this.#now() + this.#ttlMs,
    };
    const session: Pending<Handle, Meta> = { issued, unused: new Set([dialerToken, dialedToken]), waiting: new Map() };
    this.#sessions.set(issued.id, session);
    this.#byToken.set(dialerToken, { session, side: 'dialer' });
    this.#byToken.set(dialedToken, { session, side: 'dialed' });
    return issued;
  }

  /** A data connection presents `token`; `handle` is what to hand back once its peer is here. */
  redeem(token: string, handle: Handle): Redemption<Handle, Meta> {
    const entry = this.#byToken.get(token);
    if (!entry) return { kind: 'refused', why: 'unknown, expired or already used token' };
    const { session, side } = entry;
    this.#byToken.delete(token);
    session.unused.delete(token);
    // The session itself stays until cancel(): whoever is waiting in it is the caller's to close.
    if (this.#now() >= session.issued.expiresAt) return { kind: 'refused', why: 'expired token' };
    session.waiting.set(side, handle);
    const dialer = session.waiting.get('dialer');
    const dialed = session.waiting.get('dialed');
    const { id, meta } = session.issued;
    if (dialer === undefined || dialed === undefined) return { kind: 'waiting', id, meta, side };
    this.#drop(session);
    return { kind: 'paired', id, meta, dialer, dialed };
  }

  /** The sessions whose `side` has not presented its token yet, each with that token. */
  *awaiting(side: Side): Generator<{ readonly meta: Meta; readonly token: string }> {
    for (const { issued, unused } of this.#sessions.values()) {
      const token = side === 'dialer' ? issued.dialerToken : issued.dialedToken;
      if (unused.has(token)) yield { meta: issued.meta, token };
    }
  }

  /**
   * End a session that was not paired in time (or whose waiting side gave up): its unused token
   * stops working, and the handles still waiting are returned for the caller to close. Undefined
   * when the session is already paired or gone.
   */
  cancel(id: number): { meta: Meta; waiting: { side: Side; handle: Handle }[] } | undefined {
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    this.#drop(session);
    const waiting = [...session.waiting].map(([side, handle]) => ({ side, handle }));
    return { meta: session.issued.meta, waiting };
  }

  /** Cancel every session, e.g. at shutdown; returns each with the handles that were waiting. */
  clear(): { meta: Meta; waiting: { side: Side; handle: Handle }[] }[] {
    return [...this.#sessions.keys()].flatMap((id) => this.cancel(id) ?? []);
  }

  #drop(session: Pending<Handle, Meta>): void {
    for (const token of session.unused) this.#byToken.delete(token);
    session.unused.clear();
    this.#sessions.delete(session.issued.id);
  }

  #freshToken(): string {
    let token = this.#newToken();
    while (this.#byToken.has(token)) token = this.#newToken();
    return token;
  }
}
