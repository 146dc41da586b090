// Relayed sessions from dial to close: a dial is given two one-time tokens (if there is room in
// all, in the dialler's share, session-quota.ts, and in the dialled peer's invitations, shared out
// by invite-shares.ts), each data connection that presents one waits for its counterpart, and the
// pair is spliced.
// Sessions whose connections do not both arrive within the token lifetime are ended, and the
// one that did come is closed. This is where the relay's session timers live.
// A dial may carry the dialler's first flight (its first bytes on the session): passed in the
// invite to a peer that takes it, whose answer (its own first bytes) is written to the dialler's
// data connection as soon as both are here, before the splice; otherwise put in front of what the
// dialler's data connection sends, as if it had sent it there.

import type { Clock, Timer } from '../clock.js';
import type { ByteStream } from '../net/byte-stream.js';
import type { PeerRef } from '../session/message-fields.js';
import { InviteShares, type Invitation, type InviteOutcome, type InviteShareLimits } from './invite-shares.js';
import type { RelayEvent } from './relay-events.js';
import { SessionQuota, type Dialler, type QuotaTicket, type SessionQuotaLimits } from './session-quota.js';
import { Splice } from './splice.js';
import { TokenBroker, type Side } from './token-broker.js';

export interface RelaySessionsOptions extends SessionQuotaLimits, InviteShareLimits {
  readonly tokenTtlMs: number;
  readonly maxSessions: number;
  readonly sessionRateBytesPerSec: number;
  readonly sessionByteCap: number;
  readonly sessionIdleTimeoutMs: number;
  readonly byeGraceMs: number;
  readonly emit: (event: RelayEvent) => void;
  /** Token lifetimes and the splices' throttling, idle and grace timers. */
  readonly clock: Clock;
}

interface Meta {
  readonly a: PeerRef;
  readonly b: PeerRef;
  /** The dialler's first flight, to go in front of its data connection's bytes (b did not take it). */
  prefix?: Buffer;
  /** The dialler's first flight, sent in b's invite (b takes it). */
  readonly flight?: Buffer;
  /** b took the dialler's first flight in its invite: its answer is due, then held here. */
  answer?: 'due' | Buffer;
  /** b's token while its answer is due (#answers' key). */
  answerToken?: string;
  /** The dialler's data connection, once it came (it is written b's answer). */
  dialer?: ByteStream;
  /** Both data connections came before b's answer: they wait for it. */
  paired?: { readonly id: number; readonly dialer: ByteStream; readonly dialed: ByteStream };
  /** The dialler's share of the sessions, held until the session is over. */
  readonly ticket: QuotaTicket;
  /** Its slot among the sessions waiting to reach b, held until it opens or is over. */
  invitation?: Invitation;
  timer?: Timer;
}

/** A dial's first flight, and whether the dialled peer is sent it (it lists `early`). */
export interface EarlyFlight {
  readonly bytes: Buffer;
  readonly invited: boolean;
}

export type DialAnswer =
  | { readonly ok: true; readonly dialerToken: string; readonly dialedToken: string }
  | { readonly ok: false; readonly code: 'ERR_RELAY_FULL'; readonly message: string };

export class RelaySessions {
  readonly #options: RelaySessionsOptions;
  readonly #broker: TokenBroker<ByteStream, Meta>;
  readonly #splices = new Set<Splice>();
  readonly #quota: SessionQuota;
  readonly #shares: InviteShares;
  /** Data connections presented and waiting for their counterpart, with their session id. */
  readonly #waiting = new Map<ByteStream, number>();
  /** Sessions whose dialled peer's answer is due, by its token (its data connection uses it up). */
  readonly #answers = new Map<string, Meta>();
  /** Sessions whose two data connections are here, waiting for that answer (no longer the broker's), by id. */
  readonly #paired = new Map<number, Meta>();
  #closedBytes = 0;

  constructor(options: RelaySessionsOptions) {
    this.#options = options;
    this.#quota = new SessionQuota(options);
    this.#shares = new InviteShares(options);
    this.#broker = new TokenBroker({ ttlMs: options.tokenTtlMs, now: () => options.clock.now() });
  }

  /** Sessions open, or waiting for their data connections or for the dialled peer's answer. */
  get count(): number {
    return this.#broker.pending + this.#paired.size + this.#splices.size;
  }

  /** Bytes forwarded since start, open sessions included. */
  get bytes(): number {
    let live = 0;
    for (const splice of this.#splices) live += splice.bytes;
    return this.#closedBytes + live;
  }

  /** `a` (dialling as `dialler`: its proven key and its address) wants a session with `b`. */
  dial(a: PeerRef, b: PeerRef, dialler: Dialler, early?: EarlyFlight): DialAnswer {
    const { maxSessions, tokenTtlMs, clock } = this.#options;
    if (this.count >= maxSessions) {
      return { ok: false, code: 'ERR_RELAY_FULL', message: `the relay is full (${maxSessions} sessions open); try later` };
    }
    const refusal = this.#quota.refuse(dialler);
    if (refusal !== undefined) return { ok: false, code: 'ERR_RELAY_FULL', message: refusal };
    const share = this.#shares.admit(dialler, b.fingerprint, clock.now());
    if (!share.ok) return { ok: false, code: 'ERR_RELAY_FULL', message: share.why };
    if (share.evict) this.#evict(share.evict.id);
    const meta: Meta = {
      a,
      b,
      ticket: this.#quota.reserve(dialler),
      ...(early && !early.invited ? { prefix: early.bytes } : {}),
      ...(early?.invited ? { answer: 'due' as const, flight: early.bytes } : {}),
    };
    const issued = this.#broker.issue(meta);
    if (meta.answer === 'due') {
      meta.answerToken = issued.dialedToken;
      this.#answers.set(issued.dialedToken, meta);
    }
    meta.invitation = this.#shares.hold(dialler, b.fingerprint, issued.id);
    // The dialler came and waits: a dialled peer that never answers is not the dialler's doing.
    const expire = () => (meta.paired ? this.#endPaired(meta, `expired: ${b.name} sent no answer in time`, 'cancelled') : this.#expire(issued.id));
    meta.timer = this.#options.clock.setTimeout(expire, tokenTtlMs);
    meta.timer.unref();
    return { ok: true, dialerToken: issued.dialerToken, dialedToken: issued.dialedToken };
  }

  /**
   * A data connection presented `token`; `stream` is paused with any bytes after the token put
   * back. Returns why it is refused (the caller reports and closes it), or undefined when it now
   * waits for its counterpart or has been spliced to it.
   */
  attach(token: string, stream: ByteStream): string | undefined {
    const result = this.#broker.redeem(token, stream);
    if (result.kind === 'refused') return result.why;
    const dialerCame = result.kind === 'waiting' ? result.side === 'dialer' : result.dialer === stream;
    if (dialerCame) this.#dialerCame(result.meta, stream);
    if (result.kind === 'waiting') {
      this.#waiting.set(stream, result.id);
      stream.once('close', () => this.#abandon(stream, result.side));
      return undefined;
    }
    const { meta, dialer, dialed, id } = result;
    this.#waiting.delete(dialer);
    this.#waiting.delete(dialed);
    if (meta.answer === 'due') {
      // The first flight's answer has not come: both wait for it (the token's lifetime still runs).
      meta.paired = { id, dialer, dialed };
      this.#paired.set(id, meta);
      // As for a session not yet paired: only a dialler that walks away is held against its address.
      const cut = (side: Side) => () => this.#endPaired(meta, 'abandoned: a data connection closed before the answer came', side === 'dialer' ? 'unanswered' : 'cancelled');
      dialer.once('close', cut('dialer'));
      dialed.once('close', cut('dialed'));
      return undefined;
    }
    this.#splice(meta, id, dialer, dialed);
    return undefined;
  }

  /**
   * Invitations to `fingerprint` that it has not taken up yet (no data connection, no answer): to
   * send again when it registers anew, since the first may have gone to a control connection
   * that was already dead (the peer moved, and only a keepalive would have told).
   */
  invitesFor(fingerprint: string): { readonly token: string; readonly from: PeerRef; readonly early?: Buffer }[] {
    const invites = [];
    for (const { meta, token } of this.#broker.awaiting('dialed')) {
      if (meta.b.fingerprint !== fingerprint || meta.answer instanceof Buffer) continue;
      invites.push({ token, from: meta.a, ...(meta.flight ? { early: meta.flight } : {}) });
    }
    return invites;
  }

  /**
   * `fingerprint` registered anew from a connection that does not take first flights: the
   * invitation `token` goes to it without one, so the dialler's flight goes in front of the
   * dialler's data connection instead, as for a peer that never took them, and no answer is due.
   */
  flightRefused(token: string): void {
    const meta = this.#answers.get(token);
    if (!meta?.flight || meta.answer !== 'due') return;
    this.#forget(meta);
    meta.answer = undefined;
    meta.prefix = meta.flight;
    // Its data connection may be waiting already (b's has not come: that is why it is invited again).
    meta.dialer?.unshift(meta.flight);
  }

  /**
   * The dialled peer `fingerprint` (proven by its control session) answers the first flight of
   * the session its `token` is for. False when there is no such answer due (expired, already
   * answered, not its session): the caller ignores it.
   */
  answer(token: string, fingerprint: string, bytes: Buffer): boolean {
    const meta = this.#answers.get(token);
    if (!meta || meta.b.fingerprint !== fingerprint || meta.answer !== 'due') return false;
    this.#forget(meta);
    meta.answer = bytes;
    meta.dialer?.write(bytes);
    const paired = meta.paired;
    if (paired) {
      meta.paired = undefined;
      this.#paired.delete(paired.id);
      this.#splice(meta, paired.id, paired.dialer, paired.dialed);
    }
    return true;
  }

  /** The dialler's data connection is here: what goes in front of its bytes, and to it, first. */
  #dialerCame(meta: Meta, stream: ByteStream): void {
    meta.dialer = stream;
    if (meta.prefix) stream.unshift(meta.prefix);
    if (meta.answer instanceof Buffer) stream.write(meta.answer);
  }

  #splice(meta: Meta, id: number, dialer: ByteStream, dialed: ByteStream): void {
    this.#options.clock.clearTimeout(meta.timer);
    meta.dialer = undefined;
    this.#quota.opened(meta.ticket);
    this.#settleInvitation(meta, 'opened');
    const splice = new Splice(dialer, dialed, {
      rateBytesPerSec: this.#options.sessionRateBytesPerSec,
      byteCap: this.#options.sessionByteCap,
      idleTimeoutMs: this.#options.sessionIdleTimeoutMs,
      closeGraceMs: this.#options.byeGraceMs,
      clock: this.#options.clock,
    });
    this.#splices.add(splice);
    splice.once('closed', ({ bytes, reason }) => {
      this.#splices.delete(splice);
      this.#closedBytes += bytes;
      this.#quota.release(meta.ticket);
      this.#options.emit({ type: 'session-closed', id, a: meta.a, b: meta.b, bytes, reason });
    });
    this.#options.emit({ type: 'session-open', id, a: meta.a, b: meta.b });
    splice.start();
  }

  /**
   * Both data connections came and the answer did not (in time, or one of them closed), or the
   * session was evicted: end both. `outcome`: how its invitation counts.
   */
  #endPaired(meta: Meta, reason: string, outcome: InviteOutcome): void {
    const paired = meta.paired;
    if (!paired) return;
    meta.paired = undefined;
    this.#paired.delete(paired.id);
    this.#forget(meta);
    this.#settle(meta, outcome);
    paired.dialer.destroy();
    paired.dialed.destroy();
    this.#options.emit({ type: 'session-closed', id: paired.id, a: meta.a, b: meta.b, bytes: 0, reason });
  }

  /** The session is over before its answer came: a late answer finds nothing. */
  #forget(meta: Meta): void {
    if (meta.answerToken !== undefined) this.#answers.delete(meta.answerToken);
  }

  /** End everything: pending sessions are cancelled, spliced ones ended with `reason`. */
  stop(reason: string): void {
    for (const meta of new Set(this.#answers.values())) this.#endPaired(meta, reason, 'cancelled');
    this.#answers.clear();
    for (const { meta, waiting } of this.#broker.clear()) {
      this.#settle(meta, 'cancelled');
      for (const { handle } of waiting) handle.destroy();
    }
    for (const splice of this.#splices) splice.close(reason);
  }

  #expire(id: number): void {
    // Only a dialler that never came left its invitation unanswered: a dialled peer that did not
    // come is not the dialler's doing.
    const ended = this.#end(id, (came) => (came === 'dialer' ? 'cancelled' : 'unanswered'));
    if (!ended) return;
    const { meta, came } = ended;
    const missing = came === undefined ? 'neither peer connected' : `${came === 'dialer' ? meta.b.name : meta.a.name} did not connect`;
    this.#options.emit({ type: 'session-closed', id, a: meta.a, b: meta.b, bytes: 0, reason: `expired: ${missing} in time` });
  }

  /** A waiting data connection closed before its counterpart came: the session is off. */
  #abandon(stream: ByteStream, side: Side): void {
    const id = this.#waiting.get(stream);
    if (id === undefined) return; // spliced meanwhile, or already expired
    this.#waiting.delete(stream);
    const ended = this.#end(id, () => (side === 'dialer' ? 'unanswered' : 'cancelled'));
    if (!ended) return;
    const { a, b } = ended.meta;
    const reason = `abandoned: ${(side === 'dialer' ? a : b).name} closed its data connection first`;
    this.#options.emit({ type: 'session-closed', id, a, b, bytes: 0, reason });
  }

  /**
   * A pending session (one waiting for b's answer too: it holds its slot until then) gives its
   * slot at b to a dialler holding fewer of b's slots (invite-shares.ts): it ends as if expired,
   * but counts against nobody.
   */
  #evict(id: number): void {
    const why = (b: PeerRef) => `evicted: ${b.name} had no invitation slot left, and another dialler held fewer of them`;
    const paired = this.#paired.get(id);
    if (paired) {
      this.#endPaired(paired, why(paired.b), 'cancelled');
      return;
    }
    const ended = this.#end(id, () => 'cancelled');
    if (!ended) return;
    const { a, b } = ended.meta;
    this.#options.emit({ type: 'session-closed', id, a, b, bytes: 0, reason: why(b) });
  }

  /**
   * End session `id` before it opened, closing whatever data connection came for it; `outcome`
   * says, from the side that came (if one did), how its invitation counts. Undefined when it is
   * already paired or gone.
   */
  #end(id: number, outcome: (came: Side | undefined) => InviteOutcome): { meta: Meta; came: Side | undefined } | undefined {
    const cancelled = this.#broker.cancel(id);
    if (!cancelled) return undefined;
    const { meta, waiting } = cancelled;
    this.#forget(meta);
    const came = waiting[0]?.side;
    this.#settle(meta, outcome(came));
    for (const { handle } of waiting) {
      this.#waiting.delete(handle);
      handle.destroy();
    }
    return { meta, came };
  }

  /** A session that never opened is over: free its timer, its dialler's share and its slot at b. */
  #settle(meta: Meta, outcome: InviteOutcome): void {
    this.#options.clock.clearTimeout(meta.timer);
    this.#quota.release(meta.ticket);
    this.#settleInvitation(meta, outcome);
  }

  #settleInvitation(meta: Meta, outcome: InviteOutcome): void {
    if (meta.invitation) this.#shares.settle(meta.invitation, outcome, this.#options.clock.now());
  }
}
