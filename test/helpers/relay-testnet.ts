// A relay network in-process for tests: a RelayServer on 127.0.0.1 with its events collected,
// control clients (PeerConnections with their own identities, speaking the relay protocol), and
// data connections that present a token and then run an ordinary PeerConnection end to end
// through the relay. Everything started is tracked; cleanupRelayTestnet() closes it all.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { linkRelay, type RelayLink } from '../../src/app/relay-link.js';
import { SYSTEM_CLOCK, type Clock } from '../../src/clock.js';
import { DEFAULTS } from '../../src/defaults.js';
import type { RelayAddress } from '../../src/net/relay-address.js';
import type { RelayLimits } from '../../src/relay/relay-defaults.js';
import type { ClusterOptions } from '../../src/relay/relay-cluster.js';
import type { RelayEvent } from '../../src/relay/relay-events.js';
import { RelayServer } from '../../src/relay/relay-server.js';
import { loadOrCreateIdentity } from '../../src/secure/identity-store.js';
import { TcpStream } from '../../src/net/tcp-stream.js';
import { fingerprintOf } from '../../src/secure/fingerprint.js';
import { FEATURES, PROTOCOL_VERSION } from '../../src/secure/handshake-payload.js';
import type { Identity } from '../../src/secure/identity-store.js';
import { generateKeyPair } from '../../src/secure/noise/crypto-primitives.js';
import { PeerConnection, type CloseOutcome } from '../../src/session/peer-connection.js';
import type { RelayMessage } from '../../src/session/relay-messages.js';
import { PEER_MESSAGES, RELAY_CONTROL_MESSAGES, type SessionCodec, type SessionMessage } from '../../src/session/session-messages.js';
import { encodeDataHello } from '../../src/wire/data-preamble.js';

import { cleanupPeers, tempHome } from './peer-process.js';
import { TcpProxy } from './tcp-proxy.js';

const openSockets = new Set<Socket>();
const relays: RelayServer[] = [];
const proxies: TcpProxy[] = [];
const standIns: Server[] = [];
const links: RelayLink[] = [];
const cleanups: Array<() => Promise<void>> = [];

/** Run `cleanup` with the testnet's (for what other helpers start beside it). */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Close every relay link, socket, proxy and relay the helpers opened, and remove temporary homes. */
export async function cleanupRelayTestnet(): Promise<void> {
  await Promise.all(links.splice(0).map((link) => link.client.close()));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(standIns.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await cleanupPeers();
}

/**
 * A relay on 127.0.0.1, any port (or `port`), with its identity in a temporary home like the CLI's.
 * `fdLimit`, `clock` (which a test may move) and `features` (what it announces) are passed on when given.
 */
export async function startRelay(
  limits: Partial<RelayLimits> = {},
  extra: { fdLimit?: number; clock?: Clock; features?: readonly string[]; port?: number; identity?: Identity; cluster?: ClusterOptions } = {},
) {
  const identity = extra.identity ?? loadOrCreateIdentity(join(tempHome(), 'relay'));
  const relay = new RelayServer({
    identity,
    host: '127.0.0.1',
    port: 0,
    limits: { stopTimeoutMs: 2_000, ...limits },
    ...extra,
  });
  relays.push(relay);
  const events: RelayEvent[] = [];
  relay.on('event', (e) => events.push(e));
  const port = await relay.start();
  const event = <T extends RelayEvent['type']>(
    type: T,
    match: (e: Extract<RelayEvent, { type: T }>) => boolean = () => true,
    ms?: number,
  ) => until(() => events.find((e): e is Extract<RelayEvent, { type: T }> => e.type === type && match(e as never)), `relay event ${type}`, ms);
  const client = (name: string, identity?: Identity, from?: string, features?: readonly string[]) => ControlClient.connect(port, name, relay.fingerprint, identity, from, features);
  return { relay, port, events, event, client };
}

/** A node's use of a relay (linkRelay), closed with the testnet. */
export function linkedRelay(...args: Parameters<typeof linkRelay>): RelayLink {
  const link = linkRelay(...args);
  links.push(link);
  return link;
}

/**
 * A stand-in for a relay's port: it accepts connections (recorded, in order) and never says a
 * word, so nobody ever registers there or finishes a handshake.
 */
export async function standInRelay(): Promise<{ address: RelayAddress; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    openSockets.add(socket);
    accepted.push(socket);
  });
  standIns.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return { address: { host: '127.0.0.1', port, label: `127.0.0.1:${port}` }, accepted };
}

/** A recording TCP proxy in front of `port`, closed with the testnet. */
export async function recordingProxy(port: number): Promise<TcpProxy> {
  const proxy = new TcpProxy(port);
  proxies.push(proxy);
  await proxy.start();
  proxy.record();
  return proxy;
}

export function newIdentity(): Identity {
  const keyPair = generateKeyPair();
  return { keyPair, fingerprint: fingerprintOf(keyPair.publicKey), path: '', created: true };
}

/** Poll `probe` every 10 ms until it returns something other than undefined; fail after `ms`. */
export async function until<T>(probe: () => T | undefined | false, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A connection to 127.0.0.1:`port`, from the loopback address `from` (e.g. 127.0.0.2) if given. */
export async function tcp(port: number, from?: string): Promise<Socket> {
  const socket = await dialFrom(port, from);
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
  return socket;
}

function dialFrom(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port, noDelay: true, ...(localAddress ? { localAddress } : {}) });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

/**
 * What a peer of this version says to open a session with a node (docs/protocol.md, "Acknowledged
 * delivery"): the dialler names a new conversation, the listener answers. Raw test peers do it so
 * that the node takes their messages; they never acknowledge what they receive.
 */
export function speakConversation(connection: PeerConnection, initiator: boolean): void {
  connection.once('established', (remote) => {
    if (initiator && remote.info.features.includes('acks')) connection.send({ type: 'conversation', id: randomBytes(16).toString('hex'), received: 0 });
  });
  connection.on('message', (m) => {
    if (!initiator && m.type === 'conversation') connection.send({ type: 'conversation', id: m.id, received: 0 });
  });
}

/** A PeerConnection on `socket`, started, with what it reports collected. */
export class TestPeer {
  readonly connection: PeerConnection;
  readonly messages: SessionMessage[] = [];
  readonly established: Promise<void>;
  readonly closed: Promise<CloseOutcome>;
  outcome: CloseOutcome | undefined;

  constructor(
    socket: Socket,
    identity: Identity,
    readonly name: string,
    initiator: boolean,
    expectedFingerprint?: string,
    codec: SessionCodec = PEER_MESSAGES,
    features: readonly string[] = FEATURES,
  ) {
    this.connection = new PeerConnection(new TcpStream(socket), {
      initiator,
      keyPair: identity.keyPair,
      localInfo: { name, version: PROTOCOL_VERSION, features },
      codec,
      handshakeTimeoutMs: 5_000,
      keepaliveIntervalMs: DEFAULTS.keepaliveIntervalMs,
      keepaliveTimeoutMs: DEFAULTS.keepaliveTimeoutMs,
      byeGraceMs: 1_000,
      maxQueuedBytes: DEFAULTS.maxQueuedBytes,
      clock: SYSTEM_CLOCK,
      ...(expectedFingerprint ? { expectedFingerprint } : {}),
    });
    this.connection.on('message', (m) => this.messages.push(m));
    if (codec === PEER_MESSAGES) speakConversation(this.connection, initiator);
    this.closed = new Promise((resolve) =>
      this.connection.once('closed', (outcome) => {
        this.outcome = outcome;
        resolve(outcome);
      }),
    );
    this.established = new Promise((resolve, reject) => {
      this.connection.once('established', () => resolve());
      void this.closed.then((o) => reject(new Error(`closed before the handshake finished: ${JSON.stringify(o)}`)));
    });
    this.established.catch(() => undefined);
    this.connection.start();
  }

  waitFor<T extends SessionMessage['type']>(
    type: T,
    match: (m: Extract<SessionMessage, { type: T }>) => boolean = () => true,
    ms?: number,
  ): Promise<Extract<SessionMessage, { type: T }>> {
    const find = () => this.messages.find((m): m is Extract<SessionMessage, { type: T }> => m.type === type && match(m as never));
    return until(find, `a ${type} message`, ms);
  }
}

type Request = RelayMessage extends infer M ? (M extends { rid: number } ? Omit<M, 'rid'> : never) : never;

/** A peer's control connection to the relay. */
export class ControlClient extends TestPeer {
  readonly identity: Identity;
  /** Invites already acted on, so a second relayedChat() picks the next one. */
  readonly usedInvites = new Set<string>();
  #rid = 0;

  private constructor(socket: Socket, identity: Identity, name: string, relayFingerprint: string, features?: readonly string[]) {
    super(socket, identity, name, true, relayFingerprint, RELAY_CONTROL_MESSAGES, features);
    this.identity = identity;
  }

  static async connect(
    port: number,
    name: string,
    relayFingerprint: string,
    identity: Identity = newIdentity(),
    from?: string,
    features?: readonly string[],
  ): Promise<ControlClient> {
    const client = new ControlClient(await tcp(port, from), identity, name, relayFingerprint, features);
    await client.established;
    return client;
  }

  get fingerprint(): string {
    return this.identity.fingerprint;
  }

  /** Send a request with the next rid and wait for the answer (or relay-error) carrying it. */
  async request(message: Request): Promise<Extract<SessionMessage, { rid: number }>> {
    const rid = ++this.#rid;
    this.connection.send({ ...message, rid } as Parameters<PeerConnection['send']>[0]);
    return until(
      () => this.messages.find((m): m is Extract<SessionMessage, { rid: number }> => 'rid' in m && m.rid === rid && m.type !== message.type),
      `the answer to ${message.type} #${rid}`,
    );
  }

  register(port = 0, addresses: string[] = []) {
    return this.request({ type: 'register', name: this.name, port, addresses });
  }
}

/** Open a data connection to the relay (or a proxy in front of it) and present `token`. */
export async function dataConnection(port: number, token: string): Promise<Socket> {
  const socket = await tcp(port);
  socket.write(encodeDataHello(token));
  return socket;
}

/** Register `client`; returns the address the relay observed. */
export async function registered(client: ControlClient): Promise<string> {
  const answer = await client.register(5050, ['10.0.0.7']);
  assert.equal(answer.type, 'registered', JSON.stringify(answer));
  return answer.type === 'registered' ? answer.observed : '';
}

/** A dials B; both present their tokens; a chat session end to end through the relay. */
export async function relayedChat(port: number, a: ControlClient, b: ControlClient, dataPortA = port) {
  const answer = await a.request({ type: 'dial', fingerprint: b.fingerprint });
  assert.equal(answer.type, 'session', JSON.stringify(answer));
  const session = answer as Extract<typeof answer, { type: 'session' }>;
  const invite = await b.waitFor('invite', (m) => !b.usedInvites.has(m.token));
  b.usedInvites.add(invite.token);
  assert.deepEqual(invite.from, { name: a.name, fingerprint: a.fingerprint });
  assert.notEqual(invite.token, session.token);
  const [sa, sb] = await Promise.all([tcp(dataPortA), dataConnection(port, invite.token)]);
  // A's hello and its first handshake bytes go out as one write, so the relay gets them in one
  // chunk and must pass on what followed the token; B's come separately.
  sa.cork();
  sa.write(encodeDataHello(session.token));
  const peerA = new TestPeer(sa, a.identity, a.name, true, b.fingerprint);
  sa.uncork();
  const peerB = new TestPeer(sb, b.identity, b.name, false);
  await Promise.all([peerA.established, peerB.established]);
  return { peerA, peerB, session, invite };
}
