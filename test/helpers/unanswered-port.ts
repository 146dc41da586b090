// A TCP port on 127.0.0.1 where a connect neither succeeds nor fails, as behind a firewall that
// drops: a listener with a backlog of 1 whose thread never accepts (a worker blocked on a lock),
// with its accept queue filled, so the kernel drops every further SYN. close() releases it all.

import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

const LISTENER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require('node:net').createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  const released = new Int32Array(workerData);
  while (Atomics.load(released, 0) === 0) Atomics.wait(released, 0, 0, 1000);
  server.close();
});`;

/** With a backlog of 1, Linux queues two connections (backlog + 1) before it drops SYNs. */
const QUEUE_LENGTH = 2;

export interface UnansweredPort {
  readonly port: number;
  close(): Promise<void>;
}

export async function unansweredPort(): Promise<UnansweredPort> {
  const lock = new SharedArrayBuffer(4);
  const worker = new Worker(LISTENER, { eval: true, workerData: lock });
  const fillers: Socket[] = [];
  const close = async () => {
    for (const socket of fillers) socket.destroy();
    Atomics.store(new Int32Array(lock), 0, 1);
    Atomics.notify(new Int32Array(lock), 0);
    await worker.terminate();
  };
  try {
    const [port] = (await once(worker, 'message')) as [number];
    for (let i = 0; i < QUEUE_LENGTH; i++) {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      fillers.push(socket);
      await once(socket, 'connect');
    }
    return { port, close };
  } catch (err) {
    await close();
    throw err;
  }
}
