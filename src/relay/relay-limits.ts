// Admission control for the relay: counts open connections (in total and per IP) and control
// peers, and says when a new one is over a limit, with the line the peer is told. Pure counting;
// the server decides what "refused" means for each kind of connection.

export interface AdmissionLimits {
  readonly maxPeers: number;
  readonly maxConnectionsPerIp: number;
  /** The process's open-file limit (Infinity when unlimited). */
  readonly fdLimit: number;
  readonly fdHeadroom: number;
}

export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #perIp = new Map<string, number>();
  #open = 0;
  #peers = 0;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Open connections of every kind (sniffing, control, data). */
  get open(): number {
    return this.#open;
  }

  /** Control connections admitted and not yet closed. */
  get peers(): number {
    return this.#peers;
  }

  /**
   * Most connections the listening socket may hold at all (for `server.maxConnections`): past it
   * there are not enough descriptors left to answer, so the kernel connection is dropped at once.
   */
  get hardCeiling(): number {
    const { fdLimit, fdHeadroom } = this.#limits;
    if (!Number.isFinite(fdLimit)) return 0; // 0 = no limit for net.Server
    return Math.max(1, fdLimit - Math.ceil(fdHeadroom / 2));
  }

  opened(ip: string): void {
    this.#open++;
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
  }

  closed(ip: string): void {
    this.#open = Math.max(0, this.#open - 1);
    const n = (this.#perIp.get(ip) ?? 0) - 1;
    if (n > 0) this.#perIp.set(ip, n);
    else this.#perIp.delete(ip);
  }

  /** Why a new control connection from `ip` (already counted as open) is refused, if it is. */
  refuseControl(ip: string): string | undefined {
    const { maxPeers, fdLimit, fdHeadroom } = this.#limits;
    if (this.#peers >= maxPeers) return `the relay is full (${maxPeers} peers connected); try later`;
    const perIp = this.refusePerIp(ip);
    if (perIp) return perIp;
    if (this.#open + fdHeadroom > fdLimit) {
      return `the relay is full (${this.#open} connections open, near its limit of ${fdLimit} open files); try later`;
    }
    return undefined;
  }

  /**
   * Why a data connection from `ip` is refused, if it is. Only the per-address cap applies: its
   * session was admitted at dial time against maxSessions, which is what bounds data connections.
   */
  refuseData(ip: string): string | undefined {
    return this.refusePerIp(ip);
  }

  refusePerIp(ip: string): string | undefined {
    const max = this.#limits.maxConnectionsPerIp;
    if ((this.#perIp.get(ip) ?? 0) > max) return `the relay is full (more than ${max} connections from ${ip}); try later`;
    return undefined;
  }

  peerAdded(): void {
    this.#peers++;
  }

  peerRemoved(): void {
    this.#peers = Math.max(0, this.#peers - 1);
  }
}
