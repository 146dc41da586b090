// One chat as every front end drives it (the terminal, pipes, --json, a test): it starts and stops
// the node, LAN discovery and the relay link together, reports all three as one AppEvent stream,
// and carries out commands that return plain data and fail with coded P2PChatErrors.

import { EventEmitter } from 'node:events';
import { SYSTEM_CLOCK, type Clock } from '../clock.js';
import type { Settings } from '../defaults.js';
import { P2PChatError } from '../errors.js';
import type { PunchSocket } from '../net/datagram-port.js';
import { openPunchSocket } from '../net/udx-punch-socket.js';
import { udxTransport } from '../net/udx-transport.js';
import type { CipherOffer } from '../secure/cipher-offer.js';
import { PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import type { Identity } from '../secure/identity-store.js';
import type { KnownPeers } from '../secure/known-peers.js';
import type { AppEvent, LanPeer, PeerSummary, SentMessage, TransferSummary, WhoEntry } from './app-events.js';
import { ChatNode } from './chat-node.js';
import { connectToTarget, type PathMode, type TransportMode } from './connect-strategy.js';
import { reconnect } from './reconnector.js';
import { AddressWatch } from './address-watch.js';
import type { Undelivered } from './room.js';
import { summaryOfTransfer } from './files/file-events.js';
import { listFiles, type FileList } from './files/file-list.js';
import type { AcceptPolicy } from './files/transfers.js';
import { lanPeerOf, PeerDirectory } from './peer-directory.js';
import type { RelayEntry } from './relay-client.js';
import { linkRelay, type RelayLink } from './relay-link.js';
import { pathTools } from './path-tools.js';
import { PathUpgrade } from './path-upgrade.js';
import { NickPacer } from './nick-pacer.js';
import { RENAME_INTERVAL_MS } from './room.js';
import { sanitizeName } from '../session/sanitize.js';

export interface ConversationOptions {
  readonly identity: Identity;
  readonly knownPeers: KnownPeers;
  readonly name: string;
  /** LAN discovery: announce while listening, browse for peers() and for names to connect to. */
  readonly mdns: boolean;
  /** Take incoming peers here (`fallback`: the next free port if this one is busy). */
  readonly listen?: { readonly host: string; readonly port: number; readonly fallback: boolean };
  /**
   * UDP (udx streams) beside TCP: listened on at TCP's port number and dialled when `connect`
   * races or asks for it. false (--no-udp): TCP only, both ways. Default true.
   */
  readonly udp?: boolean;
  /**
   * Move a conversation we dialled through the relay to a direct path once one can be punched
   * (path-upgrade.ts), and take part when a peer moves ours. false (--no-upgrade): stay relayed. Default true.
   */
  readonly upgrade?: boolean;
  /** What this end offers for the transport cipher (ChatNodeOptions.cipher); absent: a probe decides. */
  readonly cipher?: CipherOffer;
  /** Register at one of these relays (the first that can be had), and fall back to it when a direct dial fails. */
  readonly relays?: readonly RelayEntry[];
  /** Where received files go and which offers are accepted unasked. */
  readonly files: { readonly downloadDir: string; readonly acceptFiles: AcceptPolicy };
  readonly timing?: Partial<Settings>;
  /** Every timer and timestamp of the conversation (a test passes a manual one). */
  readonly clock?: Clock;
}

export interface ConnectOptions {
  readonly mode?: PathMode;
  /** Which transports a direct dial may use (default auto: TCP and UDP raced). */
  readonly transport?: TransportMode;
  /** The key the peer must present, validated. */
  readonly expect?: string;
}

/** What /nick did: the name as sanitised, and when it has to wait for its turn, for how long. */
export interface NickResult {
  readonly name: string;
  /** Set when the change waits (one per RENAME_INTERVAL_MS): ms until peers are told. */
  readonly deferredMs?: number;
}

/** What an offer of files started, and what the listing left out. */
export interface OfferResult {
  /** One transfer per peer offered to. */
  readonly transfers: TransferSummary[];
  /** Symlinks and special files inside the directories given, not sent, and under which paths. */
  readonly skipped: { readonly count: number; readonly under: readonly string[] };
}

export class Conversation extends EventEmitter<{ event: [AppEvent]; drain: [] }> {
  readonly #options: ConversationOptions;
  readonly #node: ChatNode;
  /** LAN discovery, unless it is off. */
  readonly #directory: PeerDirectory | undefined;
  #relay: RelayLink | undefined;
  readonly #warned = new Set<string>();
  readonly #nicks: NickPacer;
  readonly #clock: Clock;
  readonly #addresses: AddressWatch;
  /** A /nick has announced us again: failures are no longer start-up noise. */
  #reannounced = false;
  /** The port our LAN announcement gives, once there is one; and the announcement in progress. */
  #announcedPort: number | undefined;
  #announcing: Promise<void> = Promise.resolve();
  #quitting: Promise<boolean> | undefined;
  /** How each peer we dialled was to be reached (--direct-only, --relay-only, --transport), for dialling it again. */
  readonly #modes = new Map<string, { readonly mode: PathMode; readonly transport?: TransportMode }>();
  /** Tries for a direct path, unless --no-upgrade. */
  readonly #paths: PathUpgrade | undefined;
  /** A UDP socket of our own to probe the relay and punch from, when we have no UDP listener. */
  #punchSocket: (PunchSocket & { close(): Promise<void> }) | undefined;

  constructor(options: ConversationOptions) {
    super();
    this.#options = options;
    const { identity, knownPeers, name, files, timing } = options;
    const clock = options.clock ?? SYSTEM_CLOCK;
    this.#clock = clock;
    this.#addresses = new AddressWatch(clock);
    const udp = options.udp === false ? {} : { udp: udxTransport(clock) };
    const upgrade = options.upgrade !== false;
    const cipher = options.cipher ? { cipher: options.cipher } : {};
    this.#node = new ChatNode({ identity, knownPeers, name, files, clock, upgrade, ...udp, ...cipher, ...(timing ? { timing } : {}) });
    this.#paths = upgrade ? this.#pathUpgrade() : undefined;
    this.#directory = options.mdns ? new PeerDirectory(knownPeers, identity.fingerprint, timing, clock) : undefined;
    this.#nicks = new NickPacer({ clock, intervalMs: RENAME_INTERVAL_MS, current: () => this.#node.name, apply: (name) => this.#rename(name) });
    this.#node.on('event', (event) => this.#emit(event));
    this.#node.on('drain', () => this.emit('drain'));
    this.#node.on('suspended', (peer, error) => {
      reconnect(this.#node, peer, error, {
        ...(this.#modes.get(peer.fingerprint) ?? { mode: 'auto' }),
        directory: this.#directory,
        relay: () => this.#relay,
        emit: (event) => this.#emit(event),
      });
    });
    this.#directory?.on('event', (event) => this.#emit(event));
    // Discovery trouble never ends a chat: say it once and carry on without it.
    this.#directory?.on('error', (err) => this.#warnOnce(err));
  }

  /**
   * Listen and announce on the LAN (if asked), then link the relay (if given). When something
   * cannot start, stops whatever did and rejects with its coded error.
   */
  async start(): Promise<void> {
    const { listen } = this.#options;
    try {
      let port = 0;
      if (listen) {
        this.#directory?.browse(); // a listener shows peers arriving; a dialler looks only when asked
        port = await this.#node.listen(listen.host, listen.port, listen.fallback);
        if (this.#quitting) return; // quit while binding: nothing more to start
        await this.#announce(port);
      }
      await this.#openPunchSocket();
      this.#linkRelay(port);
      this.#watchAddresses(port);
    } catch (err) {
      await this.quit('');
      throw err;
    }
  }

  get name(): string {
    return this.#node.name;
  }

  get fingerprint(): string {
    return this.#node.fingerprint;
  }

  get peerCount(): number {
    return this.#node.peerCount;
  }

  /** The settings it runs with: DEFAULTS with its `timing` over them. */
  get timing(): Settings {
    return this.#node.timing;
  }

  /** False while some peer is slow to take what we send; `drain` follows. */
  get canSend(): boolean {
    return this.#node.canSend;
  }

  /** Reach a LAN name or fingerprint prefix, a peer known to the relay, or an address, by the fastest path that works. */
  async connect(target: string, options: ConnectOptions = {}): Promise<PeerSummary> {
    const mode = options.mode ?? 'auto';
    const peer = await connectToTarget(this.#node, target, {
      mode,
      ...(options.transport ? { transport: options.transport } : {}),
      ...(options.expect ? { expect: options.expect } : {}),
      ...(this.#directory ? { directory: this.#directory } : {}),
      ...(this.#relay ? { relay: this.#relay } : {}),
    });
    this.#modes.set(peer.fingerprint, { mode, ...(options.transport ? { transport: options.transport } : {}) });
    return peer;
  }

  /** Reliable messages of ours that peers have not acknowledged yet (suspended conversations' too). */
  get unacknowledged(): number {
    return this.#node.unacknowledged;
  }

  /** Our messages that never reached a peer, or have not yet: by peer. */
  undelivered(): Undelivered[] {
    return this.#node.undelivered();
  }

  /**
   * Resolves once every peer here has acknowledged all we sent and every host we dialled has
   * confirmed it reached its members, or none is left, or after `timeoutMs`: what a pipe waits
   * for at the end of its input. Then undelivered() says what is missing.
   */
  settle(timeoutMs: number): Promise<void> {
    const node = this.#node;
    const settled = () => (node.unacknowledged === 0 && node.unconfirmed === 0) || node.peerCount === 0;
    if (settled()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (settled()) finish();
      };
      const finish = () => {
        this.#clock.clearTimeout(timer);
        node.off('acknowledged', check);
        this.off('event', check);
        resolve();
      };
      const timer = this.#clock.setTimeout(finish, timeoutMs);
      node.on('acknowledged', check);
      this.on('event', check);
    });
  }

  /** A chat line (or a /me action) to everyone here; throws ERR_MESSAGE_TOO_LONG. */
  send(text: string, options: { readonly action?: boolean } = {}): SentMessage {
    return this.#node.say(text, options.action === true);
  }

  /**
   * Change our nickname: peers are told, the relay registers it and the LAN hears it; a `nick`
   * event says when it is done. Peers take one change per RENAME_INTERVAL_MS, so one made sooner
   * waits for its turn (`deferredMs`), and a later one replaces it: the last one wins.
   */
  nick(requested: string): NickResult {
    const name = sanitizeName(requested);
    const wait = this.#nicks.request(name);
    return wait > 0 ? { name, deferredMs: wait } : { name };
  }

  /** Everyone in the conversation, and how each is reached (a host's members: through it). */
  who(): WhoEntry[] {
    return this.#node.who();
  }

  /** Peers seen on the LAN so far (and looking from now on); undefined when discovery is off. */
  peers(): LanPeer[] | undefined {
    if (!this.#directory) return undefined;
    this.#directory.browse();
    return this.#directory.entries().map(lanPeerOf);
  }

  /** Offer files or whole directories to every peer connected directly. */
  async offerFiles(paths: readonly string[]): Promise<OfferResult> {
    return this.offerList(await listFiles(paths));
  }

  /** Offer what listFiles found; throws ERR_PEER_NOT_FOUND when nobody can take files. */
  offerList(list: FileList): OfferResult {
    const transfers = this.#node.sendFiles(list.files).map(summaryOfTransfer);
    return { transfers, skipped: { count: list.skipped, under: list.skippedUnder } };
  }

  /** Accept a file offer: the only one waiting, or the one whose id starts with `id`. */
  acceptFile(id?: string): TransferSummary {
    return summaryOfTransfer(this.#node.files.accept(id));
  }

  declineFile(id?: string): TransferSummary {
    return summaryOfTransfer(this.#node.files.decline(id));
  }

  /** Stop an offer or transfer in either direction (offering the same files again resumes it). */
  cancelFile(id?: string): TransferSummary {
    return summaryOfTransfer(this.#node.files.cancel(id));
  }

  /** Offers and transfers not yet finished, oldest first. */
  transfers(): TransferSummary[] {
    return this.#node.files.list().map(summaryOfTransfer);
  }

  /**
   * Say goodbye (peers see `reason`) and stop everything; resolves with whether all we sent was
   * flushed to every peer first. Calling it again returns the same answer.
   */
  quit(reason: string): Promise<boolean> {
    this.#nicks.cancel();
    this.#addresses.stop();
    this.#paths?.stop();
    this.#quitting ??= Promise.all([this.#node.quit(reason), this.#directory?.close(), this.#relay?.client.close()]).then(async ([flushed]) => {
      await this.#punchSocket?.close();
      return flushed;
    });
    return this.#quitting;
  }

  /** Stop at once, with no goodbyes. */
  abort(): void {
    // A start() still under way then opens nothing more (no punch socket, no relay link).
    this.#quitting ??= Promise.resolve(false);
    this.#nicks.cancel();
    this.#addresses.stop();
    this.#paths?.stop();
    this.#node.abort();
    void this.#directory?.close();
    void this.#relay?.client.close().then(() => this.#punchSocket?.close());
  }

  /**
   * Moved to another network: announce again on the LAN, and reach the relay again from the new
   * address, so that a peer dialling us back finds us there (and our own dials through the relay
   * do not wait on a dead control connection).
   */
  #watchAddresses(port: number): void {
    const announce = port > 0 && this.#directory !== undefined;
    if (!announce && !this.#relay) return;
    this.#addresses.start(this.#node.timing.addressCheckMs, () => {
      if (announce) void this.#announce(port);
      this.#relay?.client.addressesChanged();
    });
  }

  #rename(name: string): void {
    const oldName = this.#node.name;
    this.#node.rename(name);
    this.#relay?.client.refreshName();
    // The LAN announcement carries the name too: announce again under the new one.
    if (this.#announcedPort !== undefined) {
      this.#reannounced = true;
      void this.#announce(this.#announcedPort);
    }
    this.#emit({ type: 'nick', oldName, name: this.#node.name });
  }

  /** Announce (or announce again, after /nick) on the LAN, one announcement at a time. */
  #announce(port: number): Promise<void> {
    this.#announcedPort = port;
    this.#announcing = this.#announcing.catch(() => undefined).then(() => this.#publish(port));
    return this.#announcing;
  }

  async #publish(port: number): Promise<void> {
    if (!this.#directory || this.#quitting) return;
    const udp = this.#node.udpPort;
    const announcement = { name: this.#node.name, fingerprint: this.fingerprint, port, ...(udp !== undefined ? { udpPort: udp } : {}), version: PROTOCOL_VERSION };
    try {
      const instance = await this.#directory.announce(announcement);
      this.#emit({ type: 'announced', instance, port });
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      // At start, discovery trouble is said once; after /nick, the old announcement is already
      // withdrawn, so a failure to make the new one leaves us unannounced: always say so.
      if (this.#reannounced) this.#emit({ type: 'warning', code: err.code, message: err.message });
      else this.#warnOnce(err);
    }
  }

  /** Keep a control connection to the relay, and (when listening) accept the sessions it invites us to. */
  #linkRelay(port: number): void {
    const relays = this.#options.relays;
    if (!relays || this.#quitting) return;
    const udp = this.#node.udpPort;
    const datagrams = this.#paths ? this.#punch() : undefined;
    const options = {
      relays,
      identity: this.#options.identity,
      port,
      ...(udp !== undefined ? { udpPort: udp } : {}),
      // Probed from the socket we punch from, so that the relay tells us that socket's public endpoint.
      ...(datagrams ? { datagrams } : {}),
    };
    this.#relay = linkRelay(this.#node, options, (event) => this.#emit(event));
  }

  /** Tries for a direct path for the conversations we dial through the relay (a --relay-only one's route is pinned). */
  #pathUpgrade(): PathUpgrade {
    const node = this.#node;
    const tools = pathTools({ node, clock: this.#clock, relay: () => this.#relay, punch: () => this.#punch(), tcpPort: () => node.port });
    const paths = new PathUpgrade({
      node,
      tools,
      emit: (event) => this.#emit(event),
    });
    node.on('joined', (peer) => paths.joined(peer));
    node.on('path', (peer, message) => paths.receive(peer, message));
    return paths;
  }

  /** The UDP socket we punch from: our UDP listener's, or one of our own. */
  #punch(): PunchSocket | undefined {
    return this.#node.datagrams ?? this.#punchSocket;
  }

  /**
   * A dialler with a relay and UDP but no UDP listener binds a socket of its own to punch from:
   * without one, a peer behind a NAT could only be reached over TCP.
   */
  async #openPunchSocket(): Promise<void> {
    if (!this.#paths || !this.#options.relays || !this.#node.speaksUdp || this.#node.datagrams || this.#quitting) return;
    try {
      this.#punchSocket = await openPunchSocket('0.0.0.0');
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      this.#warnOnce(err); // no UDP path then; TCP and the relay still work
    }
  }

  #warnOnce(err: P2PChatError): void {
    if (this.#warned.has(err.code)) return;
    this.#warned.add(err.code);
    this.#emit({ type: 'warning', code: err.code, message: err.message });
  }

  #emit(event: AppEvent): void {
    this.emit('event', event);
  }
}
