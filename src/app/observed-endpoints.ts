// Where a relay sees us, for RelayClient: the public endpoint of our control connection (which the
// relay says in `registered`, or to a client that does not register, in `session`) and, given a
// UDP socket, that socket's (which we probe the relay for). Both hold only while the control
// connection lasts: a new one may leave from another address, through another NAT mapping.

import { isIpAddress } from '../net/address.js';
import { EndpointProbeClient, type EndpointProbeClientOptions } from './endpoint-probe-client.js';

/** Where the relay sees us, as `host:port`; each undefined until known, and while not connected. */
export interface ObservedEndpoints {
  /** Our control connection: from `registered`, or for a client that does not register, from `session`. */
  readonly tcp?: string;
  /** Our UDP socket (RelayClientOptions.datagrams), from the relay's answers to our probes. */
  readonly udp?: string;
}

export class EndpointObserver {
  readonly #onChange: (endpoints: ObservedEndpoints) => void;
  #tcp: string | undefined;
  #udp: string | undefined;
  #probes: EndpointProbeClient | undefined;

  /** `onChange` hears the endpoints each time either changes. */
  constructor(onChange: (endpoints: ObservedEndpoints) => void) {
    this.#onChange = onChange;
  }

  get tcp(): string | undefined {
    return this.#tcp;
  }

  get udp(): string | undefined {
    return this.#udp;
  }

  get endpoints(): ObservedEndpoints {
    return { ...(this.#tcp ? { tcp: this.#tcp } : {}), ...(this.#udp ? { udp: this.#udp } : {}) };
  }

  /** The relay said where it sees our control connection. */
  seenOverTcp(endpoint: string): void {
    this.#set(endpoint, this.#udp);
  }

  /**
   * Start learning our UDP endpoint over this connection, unless already doing so. Probes need
   * the relay's IP address (as the control connection reached it): a name cannot be sent to.
   */
  probe(options: Omit<EndpointProbeClientOptions, 'onObserved'>): void {
    if (this.#probes || !isIpAddress(options.relayHost)) return;
    this.#probes = new EndpointProbeClient({ ...options, onObserved: (udp) => this.#set(this.#tcp, udp) });
    this.#probes.start();
  }

  /** The control connection is gone: stop probing, and forget what it showed. */
  lost(): void {
    this.stop();
    this.#probes = undefined;
    this.#set(undefined, undefined);
  }

  /** Stop probing (the client closes); what is known stays readable. */
  stop(): void {
    this.#probes?.stop();
  }

  #set(tcp: string | undefined, udp: string | undefined): void {
    if (tcp === this.#tcp && udp === this.#udp) return;
    this.#tcp = tcp;
    this.#udp = udp;
    this.#onChange(this.endpoints);
  }
}
