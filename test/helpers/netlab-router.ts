// Netlab routers: what each kind does between its home LAN and the outer LAN, as an nftables
// ruleset, and the set-up of a router's namespace once Netlab has wired its two interfaces.

import type { LabInterface } from './netlab.js';
import { runCommand } from './run-command.js';

/**
 * What a router does between its inside (eth0) and outside (eth1) LAN:
 * - `nat`: plain `masquerade` out of eth1. Linux keeps the inside source port when that tuple is
 *   free, so one inside port maps to one outside port whatever the destination (endpoint-independent).
 * - `symmetric-nat`: `masquerade random,fully-random`: a fresh random outside port per connection,
 *   hence per destination.
 * - `firewall`: a home router with no port forwarding: `masquerade` (so the home LAN may stay
 *   private) plus a stateful filter that drops anything new arriving on eth1, forwarded or for the
 *   router itself (unsolicited connections time out instead of being refused).
 * The NAT kinds refuse new UDP from outside for the router itself, as a home router does (its WAN
 * side listens for nothing). The refusal (ICMP port unreachable) is what its own stack would send,
 * but through nftables the datagram leaves no conntrack entry. Without that, a peer's punch that
 * reached the far router before the far side had sent left one, which moved the far side's mapping
 * to another port for 30 s: punching then needed both ends to start within one one-way latency,
 * and a loaded peer missed that in 9 runs of 15 (hole-punch.test.ts, 20 ms). Nothing else is
 * filtered; a NAT kind forwards whatever is routed to its inside addresses.
 */
export type RouterKind = 'nat' | 'symmetric-nat' | 'firewall';

export const ROUTER_KINDS: readonly RouterKind[] = ['nat', 'symmetric-nat', 'firewall'];

export interface RouterOptions {
  /** The home LAN and the router's address there (`192.168.1.1/24`), which hosts use as `gateway`. */
  inside: { lan: string; address: string };
  /** The outer LAN and the address the home's traffic appears to come from (`203.0.113.2/24`). */
  outside: { lan: string; address: string };
  kind: RouterKind;
}

export interface LabRouter {
  readonly name: string;
  readonly namespace: string;
  readonly kind: RouterKind;
  /** `eth0`, on the home LAN. */
  readonly inside: LabInterface;
  /** `eth1`, on the outer LAN. */
  readonly outside: LabInterface;
  /** The nftables ruleset loaded into the router's namespace. */
  readonly ruleset: string;
}

/** The nftables ruleset for a router of `kind` whose outside interface is `outside`. */
export function routerRuleset(kind: RouterKind, outside: string): string {
  const masquerade = kind === 'symmetric-nat' ? 'masquerade random,fully-random' : 'masquerade';
  const lines = [
    'table ip netlab {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${outside}" ${masquerade}`,
    '  }',
  ];
  if (kind !== 'firewall') {
    lines.push(
      '  chain input {',
      '    type filter hook input priority filter; policy accept;',
      `    iifname "${outside}" meta l4proto udp ct state new reject`,
      '  }',
    );
  }
  if (kind === 'firewall') {
    for (const hook of ['forward', 'input']) {
      lines.push(
        `  chain ${hook} {`,
        `    type filter hook ${hook} priority filter; policy accept;`,
        `    iifname "${outside}" ct state established,related accept`,
        `    iifname "${outside}" drop`,
        '  }',
      );
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Load `kind`'s ruleset into the router's namespace and turn IPv4 forwarding on; returns the ruleset. */
export async function configureRouter(namespace: string, kind: RouterKind, outside: string): Promise<string> {
  const ruleset = routerRuleset(kind, outside);
  // nft reads its command line as one script, so the ruleset needs no temporary file.
  await runCommand('ip', ['netns', 'exec', namespace, 'nft', ruleset]);
  await runCommand('ip', ['netns', 'exec', namespace, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
  return ruleset;
}
