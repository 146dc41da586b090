// Which of our network interfaces shares a subnet with an IPv4 address. mDNS tells us a peer's
// link-local IPv6 address but not the interface it is reachable on; the interface on which its
// IPv4 address is local is the one, and names the scope (`fe80::1%eth0`) needed to dial it.

import { isIPv4 } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

export function interfaceFor(
  ipv4: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string | undefined {
  if (!isIPv4(ipv4)) return undefined;
  const target = toInt(ipv4);
  for (const [name, entries] of Object.entries(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.family !== 'IPv4' || entry.internal) continue;
      const mask = toInt(entry.netmask);
      if ((toInt(entry.address) & mask) === (target & mask)) return name;
    }
  }
  return undefined;
}
