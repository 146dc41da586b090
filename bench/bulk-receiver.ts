// Worker thread: the receiving peer of the `bulk-messages` benchmark. It runs on its own thread,
// as a second peer would run in its own process, so decrypting and parsing overlap with the
// sender's work instead of queueing behind it on one event loop.

import { createServer, type Server } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { ChatNode } from '../src/app/chat-node.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import { loadOrCreateIdentity } from '../src/secure/identity-store.js';

export interface ReceiverConfig {
  readonly kind: 'ours' | 'baseline';
  /** ours: the receiving peer's home, its identity already created. */
  readonly home: string;
  /** ours: chat messages to count; baseline: ignored. */
  readonly messages: number;
  /** Bytes of message text (ours) or raw stream (baseline) after which the run is done. */
  readonly totalBytes: number;
}

export type ReceiverReport =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly messages: number; readonly bytes: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stopped' };

/** What the benchmark thread sends: stop, close everything, exit. */
export type ReceiverCommand = { readonly type: 'stop' };

const HOST = '127.0.0.1';
const port = parentPort;
if (!port) throw new Error('bulk-receiver.js runs as a worker thread');
const config = workerData as ReceiverConfig;
const report = (r: ReceiverReport) => port.postMessage(r);

const stop = config.kind === 'ours' ? await receiveChat(config) : await receiveRaw(config);
port.on('message', (command: ReceiverCommand) => {
  if (command.type !== 'stop') return;
  void stop().then(() => {
    report({ type: 'stopped' });
    port.close();
  });
});

async function receiveChat(cfg: ReceiverConfig): Promise<() => Promise<void>> {
  const node = new ChatNode({
    identity: loadOrCreateIdentity(cfg.home),
    knownPeers: KnownPeers.load(cfg.home),
    name: 'receiver',
  });
  let messages = 0;
  let bytes = 0;
  node.on('event', (event) => {
    switch (event.type) {
      case 'listening':
        report({ type: 'listening', port: event.port });
        return;
      case 'connected':
        report({ type: 'ready' });
        return;
      case 'message':
        messages++;
        bytes += event.text.length; // the benchmark's text is ASCII: one byte per character
        if (messages === cfg.messages) report({ type: 'done', messages, bytes });
        return;
      case 'lost':
      case 'rejected':
        report({ type: 'failed', message: `${event.code}: ${event.message}` });
        return;
      default:
        return;
    }
  });
  await node.listen(HOST, 0, false);
  return async () => {
    await node.quit('benchmark over');
  };
}

async function receiveRaw(cfg: ReceiverConfig): Promise<() => Promise<void>> {
  let bytes = 0;
  const server: Server = createServer({ noDelay: true }, (socket) => {
    report({ type: 'ready' });
    socket.on('data', (chunk: Buffer) => {
      const before = bytes;
      bytes += chunk.length;
      if (before < cfg.totalBytes && bytes >= cfg.totalBytes) report({ type: 'done', messages: 0, bytes });
    });
    socket.on('error', (err) => report({ type: 'failed', message: err.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port: 0 }, () => resolve());
  });
  report({ type: 'listening', port: (server.address() as { port: number }).port });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
