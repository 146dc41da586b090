// DNS-SD on the LAN through bonjour-service: publish one service, browse for others, and age out
// peers that vanished without a goodbye. bonjour-service reports "down" only on a goodbye and
// never refreshes a peer it has seen, so the browser is restarted every `refreshMs`: a fresh
// browser hears every live peer again, and one not heard for `staleMs` is reported gone.

import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import type { Bonjour, Browser, Service } from 'bonjour-service';
import type { Clock, Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';

/**
 * bonjour-service (CommonJS) and what it pulls in cost ~1 MiB of memory and start-up time, so they
 * load with the first LanDiscovery: `--no-mdns`, `relay` and `send --no-mdns` never pay for them.
 */
const loadBonjour = () => (createRequire(import.meta.url)('bonjour-service') as typeof import('bonjour-service')).Bonjour;

const MDNS_GROUP = '224.0.0.251';
const MDNS_PORT = 5353;

export interface LanDiscoveryOptions {
  readonly serviceType: string;
  /** Re-query the LAN this often. */
  readonly refreshMs: number;
  /** A peer not heard from for this long is reported gone. */
  readonly staleMs: number;
  /** How long to listen for another responder already using our name before announcing. */
  readonly probeMs: number;
  readonly clock: Clock;
}

export interface HeardPeer {
  readonly service: Service;
  readonly lastSeen: number;
}

interface Events {
  up: [peer: HeardPeer];
  /** A service was seen again (addresses or TXT may have changed). */
  refresh: [peer: HeardPeer];
  down: [instance: string];
  error: [error: P2PChatError];
}

export class LanDiscovery extends EventEmitter<Events> {
  readonly #options: LanDiscoveryOptions;
  readonly #bonjour: Bonjour;
  readonly #heard = new Map<string, HeardPeer>();
  #browser: Browser | undefined;
  #refresh: Timer | undefined;
  #published: Service | undefined;
  #closed = false;

  constructor(options: LanDiscoveryOptions) {
    super();
    this.#options = options;
    // bonjour-service throws socket errors from its default callback; route them to one event.
    this.#bonjour = new (loadBonjour())({}, (err: NodeJS.ErrnoException) => this.#onSocketError(err));
    // It also leaves its multicast-dns socket's 'error' (EADDRINUSE, EACCES on bind) unhandled,
    // which would crash the process: listen on that emitter ourselves.
    const internals = this.#bonjour as unknown as { server?: { mdns?: EventEmitter } };
    internals.server?.mdns?.on('error', (err: NodeJS.ErrnoException) => this.#onSocketError(err));
  }

  /** Start listening for peers (idempotent). */
  browse(): void {
    if (this.#browser || this.#closed) return;
    void this.#checkRoute().then((error) => error && this.emit('error', error));
    this.#startBrowser();
    this.#refresh = this.#options.clock.setInterval(() => {
      this.#startBrowser();
      this.#sweep();
    }, this.#options.refreshMs);
    this.#refresh.unref();
  }

  peers(): HeardPeer[] {
    return [...this.#heard.values()];
  }

  /**
   * Publish our service, in place of the one published before (a new nickname is a new instance
   * name). Probes first (RFC 6762 section 8.1): bonjour-service's own probe only logs a conflict
   * to the console and silently withdraws, so we ask ourselves and fail with a code.
   */
  async publish(instance: string, port: number, txt: Record<string, string>): Promise<void> {
    const type = this.#options.serviceType;
    const fqdn = `${instance}._${type}._tcp.local`;
    await this.#unpublish();
    const noRoute = await this.#checkRoute();
    if (noRoute) throw noRoute;
    if (await this.#nameTaken(fqdn)) {
      throw chatError('ERR_MDNS_NAME_CONFLICT', `another device on the LAN already announces "${instance}"; not announced`);
    }
    // bonjour-service names the SRV target with the bare host name; mDNS host names end in .local.
    const host = `${hostname().split('.')[0] || 'p2p-chat'}.local`;
    if (this.#closed) return; // closed while probing: nothing to announce any more
    this.#published = this.#bonjour.publish({ name: instance, type, port, txt, host, probe: false });
  }

  /** Say goodbye (so others see us leave at once) and release the socket. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#options.clock.clearInterval(this.#refresh);
    this.#browser?.stop();
    return new Promise((resolve) => {
      const destroy = () => this.#bonjour.destroy(() => resolve());
      if (!this.#published) return destroy();
      // A goodbye that cannot be sent (no network) must not hold up the exit.
      const clock = this.#options.clock;
      const timer = clock.setTimeout(destroy, 500);
      this.#bonjour.unpublishAll(() => {
        clock.clearTimeout(timer);
        destroy();
      });
    });
  }

  /** Withdraw our service with a goodbye, so peers forget the old name at once. */
  #unpublish(): Promise<void> {
    const service = this.#published;
    if (!service) return Promise.resolve();
    this.#published = undefined;
    return new Promise((resolve) => {
      // As in close(): a goodbye that cannot be sent must not hold things up.
      const timer = this.#options.clock.setTimeout(resolve, 500);
      service.stop(() => {
        this.#options.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  #startBrowser(): void {
    this.#browser?.stop();
    const browser = this.#bonjour.find({ type: this.#options.serviceType });
    browser.on('up', (service) => this.#onUp(service));
    browser.on('srv-update', (service) => this.#onUp(service));
    browser.on('txt-update', (service) => this.#onUp(service));
    browser.on('down', (service) => this.#forget(service.name));
    this.#browser = browser;
  }

  #onUp(service: Service): void {
    const peer = { service, lastSeen: this.#options.clock.now() };
    const isNew = !this.#heard.has(service.name);
    this.#heard.set(service.name, peer);
    this.emit(isNew ? 'up' : 'refresh', peer);
  }

  #forget(instance: string): void {
    if (this.#heard.delete(instance)) this.emit('down', instance);
  }

  #sweep(): void {
    const cutoff = this.#options.clock.now() - this.#options.staleMs;
    for (const [instance, peer] of this.#heard) if (peer.lastSeen < cutoff) this.#forget(instance);
  }

  #nameTaken(fqdn: string): Promise<boolean> {
    const clock = this.#options.clock;
    return new Promise((resolve) => {
      const browser = this.#bonjour.find({ type: this.#options.serviceType });
      const done = (taken: boolean) => {
        clock.clearTimeout(timer);
        browser.stop();
        resolve(taken);
      };
      browser.on('up', (service) => {
        if (service.fqdn.toLowerCase() === fqdn.toLowerCase()) done(true);
      });
      const timer = clock.setTimeout(() => done(false), this.#options.probeMs);
    });
  }

  /**
   * bonjour-service drops send errors, so with no multicast route it would announce into the void.
   * Connecting a UDP socket makes the kernel look the route up without sending anything.
   */
  #routeCheck: Promise<P2PChatError | undefined> | undefined;
  #checkRoute(): Promise<P2PChatError | undefined> {
    this.#routeCheck ??= new Promise((resolve) => {
      const socket = createSocket('udp4');
      const done = (err?: NodeJS.ErrnoException) => {
        socket.close();
        resolve(err ? this.#describe(err) : undefined);
      };
      // dgram calls the connect callback with the routing error, if any (and emits no 'error').
      socket.connect(MDNS_PORT, MDNS_GROUP, (err?: Error) => done(err as NodeJS.ErrnoException | undefined));
    });
    return this.#routeCheck;
  }

  #onSocketError(err: NodeJS.ErrnoException): void {
    if (!this.#closed) this.emit('error', this.#describe(err));
  }

  #describe(err: NodeJS.ErrnoException): P2PChatError {
    const why =
      err.code === 'EADDRINUSE'
        ? 'UDP port 5353 is taken by another program that does not share it'
        : err.code === 'ENETUNREACH' || err.code === 'EHOSTUNREACH' || err.code === 'EADDRNOTAVAIL'
          ? 'no route for multicast (224.0.0.251); is this machine on a LAN?'
          : undefined;
    if (why === undefined) return P2PChatError.from(err, 'ERR_MDNS_UNAVAILABLE', 'LAN discovery is off');
    return chatError('ERR_MDNS_UNAVAILABLE', `LAN discovery is off: ${why}`, err);
  }
}
