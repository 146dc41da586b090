// Every tunable of the relay server with its default, declared once. The `relay` command's help
// (RELAY_OPTIONS) and RelayServer both read these; tests pass smaller values to keep timers short.

import { DEFAULTS } from '../defaults.js';

export const RELAY_DEFAULTS = Object.freeze({
  /** Address the relay binds: all interfaces, IPv6 and IPv4 (falls back to 0.0.0.0). */
  host: '::',
  /** TCP port; a relay binds exactly this one (no fallback): peers are told where it is. */
  port: 5050,
  /** Most control connections (registered or registering peers) at once. */
  maxPeers: 20_000,
  /** Most relayed sessions at once, counting those whose tokens are not yet both presented. */
  maxSessions: 2_000,
  /**
   * Most connections of any kind (control and data) from one IP address. A carrier-grade NAT or
   * a campus puts many honest users behind one address, so this is far above what one person
   * needs; yet at 5% of maxPeers no single address can fill the relay (it takes 20 or more).
   */
  maxConnectionsPerIp: 1_000,
  /**
   * Most relayed sessions (open, or waiting for their data connections) dialled from one IP
   * address: a tenth of maxSessions, so ten addresses are needed to take every session, while the
   * users behind one NAT still have 200 relayed chats at once (most connect directly anyway).
   */
  maxSessionsPerIp: 200,
  /**
   * Most sessions dialled from one IP address that are still waiting for their data connections.
   * An honest session waits one round trip; fifty at once from one address is an invite flood.
   */
  maxPendingSessionsPerIp: 50,
  /**
   * Most relayed sessions (open or waiting) dialled by one key. One person chats with a handful
   * of peers at a time; keys cost nothing to make, so the per-address caps are the real bound.
   */
  maxSessionsPerKey: 32,
  /** Most sessions one key may have waiting for their data connections (an invite flood cap). */
  maxPendingSessionsPerKey: 8,
  /**
   * Most sessions waiting to reach one key, from any diallers: a peer answers at most 16
   * invitations at once, so more only flood it.
   */
  maxPendingInvitesPerKey: 16,
  /**
   * Of the sessions waiting to reach one key, how many one dialling key may hold: a person dials
   * a peer once, maybe twice when retrying. Keys cost nothing, so the next cap is the real one.
   */
  maxInvitesFromOneKey: 2,
  /**
   * ...and how many one dialling address may hold, counting its unanswered invitations (below):
   * a quarter of a peer's slots, so one address cannot keep a peer from being reached.
   */
  maxInvitesFromOneIp: 4,
  /**
   * An invitation whose dialler never presented its token (or gave up before the dialled peer
   * came) counts against the dialler's address at that peer for this long: a flood of dials that
   * are never completed runs dry instead of renewing itself every token lifetime. 0 = not at all.
   */
  unansweredInvitePenaltyMs: 60_000,
  /**
   * Register, lookup and dial requests per second on one control connection (token bucket;
   * 0 = unlimited). A client sends one register per connection and a lookup and a dial per
   * `connect`, so even a busy person stays far below; a script enumerating peers does not.
   */
  controlRequestsPerSec: 5,
  /**
   * Requests a control connection may send at once after a quiet spell. Past it, requests are
   * answered ERR_RELAY_RATE_LIMITED; a connection that goes on by as many again is closed.
   */
  controlRequestBurst: 20,
  /** At most one log line per control connection per this many ms about its refused requests. */
  refusalLogIntervalMs: 60_000,
  /** One deadline from accept for the first bytes and the Noise handshake after them, together. */
  handshakeTimeoutMs: DEFAULTS.handshakeTimeoutMs,
  /** A session token not presented within this time is void, and a lone data connection closed. */
  tokenTtlMs: 10_000,
  /** Control connections: ping after this much silence... */
  keepaliveIntervalMs: DEFAULTS.keepaliveIntervalMs,
  /** ...and drop a peer silent for this long. */
  keepaliveTimeoutMs: DEFAULTS.keepaliveTimeoutMs,
  /** After our goodbye (or end of a spliced stream), how long the other side has to close. */
  byeGraceMs: DEFAULTS.byeGraceMs,
  /** A control peer that stops reading is dropped once this much is queued for it. */
  controlMaxQueuedBytes: 256 * 1024,
  /** Per session and direction, in bytes per second (token bucket); 0 = unlimited. */
  sessionRateBytesPerSec: 0,
  /** Bytes a session may carry (both directions) before both ends are closed; 0 = unlimited. */
  sessionByteCap: 0,
  /**
   * A relayed session with no bytes either way for this long is closed (both peers vanished
   * without a reset). Live sessions never idle that long: their keepalive pings every 10 s.
   */
  sessionIdleTimeoutMs: 60_000,
  /** How often a one-line stats event is emitted; 0 = never. */
  statsIntervalMs: 60_000,
  /**
   * File descriptors kept in reserve: with fewer than this many left under the process limit,
   * new control connections are answered "relay full"; with fewer than half of it left, new
   * connections are dropped on accept (there is no room to even answer).
   */
  fdHeadroom: 256,
  /** stop() waits this long for peers to close after the goodbye, then cuts the rest. */
  stopTimeoutMs: 5_000,
});

export type RelayDefaults = typeof RELAY_DEFAULTS;

/** Every relay tunable but where it binds. */
export type RelayLimits = { -readonly [K in Exclude<keyof RelayDefaults, 'host' | 'port'>]: number };

export const RELAY_LIMIT_KEYS: readonly (keyof RelayLimits)[] = Object.freeze(
  (Object.keys(RELAY_DEFAULTS) as (keyof RelayDefaults)[]).filter(
    (key): key is keyof RelayLimits => key !== 'host' && key !== 'port',
  ),
);

export function relayLimits(overrides: Partial<RelayLimits> = {}): RelayLimits {
  const limits = {} as RelayLimits;
  for (const key of RELAY_LIMIT_KEYS) limits[key] = overrides[key] ?? RELAY_DEFAULTS[key];
  return limits;
}

export { RELAY_SHUTDOWN_REASON } from '../session/relay-messages.js';
/** Name the relay gives itself in the Noise handshake; its features list says what it is. */
export const RELAY_PEER_NAME = 'relay';
/** `relay`: what it is; `early`: it carries first flights (EARLY_FLIGHT_FEATURE, relay-messages.ts). */
export const RELAY_FEATURES: readonly string[] = Object.freeze(['relay', 'early']);
