// How `connect` reaches a peer: dial the direct candidates one after another, each getting a
// short head start before the next begins (Happy Eyeballs, RFC 8305 in spirit: a hanging IPv6
// dial must not delay IPv4), start the relayed attempt after its own head start or as soon as
// every direct attempt has failed. The first attempt to verify the peer's key (handshake message
// 2) finishes its handshake; the others are abandoned before message 3, so the peer sees one
// session, never a spare one joining and leaving. A hanging direct dial never delays the relay.
// Through a relay that carries first flights, handshake message 1 goes with the dial and the data
// connection opens meanwhile, so that neither waits for the other.

import type { Timer } from '../clock.js';
import { DEFAULTS, type Settings } from '../defaults.js';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort } from '../net/address.js';
import type { TransportKind } from '../net/byte-stream.js';
import { MAX_EARLY_FLIGHT_BYTES } from '../session/relay-messages.js';
import { DeferredStream } from '../net/deferred-stream.js';
import { openDataConnection, presentToken } from '../net/relay-data-connection.js';
import type { PeerSummary } from './app-events.js';
import type { ChatNode, Gate, Route } from './chat-node.js';
import type { DialCandidate } from './dial-plan.js';
import type { PeerDirectory } from './peer-directory.js';
import type { RelayLink } from './relay-link.js';
import { resolveTarget } from './resolve-target.js';

export type PathMode = 'auto' | 'direct-only' | 'relay-only';
/** Which transports a direct dial may use: `auto` races TCP and UDP (TCP first), the others restrict. */
export type TransportMode = 'auto' | 'tcp' | 'udp';
export const TRANSPORT_MODES: readonly TransportMode[] = Object.freeze(['auto', 'tcp', 'udp']);

export interface StrategyInput {
  /** How to name the target in messages. */
  readonly label: string;
  readonly candidates: readonly DialCandidate[];
  /** The key the peer must present; required for a relayed attempt (the relay dials by key). */
  readonly expect?: string;
  readonly relay?: RelayLink;
  readonly mode: PathMode;
  /** Default auto. */
  readonly transport?: TransportMode;
  readonly relayDelayMs?: number;
  readonly timing?: Partial<Settings>;
  /**
   * Asked with the race's gate (handshake message 2, or 1 for IK): false abandons the path before
   * it joins. A reconnect's race is no longer wanted once its suspension is over.
   */
  readonly wanted?: () => boolean;
}

export interface TargetOptions {
  readonly mode: PathMode;
  readonly transport?: TransportMode;
  /** --expect, validated. */
  readonly expect?: string;
  /** LAN discovery, unless --no-mdns. */
  readonly directory?: PeerDirectory;
  readonly relay?: RelayLink;
}

/** Resolve what the user typed (LAN, relay or address) and connect by the fastest path that works. */
export async function connectToTarget(node: ChatNode, target: string, options: TargetOptions): Promise<PeerSummary> {
  const { directory, relay, expect } = options;
  // Looking up, dialling directly and going through the relay all keep the node's settings.
  const timing = node.timing;
  const plan = await resolveTarget(target, {
    ...(directory ? { directory } : {}),
    ...(relay ? { relay: relay.client } : {}), // a lookup there helps a direct dial too
    ...(expect ? { expect } : {}),
    clock: node.clock,
    timing,
  });
  return connectWithStrategy(node, {
    label: plan.label,
    candidates: plan.candidates,
    ...(plan.expect ? { expect: plan.expect } : {}),
    ...(relay ? { relay } : {}),
    mode: options.mode,
    ...(options.transport ? { transport: options.transport } : {}),
    timing,
  });
}

export function connectWithStrategy(node: ChatNode, input: StrategyInput): Promise<PeerSummary> {
  const timing = { ...DEFAULTS, ...input.timing };
  const direct = input.mode === 'relay-only' ? [] : dialOrder(input.candidates, input.transport ?? 'auto', node.speaksUdp, timing);
  const relay = input.mode === 'direct-only' || !input.expect ? undefined : input.relay;
  if (direct.length === 0 && !relay) {
    const why =
      input.mode === 'relay-only' && input.relay && !input.expect
        ? "the relay dials by key: give the peer's name, FINGERPRINT@host or --expect"
        : input.mode === 'relay-only'
          ? 'no relay to use'
          : 'no address to dial';
    return Promise.reject(chatError('ERR_CONNECT_FAILED', `cannot reach ${input.label}: ${why}`));
  }

  return new Promise((resolve, reject) => {
    /** A path claimed the win at message 2, or a wrong key ended the attempt. */
    let decided = false;
    const failures: P2PChatError[] = [];
    let running = 0;
    let relayStarted = false;
    const clock = node.clock;
    let relayTimer: Timer | undefined;
    let nextTimer: Timer | undefined;
    const queue = [...direct];
    const stopTimers = () => {
      clock.clearTimeout(relayTimer);
      clock.clearTimeout(nextTimer);
    };

    const settleFailure = (err: unknown, guess: boolean) => {
      if (!(err instanceof P2PChatError)) {
        reject(err);
        return;
      }
      failures.push(err);
      running--;
      // A wrong key at an address we were given is final: no other path will make it right. At a
      // guessed address it only means someone else lives there.
      if (err.code === 'ERR_PEER_KEY_MISMATCH' && !guess && !decided) {
        decided = true;
        stopTimers();
        reject(err);
        return;
      }
      if (queue.length > 0) startNextDirect(); // a failure hands its turn on at once
      else if (running === 0 && !relayStarted && relay) startRelay();
      else if (running === 0 && !decided) reject(combine(input.label, failures));
    };
    const attempt = (start: (gate: Gate) => Promise<PeerSummary>, guess = false) => {
      running++;
      let claimed = false;
      const gate = () => !decided && (input.wanted?.() ?? true) && (decided = claimed = true);
      start(gate).then(
        (summary) => {
          stopTimers();
          resolve(summary);
        },
        (err: unknown) => {
          // The path that claimed the race failed before it joined (an IK message 1, which claims
          // at the start, that the peer refused; a connection lost mid-handshake): the paths still
          // to come may yet win. Only a node that is quitting gives up at once.
          if (claimed && !node.quitting) decided = claimed = false;
          if (!claimed) {
            settleFailure(err, guess);
            return;
          }
          stopTimers();
          reject(err);
        },
      );
    };
    const startNextDirect = () => {
      clock.clearTimeout(nextTimer);
      const candidate = queue.shift();
      if (!candidate || decided) return;
      attempt((gate) => node.connect(candidate.host, candidate.port, input.expect, gate, candidate.transport), candidate.guess === true);
      if (queue.length > 0) {
        nextTimer = clock.setTimeout(startNextDirect, candidate.nextAfterMs);
        nextTimer.unref();
      }
    };
    const startRelay = () => {
      if (relayStarted || decided || !relay) return;
      relayStarted = true;
      attempt(async (gate) => {
        await relay.client.whenRegistered(timing.relayRegisterTimeoutMs);
        // Known from the start, so that a conversation joined --relay-only is never moved to a
        // direct path; `via` is the relay we are on now (one of a list), until the answer says more.
        const route: Route = { path: 'relayed', via: relay.client.label, ...(input.mode === 'relay-only' ? { pinned: true } : {}) };
        if (relay.client.carriesEarly) return relayedWithEarly(node, relay, route, input.expect!, gate);
        const { token, relay: carrier } = await relay.client.dial(input.expect!);
        const stream = await openDataConnection(node.transport, carrier.host, carrier.port, token, { timeoutMs: timing.connectTimeoutMs, clock });
        return node.connectOver(stream, { ...route, via: carrier.label }, input.expect, gate);
      });
    };

    startNextDirect();
    if (relay) {
      if (direct.length === 0) startRelay();
      else {
        relayTimer = clock.setTimeout(startRelay, input.relayDelayMs ?? timing.relayDelayMs);
        relayTimer.unref();
      }
    }
  });
}

/** One direct dial of the race: a candidate over one transport, and the head start it gets. */
interface DirectDial {
  readonly host: string;
  readonly port: number;
  readonly transport: TransportKind;
  readonly guess?: boolean;
  /** How long it runs alone before the next dial starts too (unless it fails first). */
  readonly nextAfterMs: number;
}

/**
 * The direct dials in order: per address TCP, then UDP after TCP's head start (auto), the next
 * address after the direct stagger. Auto dials UDP only where the peer said it listens there (a
 * LAN announcement, a relay record): a UDP port with nothing on it answers nothing, so a dial there
 * would hold the connect until its deadline. `udp` dials the announced UDP port, else the same
 * number as TCP's.
 */
function dialOrder(candidates: readonly DialCandidate[], mode: TransportMode, speaksUdp: boolean, timing: Settings): DirectDial[] {
  return candidates.flatMap((c) => {
    const guess = c.guess === true ? { guess: true } : {};
    const tcp: DirectDial = { host: c.host, port: c.port, transport: 'tcp', ...guess, nextAfterMs: timing.directStaggerMs };
    const udpPort = mode === 'udp' ? (c.udpPort ?? c.port) : c.udpPort;
    if (mode === 'tcp' || !speaksUdp || udpPort === undefined) return mode === 'udp' ? [] : [tcp];
    const udp: DirectDial = { host: c.host, port: udpPort, transport: 'udp', ...guess, nextAfterMs: timing.directStaggerMs };
    return mode === 'udp' ? [udp] : [{ ...tcp, nextAfterMs: timing.udpHeadStartMs }, udp];
  });
}

/**
 * A relayed session whose first flight (preamble, handshake message 1) goes in the dial: the relay
 * invites the peer with it and hands us its answer on our data connection, which we open while
 * the dial is on its way. When the answer names another relay of the cluster, the session waits
 * there: the connection opened meanwhile goes, and we open one to that relay instead.
 */
function relayedWithEarly(node: ChatNode, relay: RelayLink, route: Route, expect: string, gate: Gate): Promise<PeerSummary> {
  const { clock, timing } = node;
  const { host, port } = relay;
  const dialOptions = { timeoutMs: timing.connectTimeoutMs, clock };
  // Settled before the data connection is attached, so before the handshake can finish and the
  // route be read: `via` names the relay that carries the session.
  const carried = { ...route };
  const deferred = new DeferredStream(host, formatHostPort(host, port));
  const joined = node.connectOver(deferred, carried, expect, gate);
  // Given up before message 1 (another path won the race): no session to ask the relay for.
  if (deferred.destroyed) return joined;
  let opening = node.transport.dial(host, port, dialOptions);
  opening.catch(() => undefined); // awaited below, unless the dial fails first
  void (async () => {
    try {
      const { token, relay: carrier } = await relay.client.dial(expect, deferred.takeEarly(MAX_EARLY_FLIGHT_BYTES));
      if (carrier.host !== host || carrier.port !== port) {
        void opening.then((stream) => stream.destroy(), () => undefined);
        carried.via = carrier.label;
        opening = node.transport.dial(carrier.host, carrier.port, dialOptions);
      }
      deferred.attach(presentToken(await opening, token));
    } catch (err) {
      void opening.then((stream) => stream.destroy(), () => undefined);
      deferred.fail(P2PChatError.from(err, 'ERR_RELAY_UNREACHABLE'));
    }
  })();
  return joined;
}

function combine(label: string, failures: readonly P2PChatError[]): P2PChatError {
  if (failures.length === 1) return failures[0]!;
  const reasons = [...new Set(failures.map((f) => f.message.replace(/^cannot reach /, '')))].join('; ');
  return chatError('ERR_CONNECT_FAILED', `cannot reach ${label}: ${reasons}`);
}
