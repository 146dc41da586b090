// Two PeerConnections over real loopback TCP (optionally through a TcpProxy), each with its own
// Transfers, for testing file transfer below the CLI. `close()` ends everything it started.
// Each side counts the file-data bytes it wrote to and read from its connection, so tests can
// measure what a resume skipped or what was queued ahead of a chat message.

import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { TcpStream } from '../../src/net/tcp-stream.js';
import { FEATURES, PROTOCOL_VERSION } from '../../src/secure/handshake-payload.js';
import { generateKeyPair, type KeyPair } from '../../src/secure/noise/crypto-primitives.js';
import { PeerConnection, type CloseOutcome } from '../../src/session/peer-connection.js';
import type { FileMessage } from '../../src/session/file-messages.js';
import { FILE_DATA_HEADER_BYTES, isFileMessageType } from '../../src/session/file-messages.js';
import { PEER_MESSAGES } from '../../src/session/session-messages.js';
import { peerLink } from '../../src/app/files/peer-link.js';
import { Transfers, type PeerLink, type TransferEvent, type TransfersOptions } from '../../src/app/files/transfers.js';
import { TcpProxy } from './tcp-proxy.js';

export interface Side {
  readonly name: string;
  readonly conn: PeerConnection;
  readonly link: PeerLink;
  readonly transfers: Transfers;
  readonly events: TransferEvent[];
  readonly closed: Promise<CloseOutcome>;
  /** File-data bytes (without headers) this side's Transfers sent, and that arrived from the peer. */
  readonly fileData: { sent: number; received: number };
  /** Resolves with the first event (already seen or future) that matches. */
  next(type: TransferEvent['type'], match?: (e: TransferEvent) => boolean): Promise<TransferEvent>;
}

export interface Pair {
  readonly sender: Side;
  readonly receiver: Side;
  readonly proxy: TcpProxy | undefined;
  close(): Promise<void>;
}

export interface PairOptions {
  readonly receiver?: Partial<TransfersOptions>;
  readonly sender?: Partial<TransfersOptions>;
  /** Put a TcpProxy between the two (sender → receiver is the client → server direction). */
  readonly proxy?: boolean;
  readonly throttleBytesPerSecond?: number;
  /** Handle the receiver side's file messages yourself instead of with Transfers. */
  readonly rawReceiver?: boolean;
  readonly rawSender?: boolean;
  /** Fixed static keys, e.g. to reconnect as the same sender (partial files are kept per sender). */
  readonly keys?: { readonly sender?: KeyPair; readonly receiver?: KeyPair };
  /** Whether each side knew the other before this connection (PeerLink.known); default true. */
  readonly known?: boolean;
}

const CONNECTION = {
  handshakeTimeoutMs: 5_000,
  keepaliveIntervalMs: 10_000,
  keepaliveTimeoutMs: 30_000,
  byeGraceMs: 500,
  maxQueuedBytes: 4 * 1024 * 1024,
  clock: SYSTEM_CLOCK,
};

export async function transferPair(downloadDir: string, options: PairOptions = {}): Promise<Pair> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = (server.address() as AddressInfo).port;
  let proxy: TcpProxy | undefined;
  let port = serverPort;
  if (options.proxy || options.throttleBytesPerSecond) {
    proxy = new TcpProxy(serverPort, '127.0.0.1', options.throttleBytesPerSecond ?? 0);
    port = await proxy.start();
  }
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  const [[serverSocket]] = await Promise.all([accepted, once(client, 'connect')]);
  const base = { downloadDir, acceptFiles: 'ask' as const, offerTimeoutMs: 30_000, progressIntervalMs: 0, clock: SYSTEM_CLOCK };
  const make = (name: 'sender' | 'receiver', socket: Socket) =>
    side({
      name,
      socket,
      initiator: name === 'sender',
      options: { ...base, ...options[name] },
      raw: (name === 'sender' ? options.rawSender : options.rawReceiver) === true,
      keyPair: options.keys?.[name] ?? generateKeyPair(),
      known: options.known ?? true,
    });
  const sender = make('sender', client);
  const receiver = make('receiver', serverSocket);
  sender.side.conn.start();
  receiver.side.conn.start();
  await Promise.all([sender.ready, receiver.ready]);
  return {
    sender: sender.side,
    receiver: receiver.side,
    proxy,
    async close() {
      for (const s of [sender.side, receiver.side]) s.conn.destroy();
      client.destroy();
      serverSocket.destroy();
      await proxy?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface SideSetup {
  readonly name: string;
  readonly socket: Socket;
  readonly initiator: boolean;
  readonly options: TransfersOptions;
  readonly raw: boolean;
  readonly keyPair: KeyPair;
  readonly known: boolean;
}

function side({ name, socket, initiator, options, raw, keyPair, known }: SideSetup) {
  const conn = new PeerConnection(new TcpStream(socket), {
    ...CONNECTION,
    initiator,
    keyPair,
    localInfo: { name, version: PROTOCOL_VERSION, features: FEATURES },
    codec: PEER_MESSAGES,
  });
  const transfers = new Transfers(options);
  const events: TransferEvent[] = [];
  const waiters: { type: string; match: (e: TransferEvent) => boolean; resolve: (e: TransferEvent) => void }[] = [];
  transfers.on('event', (event) => {
    events.push(event);
    for (const w of [...waiters]) {
      if (w.type === event.type && w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  let link!: PeerLink;
  const closed = new Promise<CloseOutcome>((resolve) => conn.once('closed', resolve));
  const ready = new Promise<void>((resolve) =>
    conn.once('established', (remote) => {
      link = peerLink(conn, () => remote.info.name, known);
      resolve();
    }),
  );
  const fileData = { sent: 0, received: 0 };
  const sendEncoded = conn.sendEncoded.bind(conn); // only file-data goes this way
  conn.sendEncoded = (plaintexts) => {
    for (const plaintext of plaintexts) fileData.sent += plaintext.length - FILE_DATA_HEADER_BYTES;
    sendEncoded(plaintexts);
  };
  conn.on('message', (message) => {
    if (message.type === 'file-data') fileData.received += message.data.length;
  });
  if (!raw) {
    conn.on('message', (message) => {
      if (isFileMessageType(message.type)) transfers.handle(link, message as FileMessage);
    });
    // As ChatNode does: a lost connection's reason reaches the transfer's error.
    void closed.then((outcome) => transfers.linkClosed(link, outcome.kind === 'lost' || outcome.kind === 'failed' ? outcome.error.message : undefined));
  }
  const result: Side = {
    name,
    conn,
    get link() {
      return link;
    },
    transfers,
    events,
    closed,
    fileData,
    next(type, match = () => true) {
      const seen = events.find((e) => e.type === type && match(e));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ type, match, resolve }));
    },
  };
  return { side: result, ready };
}
