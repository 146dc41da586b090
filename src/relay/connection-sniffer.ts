// Tells the relay's two kinds of connection apart from their first bytes, as a pure machine fed
// chunks: `P2PCHAT` + version opens a control connection (a Noise session with the relay itself),
// `P2PDATA` + version + token a data connection to be spliced. Anything else is a stranger,
// turned away at its first wrong byte. It never holds more than the bytes it needs to decide.

import { chatError } from '../errors.js';
import { DATA_MAGIC, DATA_HELLO_LENGTH, DATA_PREAMBLE } from '../wire/data-preamble.js';
import { describeStranger, PREAMBLE, PROTOCOL_VERSION } from '../wire/preamble.js';

/** Bytes the two magics share in length; the byte after them is the protocol version. */
const MAGIC_LENGTH = DATA_MAGIC.length;
const CONTROL_MAGIC = PREAMBLE.subarray(0, MAGIC_LENGTH);

export type SniffResult =
  | { readonly kind: 'pending' }
  /**
   * A control connection: `head` is every byte received so far (the preamble and whatever
   * followed), to be given back to the stream for the Noise layer. Its version byte is left to
   * that layer, which answers with our own preamble so the peer can say what mismatched.
   */
  | { readonly kind: 'control'; readonly head: Buffer }
  /** A data connection: its token (hex) and any bytes that came after it, to be forwarded. */
  | { readonly kind: 'data'; readonly token: string; readonly rest: Buffer };

export class ConnectionSniffer {
  #seen: Buffer = Buffer.alloc(0);
  #decided = false;

  /** Bytes held while undecided (never more than DATA_HELLO_LENGTH plus one chunk). */
  get bufferedBytes(): number {
    return this.#seen.length;
  }

  /** What was seen so far, e.g. to describe a connection that closed before deciding. */
  describe(): string {
    return describeStranger(this.#seen);
  }

  /**
   * Feed the next chunk. Throws ERR_NOT_P2P_CHAT at the first byte no p2p-chat connection would
   * send, and ERR_VERSION_MISMATCH for a data connection of another protocol version.
   */
  push(chunk: Uint8Array): SniffResult {
    if (this.#decided) throw new Error('ConnectionSniffer.push called after it decided');
    // Copied, even the first: a stream's chunk is lent only for its 'data' event (byte-stream.ts),
    // and what is seen is kept across chunks and handed back in the result.
    this.#seen = Buffer.concat([this.#seen, chunk]);
    const seen = this.#seen;

    const n = Math.min(seen.length, MAGIC_LENGTH);
    const control = CONTROL_MAGIC.subarray(0, n).equals(seen.subarray(0, n));
    const data = DATA_MAGIC.subarray(0, n).equals(seen.subarray(0, n));
    if (!control && !data) {
      this.#decided = true;
      throw chatError(
        'ERR_NOT_P2P_CHAT',
        `the other side is not a p2p-chat peer (it sent what looks like ${describeStranger(seen)})`,
      );
    }
    if (seen.length <= MAGIC_LENGTH) return { kind: 'pending' };

    if (control) {
      this.#decided = true;
      return { kind: 'control', head: seen };
    }
    const version = seen[MAGIC_LENGTH]!;
    if (version !== PROTOCOL_VERSION) {
      this.#decided = true;
      throw chatError(
        'ERR_VERSION_MISMATCH',
        `a relayed data connection speaks protocol version ${version}, this relay speaks version ${PROTOCOL_VERSION}`,
      );
    }
    if (seen.length < DATA_HELLO_LENGTH) return { kind: 'pending' };
    this.#decided = true;
    return {
      kind: 'data',
      token: seen.subarray(DATA_PREAMBLE.length, DATA_HELLO_LENGTH).toString('hex'),
      rest: seen.subarray(DATA_HELLO_LENGTH),
    };
  }
}
