// The benchmark's side of a helper process it talks to over Node's IPC channel (a memory host, a
// peer swarm): awaitable replies by type (and request id), bounded waits, and an exit or spawn
// failure turned into an error naming the process and the end of its stderr.

import type { ChildProcess } from 'node:child_process';
import { hasExited, stopChild, ULIMIT_FAILED_STATUS } from './children.js';
import { withTimeout } from './deadline.js';

export interface IpcMessage {
  readonly type: string;
  readonly id?: number;
}

interface Waiter<M> {
  readonly match: (message: M) => boolean;
  readonly resolve: (message: M) => void;
  readonly reject: (error: Error) => void;
}

export class IpcChild<Reply extends IpcMessage> {
  readonly label: string;
  /** Rejects once the process has exited or could not start (its exit is always a failure here). */
  readonly failed: Promise<never>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter<Reply>>();
  readonly #listeners: Array<(message: Reply) => void> = [];
  #failure: Error | undefined;
  #stderr = '';
  #nextId = 1;
  #rejectFailed: (error: Error) => void = () => undefined;

  constructor(child: ChildProcess, label: string) {
    this.#child = child;
    this.label = label;
    this.failed = new Promise<never>((_, reject) => (this.#rejectFailed = reject));
    this.failed.catch(() => undefined); // only a failure for whoever awaits it
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => (this.#stderr = (this.#stderr + text).slice(-2_000)));
    child.on('message', (message: Reply) => {
      for (const listener of this.#listeners) listener(message);
      for (const waiter of [...this.#waiters]) {
        if (!waiter.match(message)) continue;
        this.#waiters.delete(waiter);
        waiter.resolve(message);
      }
    });
    child.once('exit', (code, signal) => {
      const why =
        code === ULIMIT_FAILED_STATUS
          ? 'could not raise its open-file limit (ulimit -n)'
          : `exited (${signal ?? `status ${code}`})`;
      const stderr = this.#stderr.trim();
      this.#fail(new Error(`${label} ${why}${stderr ? `: ${stderr}` : ''}`));
    });
    child.once('error', (err) => this.#fail(new Error(`${label} could not be started: ${err.message}`)));
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw this.#failure ?? new Error(`${this.label} has no pid`);
    return this.#child.pid;
  }

  /** Every message, as it comes (progress reports). */
  onMessage(listener: (message: Reply) => void): void {
    this.#listeners.push(listener);
  }

  send(message: object): void {
    if (this.#failure) throw this.#failure;
    this.#child.send(message);
  }

  /** The next message of `type` (and matching, if given), within `ms`. */
  waitFor<T extends Reply['type']>(type: T, ms: number, what: string, match: (m: Extract<Reply, { type: T }>) => boolean = () => true) {
    type R = Extract<Reply, { type: T }>;
    const reply = new Promise<R>((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      this.#waiters.add({ match: (m) => m.type === type && match(m as R), resolve: (m) => resolve(m as R), reject });
    });
    return withTimeout(reply, ms, `${this.label}: ${what}`);
  }

  /** Send `message` with a fresh id and wait for the reply of `type` carrying it; rejects if the process is gone. */
  request<T extends Reply['type']>(message: object, type: T, ms: number, what: string) {
    const id = this.#nextId++;
    const reply = this.waitFor(type, ms, what, (m) => m.id === id);
    // Gone already: the reply has failed with why, and that is all the caller should see.
    if (this.#failure === undefined) this.#child.send({ ...message, id });
    return reply;
  }

  /** SIGTERM, then SIGKILL if it lingers. Its sockets close with it. */
  async stop(): Promise<void> {
    if (!hasExited(this.#child)) await stopChild(this.#child, 'SIGTERM', 5_000);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#rejectFailed(this.#failure);
    for (const waiter of this.#waiters) waiter.reject(this.#failure);
    this.#waiters.clear();
  }
}
