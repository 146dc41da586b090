// Connection preamble: both sides open with ASCII "P2PCHAT" plus one protocol-version byte, before
// any frame. Checking it byte by byte lets us turn away a stranger (a browser, a port scanner, a
// person with netcat) at its first wrong byte, with a message saying what it looked like.

import { chatError, P2PChatError } from '../errors.js';

export const PROTOCOL_VERSION = 1;

const MAGIC = Buffer.from('P2PCHAT', 'ascii');

/** The 8 bytes each side writes first: magic, then PROTOCOL_VERSION. */
export const PREAMBLE: Buffer = Buffer.concat([MAGIC, Buffer.from([PROTOCOL_VERSION])]);

export type PreambleResult = { done: false } | { done: true; version: number; rest: Buffer };

export class PreambleReader {
  /** Bytes of the preamble matched so far; also what a stranger is described from. */
  readonly #seen = Buffer.alloc(PREAMBLE.length);
  #matched = 0;
  #finished = false;
  #failure: P2PChatError | null = null;

  /**
   * Feed bytes from the peer. Once the preamble is complete, `rest` is whatever followed it in the
   * same chunk (a view, possibly empty) and belongs to the frame decoder. A rejection throws
   * ERR_NOT_P2P_CHAT or ERR_VERSION_MISMATCH, and so does every later push.
   */
  push(chunk: Uint8Array): PreambleResult {
    if (this.#failure !== null) throw this.#failure;
    if (this.#finished) throw new Error('PreambleReader.push called after the preamble was read');
    const input = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

    let offset = 0;
    while (offset < input.length && this.#matched < MAGIC.length) {
      const byte = input.readUInt8(offset);
      if (byte !== MAGIC[this.#matched]) {
        // Everything already here helps describe the stranger; we just do not wait for more.
        const sample = Buffer.concat([this.#seen.subarray(0, this.#matched), input.subarray(offset)]);
        throw this.#fail(chatError('ERR_NOT_P2P_CHAT', `the other side is not a p2p-chat peer (${strangerSaid(sample)})`));
      }
      this.#seen[this.#matched++] = byte;
      offset++;
    }
    if (offset === input.length) return { done: false };

    const version = input.readUInt8(offset);
    if (version !== PROTOCOL_VERSION) {
      throw this.#fail(
        chatError(
          'ERR_VERSION_MISMATCH',
          `the other side speaks p2p-chat protocol version ${version}, this program speaks version ` +
            `${PROTOCOL_VERSION}; both need a release with the same protocol version`,
        ),
      );
    }
    this.#finished = true;
    return { done: true, version, rest: input.subarray(offset + 1) };
  }

  #fail(err: P2PChatError): P2PChatError {
    this.#failure = err;
    return err;
  }
}

const HTTP_METHOD = /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH|TRACE|PRI) /;
const HTTP_STATUS = /^HTTP\/\d/;

/**
 * What the other side said, for an error message: a web server's status line is quoted, since a
 * dialler that reached one wants to know it was one; anything else is described.
 */
export function strangerSaid(bytes: Uint8Array): string {
  const looks = describeStranger(bytes);
  if (looks !== 'an HTTP response') return `it sent what looks like ${looks}`;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 200)).toString('latin1');
  // Only printable ASCII of the first line reaches the terminal; the rest is the server's business.
  const status = head.split(/[\r\n]/, 1)[0]!.replace(/[^\x20-\x7e]/g, '').slice(0, 60);
  return `it answered HTTP: "${status}"`;
}

/** A short noun phrase for what some non-p2p-chat bytes look like, for error messages. */
export function describeStranger(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'nothing at all';
  const ascii = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 16)).toString('latin1');
  if (HTTP_METHOD.test(ascii)) return 'an HTTP request';
  if (HTTP_STATUS.test(ascii)) return 'an HTTP response';
  if (bytes[0] === 0x16 && bytes[1] === 0x03) return 'a TLS handshake';
  // Both ends of SSH open with their version line: the client's or the server's greeting.
  if (ascii.startsWith('SSH-')) return 'an SSH greeting';
  if (isText(bytes)) return 'plain text';
  return 'binary data';
}

function isText(bytes: Uint8Array): boolean {
  let text: string;
  try {
    // `stream` tolerates a chunk that ends in the middle of a multi-byte character.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
  } catch {
    return false;
  }
  // Tab, LF and CR are what a person at a terminal sends besides printable characters.
  return text.length > 0 && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(text);
}
