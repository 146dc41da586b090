// IPv4 networks a netlab may use: only the documentation (TEST-NET) and private ranges, so a lab
// can never be wired to an address that belongs to someone on the real Internet.

export interface Ipv4Network {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly bits: number;
  readonly text: string;
}

export interface Ipv4Interface {
  /** The address alone, e.g. `192.0.2.11`. */
  readonly address: string;
  readonly value: number;
  readonly bits: number;
}

/** TEST-NET-1/2/3 (RFC 5737) and the RFC 1918 private ranges. */
export const LAB_RANGES: readonly Ipv4Network[] = Object.freeze(
  ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(
    (text) => parseNetwork(text),
  ),
);

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function contains(network: Ipv4Network, value: number, bits = 32): boolean {
  return bits >= network.bits && ((value & mask(network.bits)) >>> 0) === network.base;
}

function splitPrefix(text: string): { value: number; bits: number | undefined } {
  const [addressText = '', bitsText, ...rest] = text.split('/');
  const value = parseIpv4(addressText);
  const bits = bitsText === undefined ? undefined : /^\d{1,2}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (value === undefined || rest.length > 0 || (bits !== undefined && !(bits >= 0 && bits <= 32))) {
    throw new Error(`netlab: '${text}' is not an IPv4 address or CIDR`);
  }
  return { value, bits };
}

/** Parse `a.b.c.d/n` with no host bits set; any range is accepted here (see labNetwork). */
export function parseNetwork(text: string): Ipv4Network {
  const { value, bits } = splitPrefix(text);
  if (bits === undefined) throw new Error(`netlab: '${text}' has no prefix length`);
  if (((value & mask(bits)) >>> 0) !== value) throw new Error(`netlab: '${text}' has host bits set`);
  return { base: value, bits, text };
}

/** A LAN network, refused unless it lies inside one of LAB_RANGES. */
export function labNetwork(text: string): Ipv4Network {
  const network = parseNetwork(text);
  if (!LAB_RANGES.some((range) => contains(range, network.base, network.bits))) {
    throw new Error(`netlab: ${text} is outside the TEST-NET and private ranges a lab may use`);
  }
  return network;
}

/** An interface address on `network` (`192.0.2.11` or `192.0.2.11/24`): a usable host address. */
export function hostOn(network: Ipv4Network, text: string): Ipv4Interface {
  const { value, bits = network.bits } = splitPrefix(text);
  if (bits !== network.bits || !contains(network, value)) {
    throw new Error(`netlab: ${text} is not an address on ${network.text}`);
  }
  const broadcast = (network.base | ~mask(network.bits)) >>> 0;
  if (network.bits < 31 && (value === network.base || value === broadcast)) {
    throw new Error(`netlab: ${text} is the network or broadcast address of ${network.text}`);
  }
  return { address: formatIpv4(value), value, bits };
}
