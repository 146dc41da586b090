// Who is in the conversation of each host we dialled, as its presence messages tell it: the people
// we do not reach ourselves, whose messages the host passes on. /who lists them with their host.
// Pure: the room feeds it presence and tells it when a host goes.

import type { PeerRef } from '../session/message-fields.js';

/**
 * Most members remembered per host. A host admits a few hundred peers (maxPeers); past this a
 * host telling of more is not believed, so a lying one cannot grow our memory without bound.
 */
export const MAX_HOSTED_MEMBERS = 1_024;

interface Entry {
  name: string;
  readonly fingerprint: string;
  /** The same key connected to the host more than once (two devices sharing an identity). */
  sessions: number;
}

export class HostedMembers<Host> {
  readonly #byHost = new Map<Host, Map<string, Entry>>();

  /** `member` is in `host`'s conversation (it joined, or was there when we came). */
  joined(host: Host, member: PeerRef): void {
    let members = this.#byHost.get(host);
    if (!members) {
      members = new Map();
      this.#byHost.set(host, members);
    }
    const entry = members.get(member.fingerprint);
    if (entry) {
      entry.sessions++;
      entry.name = member.name;
    } else if (members.size < MAX_HOSTED_MEMBERS) {
      members.set(member.fingerprint, { name: member.name, fingerprint: member.fingerprint, sessions: 1 });
    }
  }

  /** A member left `host`'s conversation or was lost. */
  gone(host: Host, fingerprint: string): void {
    const members = this.#byHost.get(host);
    const entry = members?.get(fingerprint);
    if (!members || !entry) return;
    if (--entry.sessions === 0) members.delete(fingerprint);
  }

  renamed(host: Host, fingerprint: string, name: string): void {
    const entry = this.#byHost.get(host)?.get(fingerprint);
    if (entry) entry.name = name;
  }

  /** We are no longer connected to `host`: its members are out of reach. */
  hostGone(host: Host): void {
    this.#byHost.delete(host);
  }

  /** The conversation with `from` goes on over `to` (a resumed connection): its members stay. */
  moved(from: Host, to: Host): void {
    const members = this.#byHost.get(from);
    if (!members) return;
    this.#byHost.delete(from);
    this.#byHost.set(to, members);
  }

  /** `host`'s members in the order they were first heard of. */
  of(host: Host): PeerRef[] {
    return [...(this.#byHost.get(host)?.values() ?? [])].map(({ name, fingerprint }) => ({ name, fingerprint }));
  }
}
