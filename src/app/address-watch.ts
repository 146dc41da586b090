// Notices when this machine's addresses change (it moved to another network, a VPN came up), so
// that a listener announces itself again on the LAN and a peer with a relay connects to it again
// from the new address: a peer dialling it back after the move finds it there. Polls: no portable
// event exists.

import type { Clock, Timer } from '../clock.js';
import { localAddresses } from '../net/local-addresses.js';

export class AddressWatch {
  readonly #clock: Clock;
  readonly #read: () => readonly string[];
  #last: string;
  #timer: Timer | undefined;

  /** `read`: the addresses now (localAddresses by default; a test passes its own). */
  constructor(clock: Clock, read: () => readonly string[] = () => localAddresses()) {
    this.#clock = clock;
    this.#read = read;
    this.#last = key(read());
  }

  /** Every `intervalMs`, call `changed` with the new addresses if they differ from the last seen. */
  start(intervalMs: number, changed: (addresses: readonly string[]) => void): void {
    this.stop();
    this.#timer = this.#clock.setInterval(() => {
      const now = this.#read();
      const k = key(now);
      if (k === this.#last) return;
      this.#last = k;
      changed(now);
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function key(addresses: readonly string[]): string {
  return [...addresses].sort().join(' ');
}
