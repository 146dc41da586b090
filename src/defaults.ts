// Every tunable of p2p-chat with its default, declared once. The CLI help and README read these
// values; code takes them as options so tests can shrink the timers.

export const DEFAULTS = Object.freeze({
  /** TCP port a peer listens on; the next free one is taken when it is busy. */
  port: 5050,
  /** How many ports after the default `listen` tries when the default is busy. */
  portFallbackTries: 20,
  /** Listen address: all interfaces, IPv6 and IPv4 (dual stack). */
  host: '::',
  /** A dial that has not connected by then fails. */
  connectTimeoutMs: 10_000,
  /** Preamble + Noise handshake must finish within this time or the connection is closed. */
  handshakeTimeoutMs: 10_000,
  /**
   * Most peers connected at once. A listener past it refuses new connections; a chat is read by
   * people, and 256 is far more than a conversation can hold.
   */
  maxPeers: 256,
  /**
   * Most incoming connections still in their handshake, from every address together. A handshake
   * takes a round trip or two and a few milliseconds of CPU, so 64 at once is a crowd arriving in
   * the same instant; past it the one that has waited longest is cut off to make room.
   */
  maxHandshakes: 64,
  /**
   * Most incoming connections in their handshake from one address. A person connects once (a
   * path race dials each address once); 4 leaves room for a NAT with a few people behind it, while
   * a flood from one address only cuts off its own handshakes.
   */
  maxHandshakesPerIp: 4,
  /** At most one `rejected` line per address per this many ms about cut-off or refused connections. */
  refusalLogIntervalMs: 60_000,
  /** A peer we have received nothing from for this long is pinged... */
  keepaliveIntervalMs: 10_000,
  /** ...and declared lost if still nothing has arrived this long after we last heard from it. */
  keepaliveTimeoutMs: 30_000,
  /** How long a graceful exit waits for the peer to close after our goodbye. */
  byeGraceMs: 2_000,
  /** A peer is told how many of its messages arrived at most this long after the first of them. */
  ackDelayMs: 100,
  /**
   * Messages of ours a peer has not acknowledged are kept, at most this many (and maxUnackedBytes);
   * past either, piped input waits for acknowledgements instead of reading on.
   */
  maxUnackedMessages: 1_000,
  maxUnackedBytes: 4 * 1024 * 1024,
  /**
   * A conversation whose connection was lost without a goodbye is kept this long for the peer to
   * come back (0: never); piped input's end waits as long for every line to be acknowledged.
   */
  resumeWindowMs: 120_000,
  /** The dialler's first try to resume comes within this, each later wait doubling up to the maximum. */
  reconnectInitialMs: 250,
  reconnectMaxMs: 5_000,
  /** A listener looks this often whether its addresses changed, to announce itself again on the LAN. */
  addressCheckMs: 2_000,
  /** A peer that stops reading is dropped once this much is queued for it. */
  maxQueuedBytes: 4 * 1024 * 1024,
  /**
   * A host passes on at most this many bytes a second of one peer's messages to the others (after
   * a burst of forwardBurstBytes); past that it stops reading from the peer until it has paid.
   */
  forwardRateBytesPerSec: 1024 * 1024,
  forwardBurstBytes: 1024 * 1024,
  /**
   * A peer with this much waiting to be sent to it holds up everyone whose messages are passed on
   * to it, until it has taken it all; if it takes none of it for keepaliveTimeoutMs it is dropped.
   */
  forwardHoldBytes: 1024 * 1024,
  /** LAN discovery re-queries the network this often... */
  mdnsRefreshMs: 5_000,
  /** ...and forgets a peer not heard from for this long (one that crashed without a goodbye). */
  mdnsStaleMs: 15_000,
  /** Before announcing, listen this long for another device already using our name. */
  mdnsProbeMs: 750,
  /** `connect <name>` and `discover` listen this long for peers on the LAN. */
  discoverTimeoutMs: 3_000,
  /**
   * Reconnecting to a relay waits a random time from half of a window to all of it; the window
   * starts at this (so the first retry comes after 0.25-0.5 s)...
   */
  relayBackoffInitialMs: 500,
  /** ...and doubles with each failed try up to this (retries then come every 15-30 s). */
  relayBackoffMaxMs: 30_000,
  /**
   * Given several relays (--relay a,b), one that has not taken the control connection within this
   * is passed over for the next (a host that is down drops the dial without a word); the last of
   * the list is given connectTimeoutMs. So a `connect` gets to the second relay within its
   * relayRegisterTimeoutMs.
   */
  relayFailoverMs: 2_000,
  /**
   * While connected to a relay, a peer given a UDP socket asks the relay this often which public
   * endpoint that socket is seen at. Under Linux conntrack's 30 s UDP timeout, so the probes also
   * keep the NAT's mapping for the socket open.
   */
  endpointRefreshMs: 20_000,
  /** Each direct candidate address gets this head start before the next one is dialled too. */
  directStaggerMs: 250,
  /**
   * With --transport auto, TCP to an address gets this head start before UDP to it is dialled too
   * (on a LAN TCP answers within it, and wins).
   */
  udpHeadStartMs: 50,
  /**
   * A conversation we dialled that runs through the relay tries for a direct path (hole punching)
   * at once and then this often (from one try's start to the next), upgradeEarlyTries times in all...
   */
  upgradeRetryMs: 5_000,
  upgradeEarlyTries: 3,
  /** ...then this often while it stays relayed, upgradeLaterTries more times (0: never again). */
  upgradeIntervalMs: 60_000,
  upgradeLaterTries: 10,
  /** One try's deadline: the peer's answer, the round trip's wait, and the direct dials. */
  upgradeAttemptMs: 5_000,
  /** A direct dial gets this head start before the relayed attempt begins (Happy Eyeballs). */
  relayDelayMs: 300,
  /** How long `connect --relay` waits for the relay registration before giving up on it. */
  relayRegisterTimeoutMs: 5_000,
  /** A file offer not answered in this time is withdrawn. */
  fileOfferTimeoutMs: 300_000,
  /** Least time between two progress reports of a file transfer: the bars' rate (a pipe or --json asks for less). */
  fileProgressIntervalMs: 250,
  /** After a name first matches, wait this much longer to catch a second peer of the same name. */
  lookupSettleMs: 300,
});

/** The settings as values code and tests may override (widened from DEFAULTS' literal types). */
export type Settings = { readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] extends number ? number : string };
