// Runs one chat from start to exit: builds the ChatNode, picks the front end (interactive, pipe
// or --json), feeds typed or piped lines in, and owns signals and the exit code.
//   listen:  serves until /quit, Ctrl-C, SIGTERM, or end of piped input.
//   connect: also ends when the last peer goes (0 if it said goodbye, 1 if the link was lost).

import { createInterface } from 'node:readline';
import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { ChatNode } from '../app/chat-node.js';
import { P2PChatError } from '../errors.js';
import type { Identity } from '../secure/identity-store.js';
import type { KnownPeers } from '../secure/known-peers.js';
import { parseInput } from './input-commands.js';
import { InteractiveFrontend, JsonFrontend, PipeFrontend, type Frontend } from './frontends.js';
import { connectToTarget, type PathMode } from '../app/connect-strategy.js';
import { linkRelay, type RelayLink } from '../app/relay-link.js';
import type { RelayAddress } from '../net/relay-address.js';
import { PeerDirectory } from '../app/peer-directory.js';
import { PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import { sanitizeName } from '../session/sanitize.js';
import type { AcceptPolicy } from '../app/files/transfers.js';
import type { FileList } from '../app/files/file-list.js';
import { runChatCommand } from './chat-commands.js';
import { offerFiles, runFileCommand } from './file-commands.js';
import { SendFrontend } from './send-frontend.js';

export interface RunChatOptions {
  readonly identity: Identity;
  readonly knownPeers: KnownPeers;
  readonly name: string;
  readonly json: boolean;
  /** LAN discovery: announce while listening, browse for /peers and names. */
  readonly mdns: boolean;
  readonly listen?: { host: string; port: number; fallback: boolean };
  /** What was typed after `connect`, and --expect if given (validated). */
  readonly connect?: { target: string; expect?: string; mode: PathMode };
  /** --relay (or P2P_CHAT_RELAY): register there, and fall back to it when a direct dial fails. */
  readonly relay?: { address: RelayAddress; pin?: string };
  /** P2P_CHAT_DEBUG: also show `debug` events. */
  readonly debug?: boolean;
  /** Where received files go and which offers are accepted unasked. */
  readonly files: { readonly downloadDir: string; readonly acceptFiles: AcceptPolicy };
  /** `p2p-chat send`: offer these files once connected, and exit when the transfers end. */
  readonly send?: FileList;
}

/** Resolves with the process exit code; rejects with the error when the chat cannot start. */
export function runChat(options: RunChatOptions): Promise<number> {
  return new Promise((resolve, reject) => new ChatRun(options, resolve, reject).start());
}

class ChatRun {
  readonly #options: RunChatOptions;
  readonly #done: (code: number) => void;
  readonly #failed: (error: P2PChatError) => void;
  readonly #node: ChatNode;
  readonly #directory: PeerDirectory | undefined;
  #relay: RelayLink | undefined;
  readonly #frontend: Frontend;
  /** Piped lines waiting for a first peer. */
  readonly #queue: string[] = [];
  #linesRead = 0;
  #inputEnded = false;
  #quitting = false;
  #interrupts = 0;
  #exitCode = 0;

  constructor(options: RunChatOptions, done: (code: number) => void, failed: (error: P2PChatError) => void) {
    this.#options = options;
    this.#done = done;
    this.#failed = failed;
    const interactive = process.stdin.isTTY === true && !options.json && !options.send;
    // Without a prompt nobody can type /accept: an offer is declined at once, not left to expire.
    const files = !interactive && options.files.acceptFiles === 'ask' ? { ...options.files, acceptFiles: 'never' as const } : options.files;
    // The front end comes first: the node reports transfer progress at the rate it asks for.
    this.#frontend = this.#createFrontend(interactive);
    const timing = { fileProgressIntervalMs: this.#frontend.progressIntervalMs };
    this.#node = new ChatNode({ identity: options.identity, knownPeers: options.knownPeers, name: options.name, files, timing });
    this.#directory = options.mdns ? new PeerDirectory(options.knownPeers, options.identity.fingerprint) : undefined;
    if (!options.send && !interactive) this.#readPipedInput();
  }

  #createFrontend(interactive: boolean): Frontend {
    const { send, json, name } = this.#options;
    if (send) return json ? new JsonFrontend() : new SendFrontend();
    if (!interactive) return json ? new JsonFrontend() : new PipeFrontend();
    // The prompt shows the name as the node will hold it (ChatNode sanitises it the same way).
    return new InteractiveFrontend(sanitizeName(name), {
      line: (text) => this.#onTypedLine(text),
      interrupt: () => this.#onInterrupt(),
      end: () => void this.#quit('', 0),
    });
  }

  start(): void {
    this.#node.on('event', (event) => this.#onEvent(event));
    this.#directory?.on('event', (event) => this.#frontend.show(event));
    // Discovery trouble never ends a chat: say it once and carry on without it.
    this.#directory?.on('error', (err) => this.#warnOnce(err));
    process.on('SIGINT', () => this.#onInterrupt());
    process.on('SIGTERM', () => void this.#quit('', 0));
    // Whoever reads our stdout went away (e.g. `| head`): leave cleanly instead of crashing.
    process.stdout.on('error', () => void this.#quit('', 0));
    void this.#begin();
  }

  async #begin(): Promise<void> {
    const { listen, connect } = this.#options;
    try {
      let port = 0;
      if (listen) {
        this.#directory?.browse(); // a listener shows peers arriving; `connect` looks only when asked
        port = await this.#node.listen(listen.host, listen.port, listen.fallback);
        await this.#announce(port);
      }
      this.#startRelay(port);
      if (connect) await this.#dialTarget(connect.target, connect.mode, connect.expect);
      if (this.#options.send) this.#sendFiles(this.#options.send);
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      // Could not start: stop quietly and let the CLI print its one line.
      this.#quitting = true;
      await Promise.all([this.#node.quit(''), this.#directory?.close(), this.#relay?.client.close()]);
      this.#frontend.close();
      this.#failed(err);
    }
  }

  async #announce(port: number): Promise<void> {
    if (!this.#directory) return;
    const fingerprint = this.#options.identity.fingerprint;
    try {
      const instance = await this.#directory.announce({ name: this.#node.name, fingerprint, port, version: PROTOCOL_VERSION });
      this.#frontend.show({ type: 'announced', instance, port });
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      this.#warnOnce(err);
    }
  }

  #warned = new Set<string>();
  #warnOnce(err: P2PChatError): void {
    if (this.#warned.has(err.code)) return;
    this.#warned.add(err.code);
    this.#frontend.show({ type: 'warning', code: err.code, message: err.message });
  }

  /** Resolve a target (LAN, relay or address) and connect by the fastest path that works. */
  async #dialTarget(target: string, mode: PathMode, expect?: string): Promise<void> {
    await connectToTarget(this.#node, target, {
      mode,
      ...(expect ? { expect } : {}),
      ...(this.#directory ? { directory: this.#directory } : {}),
      ...(this.#relay ? { relay: this.#relay } : {}),
    });
  }

  /** `p2p-chat send`: offer the files, then leave when every transfer has ended (1 if one failed). */
  #sendFiles(list: FileList): void {
    const transfers = offerFiles(this.#node, list, this.#frontend);
    let failed = false;
    let open = transfers.length;
    for (const transfer of transfers) {
      const ended = (ok: boolean) => {
        failed ||= !ok;
        if (--open === 0) void this.#quit('', failed ? 1 : 0);
      };
      transfer.once('done', () => ended(true));
      transfer.once('failed', () => ended(false));
    }
  }

  /** Keep a control connection to the relay, and accept the sessions it invites us to. */
  #startRelay(port: number): void {
    const relay = this.#options.relay;
    if (!relay) return;
    const options = { relay: relay.address, ...(relay.pin ? { pin: relay.pin } : {}), identity: this.#options.identity, port };
    this.#relay = linkRelay(this.#node, options, (event) => this.#frontend.show(event));
  }

  async #dial(target: string): Promise<void> {
    try {
      await this.#dialTarget(target, 'auto');
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      this.#frontend.show({ type: 'error', code: err.code, message: err.message });
    }
  }

  #onEvent(event: AppEvent): void {
    if (event.type === 'debug' && !this.#options.debug) return;
    this.#frontend.show(event);
    if (event.type === 'connected') {
      this.#flushQueue();
    }
    const peerGone = (event.type === 'left' || event.type === 'lost') && event.via === undefined;
    if (peerGone && this.#options.connect && this.#node.peerCount === 0 && !this.#quitting) {
      // `send` exits by its transfers' outcome: a peer leaving mid-transfer is a failure.
      void this.#quit('', event.type === 'left' && !this.#options.send ? 0 : 1);
    }
  }

  #readPipedInput(): void {
    const rl = createInterface({ input: process.stdin, terminal: false });
    rl.on('line', (line) => {
      this.#linesRead++;
      this.#queue.push(line);
      this.#flushQueue();
      // Read no faster than the slowest peer takes it: memory stays flat for any input size.
      if (!this.#node.canSend) rl.pause();
    });
    this.#node.on('drain', () => rl.resume());
    rl.on('close', () => {
      this.#inputEnded = true;
      this.#flushQueue();
    });
  }

  /** Send queued piped lines once someone is there; after end of input, leave once all are sent. */
  #flushQueue(): void {
    if (this.#quitting) return;
    if (this.#node.peerCount > 0) {
      while (this.#queue.length > 0) this.#say(this.#queue.shift()!, false);
    }
    // Empty input means receive-only (e.g. `p2p-chat listen > log`): keep running.
    if (this.#inputEnded && this.#linesRead > 0 && this.#queue.length === 0) void this.#quit('', 0);
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
        runFileCommand(this.#node, command, this.#frontend);
        return;
      case 'nick':
      case 'who':
      case 'peers':
      case 'help':
      case 'invalid':
        runChatCommand(this.#node, this.#directory, command, this.#frontend);
        return;
    }
  }

  #say(text: string, action: boolean): void {
    if (this.#node.peerCount === 0 && process.stdin.isTTY && !this.#options.json) {
      this.#frontend.info(pc.yellow('nobody is connected yet; your message was not sent'));
      return;
    }
    try {
      this.#node.say(text, action);
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
    this.#node.abort();
    void this.#directory?.close();
    void this.#relay?.client.close();
    this.#frontend.close();
    this.#done(130);
  }

  async #quit(reason: string, code: number): Promise<void> {
    if (this.#quitting) return;
    this.#quitting = true;
    this.#exitCode = code;
    const [delivered] = await Promise.all([this.#node.quit(reason), this.#directory?.close(), this.#relay?.client.close()]);
    if (!delivered && code === 0 && this.#linesRead > 0) {
      // Piped input that did not all get out must not look like success.
      this.#frontend.show({ type: 'error', code: 'ERR_CONNECTION_LOST', message: 'not everything sent was delivered before the connection closed' });
      this.#exitCode = 1;
    }
    this.#frontend.close();
    this.#done(this.#exitCode);
  }
}
