// Benchmark `message-rtt`: how long a chat line takes there and back once a conversation is up,
// relayed against direct. The far ends are listening Conversations in a child process of their
// own (echo-peers.ts) that say every line back; the near ends are Conversations here, each
// dialling its own listener, and each line is timed from send() to its echo's `message` event.
// One pair is dialled directly over TCP (as `connect 127.0.0.1:PORT --transport tcp`), one
// directly over UDP (--transport udp), one through a `p2p-chat relay` process (`--relay
// 127.0.0.1:RPORT --relay-only`, which never leaves the relay); and a raw TCP echo of a line
// between the same two processes. Every round takes each path once, in a random order.

import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ConnectOptions } from '../src/app/conversation.js';
import { Conversation } from '../src/app/conversation.js';
import { parseRelayAddress } from '../src/net/relay-address.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import { latencyResult, type BenchResult, type Log } from './bench-result.js';
import { spawnNode } from './children.js';
import { nextEvent } from './conversation-events.js';
import { withTimeout } from './deadline.js';
import type { EchoPeersReply, EchoPeersStart } from './echo-peers.js';
import { IpcChild } from './ipc-child.js';
import { RelayProcess } from './relay-process.js';
import { round, shuffled, summarize, type Summary } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 300;
const WARMUP_RUNS = 30;
const HOST = '127.0.0.1';
const STEP_TIMEOUT_MS = 10_000;
const ECHO_SCRIPT = new URL('./echo-peers.js', import.meta.url).pathname;

type PathName = 'direct-tcp' | 'direct-udp' | 'relayed' | 'raw-tcp';

/** One way of sending a line and timing its echo. */
interface EchoPath {
  readonly name: PathName;
  /** ms from sending `text` to its echo. */
  ping(text: string): Promise<number>;
  close(): Promise<void>;
}

export async function runMessageRtt(echoHome: BenchHome, diallerHome: BenchHome, log: Log): Promise<BenchResult> {
  const relay = await RelayProcess.start(log);
  const echo = new IpcChild<EchoPeersReply>(spawnNode(ECHO_SCRIPT, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }), 'echo peers');
  const paths: EchoPath[] = [];
  try {
    const relayArg = `${relay.host}:${relay.port}#${relay.fingerprint}`;
    const answer = new Promise<EchoPeersReply>((resolve) => echo.onMessage(resolve));
    echo.send({ type: 'start', home: echoHome.dir, relay: relayArg } satisfies EchoPeersStart);
    const started = await withTimeout(Promise.race([answer, echo.failed]), STEP_TIMEOUT_MS, 'the echo peers starting');
    if (started.type === 'failed') throw new Error(`echo peers: ${started.message}`);
    const { ports, fingerprint } = started;
    paths.push(await Dialler.start('direct-tcp', diallerHome, `${HOST}:${ports.directTcp}`, { mode: 'direct-only', transport: 'tcp' }));
    paths.push(await Dialler.start('direct-udp', diallerHome, `${HOST}:${ports.directUdp}`, { mode: 'direct-only', transport: 'udp' }));
    paths.push(await Dialler.start('relayed', diallerHome, fingerprint, { mode: 'relay-only' }, relayArg));
    paths.push(await RawEcho.start(ports.raw));
    const samples = new Map<PathName, number[]>(paths.map((path) => [path.name, []]));
    for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
      // A fresh order every round, so that no path always follows the same other one and inherits
      // its leftovers (acknowledgements due, a relay or echo process just woken).
      for (const path of shuffled(paths)) {
        const ms = await path.ping(`ping ${i} over ${path.name}`);
        if (i >= WARMUP_RUNS) samples.get(path.name)!.push(ms);
      }
      const n = i - WARMUP_RUNS + 1;
      if (n > 0 && n % 100 === 0) log(`  message-rtt: ${n}/${RUNS} rounds`);
    }
    const summary = (name: PathName) => summarize(samples.get(name)!);
    const relayed = summary('relayed');
    const direct = summary('direct-tcp');
    const udp = summary('direct-udp');
    const raw = summary('raw-tcp');
    log(`  message-rtt: medians: relayed ${relayed.median.toFixed(3)} ms, direct tcp ${direct.median.toFixed(3)}, direct udp ${udp.median.toFixed(3)}, raw tcp ${raw.median.toFixed(3)}`);
    const spread = (prefix: string, s: Summary) => ({ [`${prefix}Ms`]: round(s.median), [`${prefix}P10`]: round(s.p10), [`${prefix}P90`]: round(s.p90) });
    return {
      ...latencyResult('message-rtt', relayed, direct, { runs: RUNS, warmupRuns: WARMUP_RUNS }),
      oursSetup:
        'a Conversation here connected through a p2p-chat relay process (relay-only) to a listening Conversation in another process that says each chat line back; from send() to the echo\'s message event',
      baselineSetup: 'the same dialled directly over TCP (direct-only, transport tcp)',
      ...spread('directUdp', udp),
      directUdpRatio: round(udp.median / direct.median, 2),
      ...spread('rawTcpEcho', raw),
      rawTcpSetup: 'a raw TCP connection between the same two processes, a line written and echoed',
      oursMaxMs: round(relayed.max),
      baselineMaxMs: round(direct.max),
      directUdpMaxMs: round(udp.max),
    };
  } finally {
    for (const path of paths) await path.close();
    await echo.stop();
    await relay.stop();
  }
}

/** A Conversation here, connected by `options` to one of the echoing listeners. */
class Dialler implements EchoPath {
  private constructor(
    readonly name: PathName,
    readonly conversation: Conversation,
  ) {}

  static async start(name: PathName, home: BenchHome, target: string, options: ConnectOptions, relay?: string): Promise<Dialler> {
    const address = relay === undefined ? undefined : parseRelayAddress(relay);
    const conversation = new Conversation({
      identity: home.identity,
      knownPeers: KnownPeers.load(home.dir),
      name: 'pinger',
      mdns: false,
      ...(address ? { relay: { address, ...(address.pin ? { pin: address.pin } : {}) } } : {}),
      files: { downloadDir: home.dir, acceptFiles: 'ask' },
    });
    const dialler = new Dialler(name, conversation);
    try {
      await conversation.start();
      const peer = await withTimeout(conversation.connect(target, options), STEP_TIMEOUT_MS, `${name}: connecting`);
      const expected = address ? { path: 'relayed', transport: 'tcp' } : { path: 'direct', transport: options.transport };
      if (peer.path !== expected.path || peer.transport !== expected.transport) {
        throw new Error(`${name}: connected ${peer.path} over ${peer.transport}, not ${expected.path} over ${String(expected.transport)}`);
      }
    } catch (err) {
      await dialler.close();
      throw err;
    }
    return dialler;
  }

  async ping(text: string): Promise<number> {
    const echoed = nextEvent(this.conversation, (e) => e.type === 'message' && e.text === text);
    const start = performance.now();
    this.conversation.send(text);
    await withTimeout(echoed, STEP_TIMEOUT_MS, `${this.name}: the echo of a line`);
    return performance.now() - start;
  }

  async close(): Promise<void> {
    await withTimeout(this.conversation.quit('benchmark over'), STEP_TIMEOUT_MS, `${this.name}: quitting`).catch(() => this.conversation.abort());
  }
}

/** A raw TCP connection to the echo process: a line there and back with no protocol. */
class RawEcho implements EchoPath {
  readonly name = 'raw-tcp' as const;
  readonly #socket: Socket;
  #received = '';
  #echoed: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#received += chunk;
      if (!this.#received.endsWith('\n')) return;
      this.#received = '';
      this.#echoed?.();
    });
  }

  static async start(port: number): Promise<RawEcho> {
    const socket = createConnection({ host: HOST, port, noDelay: true });
    socket.on('error', () => socket.destroy());
    await withTimeout(once(socket, 'connect'), STEP_TIMEOUT_MS, 'raw TCP connect');
    return new RawEcho(socket);
  }

  async ping(text: string): Promise<number> {
    const echoed = new Promise<void>((resolve) => (this.#echoed = resolve));
    const start = performance.now();
    this.#socket.write(`${text}\n`);
    await withTimeout(echoed, STEP_TIMEOUT_MS, 'the raw echo of a line');
    return performance.now() - start;
  }

  async close(): Promise<void> {
    this.#socket.destroy();
  }
}
