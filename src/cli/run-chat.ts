// Runs one chat from start to exit: builds the Conversation, picks the front end (interactive,
// pipe or --json), feeds typed or piped lines in, and owns signals and the exit code.
//   listen:  serves until /quit, Ctrl-C, SIGTERM, or end of piped input.
//   connect: also ends when the last peer goes (0 if it said goodbye, 1 if the link was lost).

import { createInterface } from 'node:readline';
import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { Conversation } from '../app/conversation.js';
import type { Undelivered } from '../app/room.js';
import { SYSTEM_CLOCK, type Timer } from '../clock.js';
import type { Settings } from '../defaults.js';
import { P2PChatError } from '../errors.js';
import { PEER_HEAP_TRIM_BLOCK_BYTES, raiseHeapTrimThreshold } from '../heap-trim-threshold.js';
import type { CipherOffer } from '../secure/cipher-offer.js';
import type { Identity } from '../secure/identity-store.js';
import type { KnownPeers } from '../secure/known-peers.js';
import { parseInput } from './input-commands.js';
import { InteractiveFrontend, JsonFrontend, PipeFrontend, type Frontend } from './frontends.js';
import type { PathMode, TransportMode } from '../app/connect-strategy.js';
import type { RelayEntry } from '../app/relay-client.js';
import { sanitizeName } from '../session/sanitize.js';
import type { AcceptPolicy } from '../app/files/transfers.js';
import type { FileList } from '../app/files/file-list.js';
import { runChatCommand } from './chat-commands.js';
import { offerFiles, runFileCommand } from './file-commands.js';
import { SendFrontend } from './send-frontend.js';
import type { MessageTemplate } from './message-template.js';

export interface RunChatOptions {
  readonly identity: Identity;
  readonly knownPeers: KnownPeers;
  readonly name: string;
  readonly json: boolean;
  /** LAN discovery: announce while listening, browse for /peers and names. */
  readonly mdns: boolean;
  /** UDP beside TCP (--no-udp: false). */
  readonly udp?: boolean;
  /** Move relayed conversations to a direct path (--no-upgrade: false). */
  readonly upgrade?: boolean;
  /** $P2P_CHAT_CIPHER: what this end offers for the transport cipher; absent: a probe decides. */
  readonly cipher?: CipherOffer;
  readonly listen?: { host: string; port: number; fallback: boolean };
  /** What was typed after `connect`, and --expect if given (validated). */
  readonly connect?: { target: string; expect?: string; mode: PathMode; transport?: TransportMode };
  /** --relay (or P2P_CHAT_RELAY): register at the first of these that can be had, and fall back to it when a direct dial fails. */
  readonly relays?: readonly RelayEntry[];
  /** Settings from the command line (handshake deadline, the listener's caps) over DEFAULTS. */
  readonly timing?: Partial<Settings>;
  /** P2P_CHAT_DEBUG: also show `debug` events. */
  readonly debug?: boolean;
  /** Where received files go and which offers are accepted unasked. */
  readonly files: { readonly downloadDir: string; readonly acceptFiles: AcceptPolicy };
  /** `p2p-chat send`: offer these files once connected, and exit when the transfers end. */
  readonly send?: FileList;
  /** --format: how pipe mode writes each received message (default: its text alone). */
  readonly format?: MessageTemplate;
  /** At the prompt, ring the terminal bell when a message mentions you (--no-bell: false). */
  readonly bell?: boolean;
}

/** Resolves with the process exit code; rejects with the error when the chat cannot start. */
export function runChat(options: RunChatOptions): Promise<number> {
  // Any chat may carry a file: keep the heap its buffers churn (heap-trim-threshold.ts).
  raiseHeapTrimThreshold(PEER_HEAP_TRIM_BLOCK_BYTES);
  return new Promise((resolve, reject) => new ChatRun(options, resolve, reject).start());
}

class ChatRun {
  readonly #options: RunChatOptions;
  readonly #done: (code: number) => void;
  readonly #failed: (error: P2PChatError) => void;
  readonly #conversation: Conversation;
  readonly #frontend: Frontend;
  /** Piped lines waiting for a first peer. */
  readonly #queue: string[] = [];
  #linesRead = 0;
  #inputEnded = false;
  /** Piped input: send what is queued while there is room, and read on only then. */
  #pumpInput: (() => void) | undefined;
  /** End of input: waiting for the last lines' acknowledgements. */
  #settling = false;
  #quitting = false;
  #interrupts = 0;
  #exitCode = 0;
  /** `p2p-chat send`: the transfers it offered, and how each that ended went (true: delivered). */
  #sending: readonly string[] | undefined;
  readonly #sent = new Map<string, boolean>();
  /**
   * `send` keeps running until its transfers end: while the conversation waits to resume, its
   * timers let the process exit and no connection holds it, so this does.
   */
  #holding: Timer | undefined;

  constructor(options: RunChatOptions, done: (code: number) => void, failed: (error: P2PChatError) => void) {
    this.#options = options;
    this.#done = done;
    this.#failed = failed;
    const interactive = process.stdin.isTTY === true && !options.json && !options.send;
    // Without a prompt nobody can type /accept: an offer is declined at once, not left to expire.
    const files = !interactive && options.files.acceptFiles === 'ask' ? { ...options.files, acceptFiles: 'never' as const } : options.files;
    // The front end comes first: the node reports transfer progress at the rate it asks for.
    this.#frontend = this.#createFrontend(interactive);
    const { identity, knownPeers, name, mdns, listen, relays } = options;
    this.#conversation = new Conversation({
      identity,
      knownPeers,
      name,
      mdns,
      ...(options.udp === false ? { udp: false } : {}),
      ...(options.upgrade === false ? { upgrade: false } : {}),
      ...(options.cipher ? { cipher: options.cipher } : {}),
      ...(listen ? { listen } : {}),
      ...(relays ? { relays } : {}),
      files,
      timing: { ...options.timing, fileProgressIntervalMs: this.#frontend.progressIntervalMs },
      clock: SYSTEM_CLOCK,
    });
    if (!options.send && !interactive) this.#readPipedInput();
  }

  #createFrontend(interactive: boolean): Frontend {
    const { send, json, name } = this.#options;
    if (send) return json ? new JsonFrontend() : new SendFrontend();
    if (!interactive) return json ? new JsonFrontend() : new PipeFrontend(this.#options.format);
    // The prompt shows the name as the conversation will hold it (it sanitises it the same way).
    const handlers = {
      line: (text: string) => this.#onTypedLine(text),
      interrupt: () => this.#onInterrupt(),
      end: () => void this.#quit('', 0),
    };
    return new InteractiveFrontend(sanitizeName(name), handlers, {
      bell: this.#options.bell !== false,
      roster: () => this.#conversation.who().map((peer) => peer.name),
      lanNames: () => this.#conversation.peers()?.map((peer) => peer.name) ?? [],
    });
  }

  start(): void {
    this.#conversation.on('event', (event) => this.#onEvent(event));
    process.on('SIGINT', () => this.#onInterrupt());
    process.on('SIGTERM', () => void this.#quit('', 0));
    // Whoever reads our stdout went away (e.g. `| head`): leave cleanly instead of crashing.
    process.stdout.on('error', () => void this.#quit('', 0));
    void this.#begin();
  }

  async #begin(): Promise<void> {
    const { connect, send } = this.#options;
    try {
      await this.#conversation.start();
      if (connect) await this.#conversation.connect(connect.target, connect);
      if (send) this.#sendFiles(send);
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      // Could not start: stop quietly and let the CLI print its one line.
      this.#quitting = true;
      await this.#conversation.quit('');
      this.#frontend.close();
      this.#failed(err);
    }
  }

  /** `p2p-chat send`: offer the files, then leave when every transfer has ended (1 if one failed). */
  #sendFiles(list: FileList): void {
    this.#sending = offerFiles(this.#conversation, list, this.#frontend).map((t) => t.id);
    this.#holding = SYSTEM_CLOCK.setInterval(() => undefined, 60_000);
    this.#checkSent();
  }

  #checkSent(): void {
    const ids = this.#sending;
    if (!ids || !ids.every((id) => this.#sent.has(id))) return;
    void this.#quit('', ids.every((id) => this.#sent.get(id)) ? 0 : 1);
  }

  async #dial(target: string): Promise<void> {
    try {
      await this.#conversation.connect(target);
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      this.#frontend.show({ type: 'error', code: err.code, message: err.message });
    }
  }

  #onEvent(event: AppEvent): void {
    if (event.type === 'debug' && !this.#options.debug) return;
    this.#frontend.show(event);
    if (event.type === 'connected') {
      if (this.#pumpInput) this.#pumpInput();
      else this.#flushQueue();
    }
    if ((event.type === 'file-done' || event.type === 'file-error') && event.direction === 'send' && this.#options.send) {
      this.#sent.set(event.id, event.type === 'file-done');
      this.#checkSent();
    }
    const peerGone = (event.type === 'left' || event.type === 'lost') && event.via === undefined;
    if (peerGone && this.#options.connect) {
      // `send` exits by its transfers' outcome: a peer leaving mid-transfer is a failure.
      const code = event.type === 'left' && !this.#options.send ? 0 : 1;
      // A peer back with a new conversation joins just after its old one is reported lost: count
      // the peers once that is done.
      queueMicrotask(() => {
        if (this.#conversation.peerCount === 0 && !this.#quitting) void this.#quit('', code);
      });
    }
  }

  #readPipedInput(): void {
    const rl = createInterface({ input: process.stdin, terminal: false });
    // Read no faster than the slowest peer takes it (its connection, and what it has yet to
    // acknowledge): memory stays flat for any input size. A paused reader still hands over the
    // rest of the chunk it read, so lines wait in the queue until there is room.
    const pump = () => {
      this.#flushQueue();
      if (this.#queue.length === 0 && this.#conversation.canSend) rl.resume();
      else rl.pause();
    };
    this.#pumpInput = pump;
    rl.on('line', (line) => {
      this.#linesRead++;
      this.#queue.push(line);
      pump();
    });
    this.#conversation.on('drain', pump);
    rl.on('close', () => {
      this.#inputEnded = true;
      this.#flushQueue();
    });
  }

  /** Send queued piped lines once someone is there; after end of input, leave once all are sent. */
  #flushQueue(): void {
    if (this.#quitting) return;
    if (this.#conversation.peerCount > 0) {
      while (this.#queue.length > 0 && this.#conversation.canSend) this.#say(this.#queue.shift()!, false);
    }
    // Empty input means receive-only (e.g. `p2p-chat listen > log`): keep running.
    if (this.#inputEnded && this.#linesRead > 0 && this.#queue.length === 0) void this.#finishInput();
  }

  /** All piped lines are out: leave once every peer has acknowledged them (or the resume window is over). */
  async #finishInput(): Promise<void> {
    if (this.#settling) return;
    this.#settling = true;
    // With resuming off (--resume-window 0) a live peer still gets until the keepalive would give up on it.
    const { resumeWindowMs, keepaliveTimeoutMs } = this.#conversation.timing;
    await this.#conversation.settle(Math.max(resumeWindowMs, keepaliveTimeoutMs));
    await this.#quit('', 0);
  }

  #onTypedLine(line: string): void {
    const command = parseInput(line);
    switch (command.kind) {
      case 'empty':
        return;
      case 'say':
      case 'me':
        this.#say(command.text, command.kind === 'me');
        return;
      case 'quit':
        void this.#quit(command.reason, 0);
        return;
      case 'connect':
        void this.#dial(command.target);
        return;
      case 'send':
      case 'accept':
      case 'decline':
      case 'cancel':
      case 'transfers':
        runFileCommand(this.#conversation, command, this.#frontend);
        return;
      case 'nick':
      case 'who':
      case 'peers':
      case 'help':
      case 'invalid':
        runChatCommand(this.#conversation, command, this.#frontend);
        return;
    }
  }

  #say(text: string, action: boolean): void {
    if (this.#conversation.peerCount === 0 && process.stdin.isTTY && !this.#options.json) {
      this.#frontend.info(pc.yellow('nobody is connected yet; your message was not sent'));
      return;
    }
    try {
      this.#conversation.send(text, { action });
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      this.#frontend.show({ type: 'error', code: err.code, message: err.message });
    }
  }

  #onInterrupt(): void {
    this.#interrupts++;
    if (this.#interrupts === 1) {
      this.#frontend.info(pc.dim('-- leaving (press Ctrl-C again to quit at once)'));
      void this.#quit('', 0);
      return;
    }
    this.#conversation.abort();
    this.#frontend.close();
    this.#done(130);
  }

  async #quit(reason: string, code: number): Promise<void> {
    if (this.#quitting) return;
    this.#quitting = true;
    this.#exitCode = code;
    SYSTEM_CLOCK.clearInterval(this.#holding);
    const delivered = await this.#conversation.quit(reason);
    const missing = this.#linesRead > 0 ? this.#conversation.undelivered() : [];
    if (missing.length > 0) {
      // Piped lines a peer never acknowledged: say how many, and to whom.
      this.#frontend.show({ type: 'error', code: 'ERR_NOT_DELIVERED', message: undeliveredLine(missing, this.#linesRead) });
      this.#exitCode = 1;
    } else if (!delivered && code === 0 && this.#linesRead > 0) {
      // Piped input that did not all get out must not look like success.
      this.#frontend.show({ type: 'error', code: 'ERR_CONNECTION_LOST', message: 'not everything sent was delivered before the connection closed' });
      this.#exitCode = 1;
    }
    this.#frontend.close();
    this.#done(this.#exitCode);
  }
}

/** `3 of 1000 lines were not delivered to bob`, or for several peers, each with its count. */
function undeliveredLine(missing: readonly Undelivered[], lines: number): string {
  const name = (u: Undelivered) => sanitizeName(u.name);
  if (missing.length === 1) return `${missing[0]!.count} of ${lines} lines were not delivered to ${name(missing[0]!)}`;
  return `lines not delivered (of ${lines}): ${missing.map((u) => `${u.count} to ${name(u)}`).join(', ')}`;
}
