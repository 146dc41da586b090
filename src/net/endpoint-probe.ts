// The datagrams by which a peer learns its public UDP endpoint from a relay, as STUN does: the
// peer sends a `probe` to the relay's UDP port, the relay answers `seen` with the source address
// and port it saw the probe come from. This module is their codec; relay/endpoint-reflector.ts
// answers, app/endpoint-probe-client.ts asks. Layout and why both are one size: docs/protocol.md,
// section 16.

import { isIPv4, isIPv6 } from 'node:net';

/** Size of both datagrams: a `seen` is never larger than the `probe` it answers. */
export const ENDPOINT_PROBE_SIZE = 34;
/** Bytes of the nonce a probe carries and its `seen` echoes. */
export const PROBE_NONCE_BYTES = 8;
const MAGIC = 0x5032504f; // "P2PO"
const VERSION = 1;
const TYPE_CODES = Object.freeze({ probe: 1, seen: 2 } as const);
const FAMILY_OFFSET = 6;
const NONCE_OFFSET = 8;
const PORT_OFFSET = 16;
const ADDRESS_OFFSET = 18;

export type EndpointDatagram =
  | { readonly type: 'probe'; readonly nonce: Buffer }
  /** `host` as plain text (IPv4 dotted, IPv6 compressed, no brackets), `port` 1-65535. */
  | { readonly type: 'seen'; readonly nonce: Buffer; readonly host: string; readonly port: number };

/**
 * The datagram's bytes. A `seen` needs an IP address for `host` (a %scope is dropped, an
 * IPv4-mapped IPv6 address is written as IPv4) and a port of 1-65535; anything else throws.
 */
export function encodeEndpointDatagram(message: EndpointDatagram): Buffer {
  if (message.nonce.length !== PROBE_NONCE_BYTES) throw new RangeError(`a probe nonce is ${PROBE_NONCE_BYTES} bytes, not ${message.nonce.length}`);
  const bytes = Buffer.alloc(ENDPOINT_PROBE_SIZE);
  bytes.writeUInt32BE(MAGIC, 0);
  bytes[4] = VERSION;
  bytes[5] = TYPE_CODES[message.type];
  bytes.set(message.nonce, NONCE_OFFSET);
  if (message.type === 'seen') {
    const address = addressBytes(message.host);
    if (!address) throw new RangeError(`${message.host} is not an IP address`);
    if (!Number.isInteger(message.port) || message.port < 1 || message.port > 65535) throw new RangeError(`${message.port} is not a port`);
    bytes[FAMILY_OFFSET] = address.length === 4 ? 4 : 6;
    bytes.writeUInt16BE(message.port, PORT_OFFSET);
    bytes.set(address, ADDRESS_OFFSET);
  }
  return bytes;
}

/**
 * The datagram in `bytes`, or undefined for anything else: another size, magic, version or type,
 * a probe whose padding is not zero, a `seen` with an unknown family, port 0, bytes past an IPv4
 * address that are not zero, or an IPv4 address written as IPv6. Callers drop those unanswered.
 */
export function decodeEndpointDatagram(bytes: Uint8Array): EndpointDatagram | undefined {
  if (bytes.length !== ENDPOINT_PROBE_SIZE) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.readUInt32BE(0) !== MAGIC || view[4] !== VERSION || view[7] !== 0) return undefined;
  const nonce = Buffer.from(view.subarray(NONCE_OFFSET, NONCE_OFFSET + PROBE_NONCE_BYTES));
  if (view[5] === TYPE_CODES.probe) {
    return view[FAMILY_OFFSET] === 0 && allZero(view.subarray(PORT_OFFSET)) ? { type: 'probe', nonce } : undefined;
  }
  if (view[5] !== TYPE_CODES.seen) return undefined;
  const port = view.readUInt16BE(PORT_OFFSET);
  const address = view.subarray(ADDRESS_OFFSET);
  const host = view[FAMILY_OFFSET] === 4 ? ipv4Text(address) : view[FAMILY_OFFSET] === 6 ? ipv6Text(address) : undefined;
  return host !== undefined && port !== 0 ? { type: 'seen', nonce, host, port } : undefined;
}

function allZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/** 4 bytes for IPv4 (an IPv4-mapped IPv6 address included), 16 for IPv6, undefined for a non-address. */
function addressBytes(host: string): Buffer | undefined {
  const plain = host.split('%')[0]!;
  if (isIPv4(plain)) return Buffer.from(plain.split('.').map(Number));
  if (!isIPv6(plain)) return undefined;
  const bytes = ipv6Bytes(plain);
  return isMappedIpv4(bytes) ? bytes.subarray(12) : bytes;
}

function ipv6Bytes(text: string): Buffer {
  // An embedded IPv4 tail (::ffff:192.0.2.1) as its two 16-bit groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hex = dotted
    ? text.slice(0, dotted.index) + [[1, 2], [3, 4]].map(([hi, lo]) => ((Number(dotted[hi!]) << 8) | Number(dotted[lo!])).toString(16)).join(':')
    : text;
  const [head = '', tail] = hex.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(Number.parseInt(group, 16), 2 * i));
  return bytes;
}

function isMappedIpv4(bytes: Uint8Array): boolean {
  return allZero(bytes.subarray(0, 10)) && bytes[10] === 0xff && bytes[11] === 0xff;
}

function ipv4Text(address: Uint8Array): string | undefined {
  return allZero(address.subarray(4)) ? [...address.subarray(0, 4)].join('.') : undefined;
}

/** RFC 5952's form: lower-case hex, the longest run of two or more zero groups (the first) as `::`. */
function ipv6Text(address: Uint8Array): string | undefined {
  if (isMappedIpv4(address)) return undefined;
  const view = Buffer.from(address.buffer, address.byteOffset, address.length);
  const groups = Array.from({ length: 8 }, (_, i) => view.readUInt16BE(2 * i));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}
