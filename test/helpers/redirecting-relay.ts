// One relay of a cluster in miniature, for the client's side of `session.relay`: a real Noise
// control session on loopback, run as relay/relay-control.ts runs one, that answers every `dial`
// by dialling the same peer on another relay over a control connection of its own and handing on
// the token that relay issued, with `relay` naming where the session waits. So a dialler that
// opens its data connection where the answer says reaches its peer; one that opens it here
// reaches nothing (this relay splices nothing). Closed by cleanupRelayTestnet().

import { createServer, type Socket } from 'node:net';
import type { PeerConnection } from '../../src/session/peer-connection.js';
import { RELAY_CONTROL_MESSAGES, type SessionMessage } from '../../src/session/session-messages.js';
import { newIdentity, onCleanup, TestPeer, type ControlClient } from './relay-testnet.js';

/** A connection the redirecting relay accepted (its `bytesRead` say what came), and whether it became a control session. */
export interface Accepted {
  readonly socket: Socket;
  established: boolean;
  closed: boolean;
}

/**
 * A relay on 127.0.0.1 that sends every session to the relay at `holder` (its `host:port`),
 * dialling there through `via`, a control connection to that relay. `features` is what it
 * announces (with `early` its clients send first flights, which it passes on).
 */
export async function redirectingRelay(via: ControlClient, holder: string, features: readonly string[]) {
  const identity = newIdentity();
  const accepted: Accepted[] = [];
  const sessions: TestPeer[] = [];
  const server = createServer((socket) => {
    const record: Accepted = { socket, established: false, closed: false };
    accepted.push(record);
    socket.once('close', () => (record.closed = true));
    const session = new TestPeer(socket, identity, 'relay', false, undefined, RELAY_CONTROL_MESSAGES, features);
    sessions.push(session);
    session.established.then(() => (record.established = true), () => undefined);
    session.connection.on('message', (message) => void answer(session.connection, message));
  });
  const answer = async (connection: PeerConnection, message: SessionMessage) => {
    if (message.type !== 'dial') return;
    const session = await via.request({ type: 'dial', fingerprint: message.fingerprint, ...(message.early ? { early: message.early } : {}) });
    if (session.type !== 'session') {
      connection.send({ ...session, rid: message.rid } as Parameters<PeerConnection['send']>[0]);
      return;
    }
    connection.send({ type: 'session', rid: message.rid, token: session.token, peer: session.peer, relay: holder });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  onCleanup(async () => {
    for (const { connection } of sessions) connection.destroy();
    for (const { socket } of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return { address: { host: '127.0.0.1', port, label: `127.0.0.1:${port}` }, fingerprint: identity.fingerprint, accepted };
}
