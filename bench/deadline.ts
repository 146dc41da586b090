// Every wait in the benchmarks is bounded: a hung peer turns into an error naming what hung,
// never into a benchmark that runs forever.

import { once } from 'node:events';

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Write one line on a connected raw socket and resolve once a full line comes back (the baseline's echo). */
export async function echoLine(socket: import('node:net').Socket, text: string, ms: number): Promise<void> {
  const echoed = new Promise<void>((resolve) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('\n')) resolve();
    });
  });
  socket.write(`${text}\n`);
  await withTimeout(echoed, ms, 'the echoed line');
}

/** Listen on 127.0.0.1, any port; resolves with the port once bound (within `ms`). */
export async function listenOnLoopback(server: import('node:net').Server, ms: number, what: string): Promise<number> {
  server.listen({ host: '127.0.0.1', port: 0 });
  await withTimeout(once(server, 'listening'), ms, what);
  return (server.address() as { port: number }).port;
}
