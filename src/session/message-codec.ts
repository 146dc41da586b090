// Message codecs as tables: each protocol (chat, files, relay) is one frozen table keyed by message
// type, whose row gives the type byte and how a peer's body is read (a JSON object by default, or a
// byte layout of its own). MessageCodec reads the tables, so adding a message type is adding a row.
// What we send goes through the same reader first, so it keeps the limits we hold peers to.

import { chatError } from '../errors.js';
import { MAX_PLAINTEXT } from '../secure/secure-channel.js';
import { bad } from './message-fields.js';

export type JsonObject = Record<string, unknown>;

/**
 * A message whose body is a JSON object: `read` checks a body and returns the known fields, with
 * every string within its limit. It reads a peer's message, and ours before it is sent.
 */
export interface JsonRow<Fields extends object> {
  readonly code: number;
  readonly read: (body: JsonObject) => Fields;
}

/** A message with a byte layout of its own after the type byte, read and written whole. */
export interface BinaryRow<M extends { readonly type: string }> {
  readonly code: number;
  readonly encode: (message: M) => Buffer;
  /** May return views into `bytes` rather than copies (file data is read this way). */
  readonly decode: (bytes: Uint8Array) => M;
}

/** Any row (`any`: one table holds rows of different messages; MessageOf gives each its own type). */
export type CodecRow = JsonRow<object> | BinaryRow<any>;
export type CodecTable = { readonly [type: string]: CodecRow };

export function json<Fields extends object>(code: number, read: (body: JsonObject) => Fields): JsonRow<Fields> {
  return { code, read };
}

export function binary<M extends { readonly type: string }>(code: number, codec: Omit<BinaryRow<M>, 'code'>): BinaryRow<M> {
  return { code, ...codec };
}

/** Freeze a protocol's rows (each row and the table), as handshake-patterns does. */
export function codecTable<T extends CodecTable>(rows: T): T {
  for (const row of Object.values(rows)) Object.freeze(row);
  return Object.freeze(rows);
}

/** A table's type codes by type name, for tests and tools that write raw messages. */
export function codesOf<T extends CodecTable>(table: T): { readonly [K in keyof T]: number } {
  return Object.freeze(Object.fromEntries(Object.entries(table).map(([type, row]) => [type, row.code]))) as { [K in keyof T]: number };
}

/** A JSON message: its type name and the fields its row reads. */
export type Message<Type extends string, Fields> = { readonly type: Type } & { readonly [F in keyof Fields]: Fields[F] };

/** The messages a table describes, one per row. */
export type MessageOf<T extends CodecTable> = {
  [K in keyof T & string]: T[K] extends BinaryRow<infer M> ? M : T[K] extends JsonRow<infer Fields> ? Message<K, Fields> : never;
}[keyof T & string];

/** A type code no table knows: ignored, so that newer peers may add types. */
export interface UnknownMessage {
  readonly type: 'unknown';
  readonly code: number;
}

/** Encode and decode the messages of several tables, whose codes and type names must not clash. */
export class MessageCodec<M extends { readonly type: string }> {
  readonly #decoders = new Map<number, (bytes: Uint8Array) => M>();
  readonly #encoders = new Map<string, (message: M) => Buffer>();

  constructor(tables: readonly CodecTable[]) {
    const typeByCode = new Map<number, string>();
    for (const table of tables) {
      for (const [type, row] of Object.entries(table)) {
        const clash = typeByCode.get(row.code);
        if (clash !== undefined) throw new Error(`message code 0x${row.code.toString(16)} is both ${clash} and ${type}`);
        if (this.#encoders.has(type)) throw new Error(`message type ${type} is in two tables`);
        typeByCode.set(row.code, type);
        if ('read' in row) {
          this.#decoders.set(row.code, (bytes) => ({ type, ...row.read(jsonBody(bytes, type)) }) as unknown as M);
          this.#encoders.set(type, ({ type: _, ...fields }) => jsonMessage(row.code, readOwn(row, type, fields)));
        } else {
          this.#decoders.set(row.code, row.decode);
          this.#encoders.set(type, row.encode);
        }
      }
    }
  }

  /** The message's bytes; one that would not fit in a frame is refused here, not lost on the way. */
  encode(message: M): Buffer {
    const encode = this.#encoders.get(message.type);
    if (encode === undefined) throw new TypeError(`no codec for message type ${message.type}`);
    const bytes = encode(message);
    if (bytes.length > MAX_PLAINTEXT) {
      throw chatError('ERR_FRAME_TOO_LARGE', `a ${message.type} message of ${bytes.length} bytes is over the ${MAX_PLAINTEXT}-byte frame limit`);
    }
    return bytes;
  }

  decode(bytes: Uint8Array): M | UnknownMessage {
    if (bytes.length === 0) throw bad('empty message');
    const decode = this.#decoders.get(bytes[0]!);
    return decode === undefined ? { type: 'unknown', code: bytes[0]! } : decode(bytes);
  }
}

/** The JSON object after a message's type byte; anything else is a malformed message. */
function jsonBody(bytes: Uint8Array, type: string): JsonObject {
  try {
    const parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.length - 1).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as JsonObject;
  } catch {
    throw bad(`${type} message is not a JSON object`);
  }
}

/**
 * Our own message as the peer will read it: strings cut to their limits as the peer would cut them.
 * One the reader refuses is a mistake here, not the peer's: it is not sent.
 */
function readOwn(row: JsonRow<object>, type: string, fields: JsonObject): object {
  try {
    return row.read(fields);
  } catch (err) {
    throw new TypeError(`cannot send this ${type} message: ${(err as Error).message}`, { cause: err });
  }
}

/** A message as a type byte followed by its JSON body (jsonBody reads it back). */
function jsonMessage(code: number, body: object): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const out = Buffer.allocUnsafe(1 + json.length);
  out[0] = code;
  json.copy(out, 1);
  return out;
}
