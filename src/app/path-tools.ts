// The sockets a try for a direct path uses (path-upgrade.ts): our candidates (the endpoints the
// relay saw our punch socket and our control connection at, then our own addresses), udx dials
// and punches from the punch socket, plain TCP dials, and TCP simultaneous opens from the control
// connection's bound port.

import type { Clock } from '../clock.js';
import { chatError } from '../errors.js';
import type { PunchSocket } from '../net/datagram-port.js';
import { isIpAddress } from '../net/address.js';
import { localAddresses } from '../net/local-addresses.js';
import { parseTarget } from '../net/target.js';
import { openSimultaneous } from '../net/tcp-simultaneous.js';
import { MAX_PATH_CANDIDATES, type PathCandidate } from '../session/path-messages.js';
import type { ChatNode } from './chat-node.js';
import type { PathTools } from './path-upgrade.js';
import type { RelayLink } from './relay-link.js';

/** When the listener sends punch datagrams toward a `udp` candidate, from the sync on (ms). */
export const PUNCH_SCHEDULE_MS: readonly number[] = Object.freeze([0, 50, 100, 200, 400, 800, 1_600]);
/** Our own addresses offered, beside the endpoints the relay saw. */
const LOCAL_CANDIDATES = 3;

export interface PathToolsOptions {
  readonly node: ChatNode;
  readonly clock: Clock;
  /** The relay link as it is now (its client knows the endpoints it was seen at). */
  readonly relay: () => RelayLink | undefined;
  /** The UDP socket we listen (or punch) on, when we have one. */
  readonly punch: () => PunchSocket | undefined;
  /** Our TCP listening port (0: not listening). */
  readonly tcpPort: () => number;
}

export function pathTools(options: PathToolsOptions): PathTools {
  const { node, clock } = options;
  return {
    candidates: () => ourCandidates(options),
    dial: (candidate, timeoutMs) => {
      const dialOptions = { timeoutMs, clock };
      if (candidate.kind === 'tcp') return node.transport.dial(candidate.host, candidate.port, dialOptions);
      if (candidate.kind === 'udp') {
        const socket = options.punch();
        if (!socket) return Promise.reject(chatError('ERR_CONNECT_FAILED', 'no UDP socket to dial from'));
        return socket.dial(candidate.host, candidate.port, dialOptions);
      }
      const port = options.relay()?.client.controlPort;
      if (port === undefined) return Promise.reject(chatError('ERR_CONNECT_FAILED', 'no bound control connection to open from'));
      return openSimultaneous(candidate.host, candidate.port, port, dialOptions);
    },
    open: (candidate, timeoutMs, onStream) => {
      if (candidate.kind === 'udp') punchToward(options, candidate, timeoutMs);
      else if (candidate.kind === 'tcp-open') {
        const port = options.relay()?.client.controlPort;
        if (port === undefined) return;
        openSimultaneous(candidate.host, candidate.port, port, { timeoutMs, clock }).then(onStream, () => undefined);
      }
    },
  };
}

/** Punch datagrams toward `candidate` on PUNCH_SCHEDULE_MS, within `timeoutMs`. */
function punchToward(options: PathToolsOptions, candidate: PathCandidate, timeoutMs: number): void {
  for (const at of PUNCH_SCHEDULE_MS) {
    if (at >= timeoutMs) break;
    options.clock.setTimeout(() => options.punch()?.punch(candidate.host, candidate.port), at).unref();
  }
}

/** Where we may be reached: the endpoints the relay saw first, then a few of our own addresses. */
function ourCandidates(options: PathToolsOptions): PathCandidate[] {
  const client = options.relay()?.client;
  const socket = options.punch();
  const out: PathCandidate[] = [];
  const add = (kind: PathCandidate['kind'], address: string | undefined) => {
    if (address === undefined) return;
    try {
      const { host, port } = parseTarget(address, 0);
      if (!isIpAddress(host)) return;
      if (!out.some((c) => c.kind === kind && c.host === host && c.port === port)) out.push({ kind, host, port });
    } catch {
      // Not host:port (it came from the relay): not offered.
    }
  };
  if (socket) add('udp', client?.observedUdp);
  if (client?.controlPort !== undefined) add('tcp-open', client.observed);
  const tcpPort = options.tcpPort();
  for (const host of localAddresses(LOCAL_CANDIDATES)) {
    const bracketed = host.includes(':') ? `[${host}]` : host;
    if (socket) add('udp', `${bracketed}:${socket.port}`);
    if (tcpPort > 0) add('tcp', `${bracketed}:${tcpPort}`);
  }
  return out.slice(0, MAX_PATH_CANDIDATES);
}
