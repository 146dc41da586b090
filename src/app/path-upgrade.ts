// Moving relayed conversations to a direct path (hole punching, coordinated over the relayed
// session in the spirit of libp2p's DCUtR). The dialler of a relayed conversation offers where it
// may be reached, the listener answers with its own candidates, and the dialler, having measured
// the round trip, says `path-sync` and waits half of it: both then start at once, the listener
// opening its NAT's mappings toward the dialler (UDP punches, a TCP simultaneous open) while the
// dialler dials every candidate. The first path to show the peer's key takes the conversation
// over (Resumption's move); the others are abandoned before they join. Tries are bounded: a few
// at once, then a few more far apart, while the conversation stays relayed.

import type { Timer } from '../clock.js';
import { P2PChatError } from '../errors.js';
import type { ByteStream } from '../net/byte-stream.js';
import { formatHostPort } from '../net/address.js';
import type { PathCandidate, PathMessage } from '../session/path-messages.js';
import { UPGRADE_FEATURE } from '../session/path-messages.js';
import type { AppEvent } from './app-events.js';
import type { ChatNode } from './chat-node.js';
import type { RoomPeer } from './room.js';

/** What a try needs of the machine: our candidates, and the sockets that reach the peer's. */
export interface PathTools {
  /** Where we may be reached now (observed endpoints first, then our own addresses). */
  candidates(): PathCandidate[];
  /** Dialler: a stream to one of the peer's candidates, or a coded failure. */
  dial(candidate: PathCandidate, timeoutMs: number): Promise<ByteStream>;
  /**
   * Listener: open our side toward one of the dialler's candidates, punch datagrams for `udp`, a
   * simultaneous open for `tcp-open` (whose stream comes to `onStream`); nothing for `tcp`.
   */
  open(candidate: PathCandidate, timeoutMs: number, onStream: (stream: ByteStream) => void): void;
}

export interface PathUpgradeOptions {
  readonly node: ChatNode;
  readonly tools: PathTools;
  /**
   * Whether a conversation may leave the relay; by default every one whose route is not pinned
   * (a --relay-only connect pins it, connect-strategy.ts).
   */
  readonly allowed?: (peer: RoomPeer) => boolean;
  readonly emit: (event: AppEvent) => void;
}

/** The dialler's tries for one relayed stretch of a conversation. */
interface Tries {
  /** Tries made so far. */
  made: number;
  timer: Timer | undefined;
  /** The try in progress: its number, when its offer went, and its deadline. */
  current?: { readonly attempt: number; readonly sentAt: number; readonly deadline: Timer; answered: boolean };
}

/** The listener's answer to the dialler's latest offer. */
interface Answered {
  readonly attempt: number;
  readonly candidates: readonly PathCandidate[];
  readonly until: number;
  started: boolean;
}

/** UDP's head start over TCP in a try: this many measured round trips, and at least the minimum. */
const UDP_HEAD_START_RTTS = 3;
const UDP_HEAD_START_MIN_MS = 250;
/** The least time a try's dials get, however long its offer took to be answered. */
const MIN_DIAL_MS = 1_000;

/** Least time between two offers a listener answers from one peer (a dialler's tries are seconds apart). */
const MIN_OFFER_GAP_MS = 1_000;
/** Of a dialler's candidates, the listener opens toward at most this many of each kind. */
const MAX_OPENS: Readonly<Record<PathCandidate['kind'], number>> = Object.freeze({ udp: 4, tcp: 0, 'tcp-open': 2 });

/** The candidates a listener opens toward: within MAX_OPENS of each kind, in the dialler's order. */
function opened(candidates: readonly PathCandidate[]): PathCandidate[] {
  const taken = { udp: 0, tcp: 0, 'tcp-open': 0 };
  return candidates.filter((c) => taken[c.kind]++ < MAX_OPENS[c.kind]);
}

export class PathUpgrade {
  readonly #options: PathUpgradeOptions;
  readonly #tries = new Map<RoomPeer, Tries>();
  readonly #answered = new WeakMap<RoomPeer, Answered>();
  /** Listener: when we answered each peer's recent offers. */
  readonly #offerTimes = new WeakMap<RoomPeer, number[]>();
  /** The last try number used with each peer: numbers are never reused within a conversation. */
  readonly #attempts = new WeakMap<RoomPeer, number>();
  #stopped = false;

  constructor(options: PathUpgradeOptions) {
    this.#options = options;
  }

  /**
   * A conversation came up (joined, resumed or moved). One we dialled that runs through the relay,
   * with a peer that takes part, starts its tries; any other stops them.
   */
  joined(peer: RoomPeer): void {
    this.#cancel(peer);
    if (this.#stopped || !this.#eligible(peer)) return;
    const tries: Tries = { made: 0, timer: undefined };
    this.#tries.set(peer, tries);
    this.#attempt(peer, tries);
  }

  /** A path message from a member of the room. */
  receive(peer: RoomPeer, message: PathMessage): void {
    if (this.#stopped || !peer.connection.speaks(UPGRADE_FEATURE)) return;
    if (message.type === 'path-offer') {
      if (peer.direction === 'outgoing') this.#answeredOffer(peer, message.attempt, message.candidates);
      else this.#offered(peer, message.attempt, message.candidates);
    } else if (peer.direction === 'incoming') {
      this.#synced(peer, message.attempt);
    }
  }

  /** No more tries (the node is quitting). */
  stop(): void {
    this.#stopped = true;
    for (const peer of [...this.#tries.keys()]) this.#cancel(peer);
  }

  #eligible(peer: RoomPeer): boolean {
    return (
      peer.direction === 'outgoing' &&
      peer.route.path === 'relayed' &&
      !peer.route.pinned &&
      !peer.session.detached &&
      peer.connection.speaks(UPGRADE_FEATURE) &&
      (this.#options.allowed?.(peer) ?? true)
    );
  }

  #cancel(peer: RoomPeer): void {
    const tries = this.#tries.get(peer);
    if (!tries) return;
    this.#tries.delete(peer);
    const clock = this.#options.node.clock;
    clock.clearTimeout(tries.timer);
    clock.clearTimeout(tries.current?.deadline);
    // Dials of the try still under way find it gone at the gate: they move nothing.
    delete tries.current;
  }

  /** Dialler: offer our candidates for try number `made + 1`. */
  #attempt(peer: RoomPeer, tries: Tries): void {
    if (this.#tries.get(peer) !== tries) return;
    if (!this.#eligible(peer)) {
      this.#cancel(peer);
      return;
    }
    const { clock, timing } = this.#options.node;
    tries.made++;
    const attempt = (this.#attempts.get(peer) ?? 0) + 1;
    this.#attempts.set(peer, attempt);
    const deadline = clock.setTimeout(() => this.#failed(peer, tries, 'the peer did not answer in time'), timing.upgradeAttemptMs);
    deadline.unref();
    tries.current = { attempt, sentAt: clock.now(), deadline, answered: false };
    peer.connection.send({ type: 'path-offer', attempt, candidates: this.#options.tools.candidates() });
  }

  /** Dialler: the listener answered our offer: say when, wait half the round trip, and dial. */
  #answeredOffer(peer: RoomPeer, attempt: number, candidates: readonly PathCandidate[]): void {
    const tries = this.#tries.get(peer);
    const current = tries?.current;
    if (!tries || !current || current.attempt !== attempt || current.answered) return;
    current.answered = true;
    const { clock } = this.#options.node;
    // From here the dials' own deadlines end the try, each with its reason.
    clock.clearTimeout(current.deadline);
    const rtt = clock.now() - current.sentAt;
    peer.connection.send({ type: 'path-sync', attempt });
    if (candidates.length === 0) {
      this.#failed(peer, tries, 'the peer has no direct candidates');
      return;
    }
    clock.setTimeout(() => this.#race(peer, tries, attempt, candidates, rtt), Math.round(rtt / 2)).unref();
  }

  /**
   * Dialler: dial every candidate at once; the first to show the peer's key takes the conversation.
   * UDP goes first: a TCP connection that opens is held (its handshake not begun) until every UDP
   * dial has settled or UDP's head start is over, since the udx rendezvous costs a round trip more
   * than a TCP connect and would otherwise lose every race it should win.
   */
  #race(peer: RoomPeer, tries: Tries, attempt: number, candidates: readonly PathCandidate[], rttMs: number): void {
    if (tries.current?.attempt !== attempt || this.#tries.get(peer) !== tries) return;
    const { node, tools } = this.#options;
    let decided = false;
    let pending = candidates.length;
    const failures: string[] = [];
    const gate = () => !decided && tries.current?.attempt === attempt && (decided = true);
    // What is left of the try's time, for the dials.
    const timeoutMs = Math.max(MIN_DIAL_MS, node.timing.upgradeAttemptMs - (node.clock.now() - (tries.current?.sentAt ?? 0)));
    let udpPending = candidates.filter((c) => c.kind === 'udp').length;
    let releaseTcp = () => {};
    const tcpMayGo = new Promise<void>((resolve) => (releaseTcp = resolve));
    if (udpPending === 0) releaseTcp();
    const headStart = node.clock.setTimeout(() => releaseTcp(), Math.max(UDP_HEAD_START_MIN_MS, UDP_HEAD_START_RTTS * rttMs));
    headStart.unref();
    const settled = (candidate: PathCandidate) => {
      if (candidate.kind === 'udp' && --udpPending === 0) releaseTcp();
      return --pending === 0 && tries.current?.attempt === attempt;
    };
    for (const candidate of candidates) {
      tools
        .dial(candidate, timeoutMs)
        .then(async (stream) => {
          if (candidate.kind !== 'udp') await tcpMayGo;
          return node.moveOver(stream, { path: 'direct' }, peer, gate);
        })
        .then(
          () => {
            settled(candidate);
            this.#succeeded(peer, tries);
          },
          (err: unknown) => {
            const error = P2PChatError.from(err, 'ERR_CONNECT_FAILED');
            if (error.code !== 'ERR_HANDSHAKE_ABANDONED') failures.push(`${candidate.kind} ${formatHostPort(candidate.host, candidate.port)}: ${error.message}`);
            if (settled(candidate)) {
              node.clock.clearTimeout(headStart);
              this.#failed(peer, tries, failures.join('; ') || 'no path answered');
            }
          },
        );
    }
  }

  #succeeded(peer: RoomPeer, tries: Tries): void {
    if (this.#tries.get(peer) === tries) this.#cancel(peer);
  }

  /** Dialler: a try failed: the next one is scheduled, or we stay relayed for good. */
  #failed(peer: RoomPeer, tries: Tries, why: string): void {
    if (this.#tries.get(peer) !== tries || !tries.current) return;
    const { clock, timing } = this.#options.node;
    const { attempt, sentAt } = tries.current;
    clock.clearTimeout(tries.current.deadline);
    delete tries.current;
    const early = tries.made < timing.upgradeEarlyTries;
    const more = early || tries.made < timing.upgradeEarlyTries + timing.upgradeLaterTries;
    // Tries start that far apart, however long each took.
    const retryInMs = Math.max(0, (early ? timing.upgradeRetryMs : timing.upgradeIntervalMs) - (clock.now() - sentAt));
    this.#options.emit({
      type: 'upgrade',
      peer: peer.name,
      fingerprint: peer.fingerprint,
      attempt,
      tries: tries.made,
      message: why,
      ...(more ? { retryInMs } : {}),
    });
    if (!more) {
      this.#cancel(peer);
      return;
    }
    tries.timer = clock.setTimeout(() => this.#attempt(peer, tries), retryInMs);
    tries.timer.unref();
  }

  /** Listener: the dialler offers a try: answer with our candidates and wait for its sync. */
  #offered(peer: RoomPeer, attempt: number, candidates: readonly PathCandidate[]): void {
    const { clock, timing } = this.#options.node;
    // Only a conversation that runs through a relay has anything to gain.
    if (peer.route.path !== 'relayed') return;
    const last = this.#answered.get(peer);
    const now = clock.now();
    // A dialler's tries are seconds apart and numbered upwards: anything else is not answered.
    if (last && (attempt <= last.attempt || now - (last.until - timing.upgradeAttemptMs) < MIN_OFFER_GAP_MS)) return;
    // Each try we answer sends packets where the peer says: a peer cannot make us a scanner. A
    // dialler's round of tries, and one more, fits in the time between its later tries.
    const recent = (this.#offerTimes.get(peer) ?? []).filter((at) => now - at < timing.upgradeIntervalMs);
    if (recent.length > timing.upgradeEarlyTries) return;
    this.#offerTimes.set(peer, [...recent, now]);
    this.#answered.set(peer, { attempt, candidates: opened(candidates), until: now + timing.upgradeAttemptMs, started: false });
    peer.connection.send({ type: 'path-offer', attempt, candidates: this.#options.tools.candidates() });
  }

  /** Listener: the dialler starts now: open our mappings toward it, once per try. */
  #synced(peer: RoomPeer, attempt: number): void {
    const answered = this.#answered.get(peer);
    const { node, tools } = this.#options;
    const now = node.clock.now();
    if (!answered || answered.attempt !== attempt || answered.started || now >= answered.until) return;
    answered.started = true;
    for (const candidate of answered.candidates) {
      tools.open(candidate, answered.until - now, (stream) => node.acceptOver(stream, { path: 'direct' }));
    }
  }
}
