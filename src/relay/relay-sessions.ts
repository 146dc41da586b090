// Relayed sessions from dial to close: a dial is given two one-time tokens (if there is room in
// all and in the dialler's share, session-quota.ts), each data connection that presents one waits
// for its counterpart, and the pair is spliced.
// Sessions whose connections do not both arrive within the token lifetime are ended, and the
// one that did come is closed. This is where the relay's session timers live.

import type { Clock, Timer } from '../clock.js';
import type { ByteStream } from '../net/byte-stream.js';
import type { PeerRef } from '../session/message-fields.js';
import type { RelayEvent } from './relay-events.js';
import { SessionQuota, type Dialler, type QuotaTicket, type SessionQuotaLimits } from './session-quota.js';
import { Splice } from './splice.js';
import { TokenBroker, type Side } from './token-broker.js';

export interface RelaySessionsOptions extends SessionQuotaLimits {
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
  /** The dialler's share of the sessions, held until the session is over. */
  readonly ticket: QuotaTicket;
  timer?: Timer;
}

export type DialAnswer =
  | { readonly ok: true; readonly dialerToken: string; readonly dialedToken: string }
  | { readonly ok: false; readonly code: 'ERR_RELAY_FULL'; readonly message: string };

export class RelaySessions {
  readonly #options: RelaySessionsOptions;
  readonly #broker: TokenBroker<ByteStream, Meta>;
  readonly #splices = new Set<Splice>();
  readonly #quota: SessionQuota;
  /** Data connections presented and waiting for their counterpart, with their session id. */
  readonly #waiting = new Map<ByteStream, number>();
  #closedBytes = 0;

  constructor(options: RelaySessionsOptions) {
    this.#options = options;
    this.#quota = new SessionQuota(options);
    this.#broker = new TokenBroker({ ttlMs: options.tokenTtlMs, now: () => options.clock.now() });
  }

  /** Sessions open or waiting for their data connections. */
  get count(): number {
    return this.#broker.pending + this.#splices.size;
  }

  /** Bytes forwarded since start, open sessions included. */
  get bytes(): number {
    let live = 0;
    for (const splice of this.#splices) live += splice.bytes;
    return this.#closedBytes + live;
  }

  /** `a` (dialling as `dialler`: its proven key and its address) wants a session with `b`. */
  dial(a: PeerRef, b: PeerRef, dialler: Dialler): DialAnswer {
    const { maxSessions, tokenTtlMs } = this.#options;
    if (this.count >= maxSessions) {
      return { ok: false, code: 'ERR_RELAY_FULL', message: `the relay is full (${maxSessions} sessions open); try later` };
    }
    const counted = { ...dialler, target: b.fingerprint };
    const refusal = this.#quota.refuse(counted);
    if (refusal !== undefined) return { ok: false, code: 'ERR_RELAY_FULL', message: refusal };
    const meta: Meta = { a, b, ticket: this.#quota.reserve(counted) };
    const issued = this.#broker.issue(meta);
    meta.timer = this.#options.clock.setTimeout(() => this.#expire(issued.id), tokenTtlMs);
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
    if (result.kind === 'waiting') {
      this.#waiting.set(stream, result.id);
      stream.once('close', () => this.#abandon(stream, result.side));
      return undefined;
    }
    const { meta, dialer, dialed, id } = result;
    this.#options.clock.clearTimeout(meta.timer);
    this.#quota.opened(meta.ticket);
    this.#waiting.delete(dialer);
    this.#waiting.delete(dialed);
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
    return undefined;
  }

  /** End everything: pending sessions are cancelled, spliced ones ended with `reason`. */
  stop(reason: string): void {
    for (const { meta, waiting } of this.#broker.clear()) {
      this.#settle(meta);
      for (const { handle } of waiting) handle.destroy();
    }
    for (const splice of this.#splices) splice.close(reason);
  }

  #expire(id: number): void {
    const cancelled = this.#broker.cancel(id);
    if (!cancelled) return;
    const { meta, waiting } = cancelled;
    this.#settle(meta);
    const came = waiting[0]?.side;
    const missing = came === undefined ? 'neither peer connected' : `${came === 'dialer' ? meta.b.name : meta.a.name} did not connect`;
    for (const { handle } of waiting) {
      this.#waiting.delete(handle);
      handle.destroy();
    }
    this.#options.emit({ type: 'session-closed', id, a: meta.a, b: meta.b, bytes: 0, reason: `expired: ${missing} in time` });
  }

  /** A waiting data connection closed before its counterpart came: the session is off. */
  #abandon(stream: ByteStream, side: Side): void {
    const id = this.#waiting.get(stream);
    if (id === undefined) return; // spliced meanwhile, or already expired
    this.#waiting.delete(stream);
    const cancelled = this.#broker.cancel(id);
    if (!cancelled) return;
    this.#settle(cancelled.meta);
    const who = side === 'dialer' ? cancelled.meta.a : cancelled.meta.b;
    this.#options.emit({
      type: 'session-closed',
      id,
      a: cancelled.meta.a,
      b: cancelled.meta.b,
      bytes: 0,
      reason: `abandoned: ${who.name} closed its data connection first`,
    });
  }

  /** A session that never opened is over: free its timer and its dialler's share. */
  #settle(meta: Meta): void {
    this.#options.clock.clearTimeout(meta.timer);
    this.#quota.release(meta.ticket);
  }
}
