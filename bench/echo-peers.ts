// Child process of the `message-rtt` benchmark: the far end of every path it times, in a process
// of its own as the other user's peer would be. Listening Conversations that say back every chat
// line they receive, one per path (so that no line is passed on to another dialler): `direct-tcp`
// and `direct-udp` on loopback, `relayed` also registered at the relay; and a raw TCP echo server
// for the baseline of the machine alone. It says where they are, then runs until it is stopped.

import { createServer, type Socket } from 'node:net';
import type { AppEvent } from '../src/app/app-events.js';
import { Conversation } from '../src/app/conversation.js';
import { parseRelayAddress } from '../src/net/relay-address.js';
import { loadOrCreateIdentity } from '../src/secure/identity-store.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import { nextEvent as next } from './conversation-events.js';
import { withTimeout } from './deadline.js';

export interface EchoPeersStart {
  readonly type: 'start';
  /** The echoing peers' home, its identity already created. */
  readonly home: string;
  /** `host:port#fingerprint` of the relay the `relayed` listener registers with. */
  readonly relay: string;
}

export type EchoPeersReply =
  | {
      readonly type: 'ready';
      readonly fingerprint: string;
      /** The loopback port of each listener, and of the raw echo server. */
      readonly ports: { readonly directTcp: number; readonly directUdp: number; readonly relayed: number; readonly raw: number };
    }
  | { readonly type: 'failed'; readonly message: string };

const HOST = '127.0.0.1';
const SETUP_TIMEOUT_MS = 10_000;

if (!process.send) throw new Error('echo-peers.js runs as a child process with an IPC channel');
const send = (reply: EchoPeersReply) => process.send!(reply);
const conversations: Conversation[] = [];
const sockets = new Set<Socket>();
const raw = createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => socket.write(chunk));
});

// The benchmark stops it with SIGTERM; a benchmark that went away without doing so only disconnects.
process.on('disconnect', () => void stop());
process.once('message', (message: EchoPeersStart) => {
  start(message).catch((err: Error) => send({ type: 'failed', message: err.stack ?? String(err) }));
});

async function start(config: EchoPeersStart): Promise<void> {
  const identity = loadOrCreateIdentity(config.home);
  const knownPeers = KnownPeers.load(config.home);
  const listen = async (relay?: string): Promise<number> => {
    const address = relay === undefined ? undefined : parseRelayAddress(relay);
    const conversation = new Conversation({
      identity,
      knownPeers,
      name: 'echo',
      mdns: false,
      listen: { host: HOST, port: 0, fallback: false },
      ...(address ? { relay: { address, ...(address.pin ? { pin: address.pin } : {}) } } : {}),
      files: { downloadDir: config.home, acceptFiles: 'ask' },
    });
    conversations.push(conversation);
    const listening = next(conversation, (e) => e.type === 'listening');
    const registered = address ? next(conversation, (e) => e.type === 'relay' && e.state === 'registered') : undefined;
    conversation.on('event', (event) => {
      if (event.type === 'message') conversation.send(event.text);
    });
    await conversation.start();
    const { port } = (await within(listening, 'a listener listening')) as Extract<AppEvent, { type: 'listening' }>;
    if (registered) await within(registered, 'the relayed listener registering with the relay');
    return port;
  };
  const directTcp = await listen();
  const directUdp = await listen();
  const relayed = await listen(config.relay);
  await new Promise<void>((resolve, reject) => {
    raw.once('error', reject);
    raw.listen({ host: HOST, port: 0 }, () => resolve());
  });
  const rawPort = (raw.address() as { port: number }).port;
  send({ type: 'ready', fingerprint: identity.fingerprint, ports: { directTcp, directUdp, relayed, raw: rawPort } });
}

async function stop(): Promise<void> {
  for (const socket of sockets) socket.destroy();
  raw.close();
  await Promise.all(conversations.map((c) => within(c.quit('benchmark over'), 'a listener quitting').catch(() => c.abort())));
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  return withTimeout(promise, SETUP_TIMEOUT_MS, what);
}
