// The file-transfer messages inside the encrypted channel. The sender offers a list of files; the
// receiver accepts (saying how much of each it already holds) or declines; the sender then streams
// each file as file-start, binary file-data chunks and file-end with the SHA-256, and the receiver
// acknowledges written bytes (flow control), confirms each file or asks for it again.
// Type codes 0x08-0x11. Control messages have JSON bodies; file-data is raw bytes after an 8-byte id.

import { binary, codecTable, codesOf, json, type JsonObject, type MessageOf } from './message-codec.js';
import { bad, optionalLimitedString, requireString, TEXT_LIMITS } from './message-fields.js';

/** Bytes of a transfer id on the wire (shown as 16 hex characters). */
export const TRANSFER_ID_BYTES = 8;
const TRANSFER_ID = /^[0-9a-f]{16}$/;
/** Most files one offer may list. */
export const MAX_OFFER_FILES = 10_000;
/** An offer page is cut before its JSON grows past this, well inside the 65,519-byte limit. */
export const MAX_OFFER_PAGE_BYTES = 48 * 1024;
/** Most resume points one accept may carry (the rest of the files start from zero). */
export const MAX_RESUME_POINTS = 256;

export interface OfferedFile {
  /** Relative path with `/` separators, as the sender names it (validated by the receiver). */
  readonly path: string;
  readonly size: number;
}

export interface ResumePoint {
  readonly index: number;
  /** Bytes of this file the receiver already has... */
  readonly have: number;
  /** ...and the SHA-256 (hex) of those bytes, which the sender checks against its own file. */
  readonly sha256: string;
}

/** The next bytes of the current file: binary, so that a chunk is neither copied nor escaped. */
export interface FileData {
  readonly type: 'file-data';
  readonly id: string;
  readonly data: Uint8Array;
}

export const FILE_CODECS = codecTable({
  /** sender → receiver: these files (one page of them; `more` says another page follows). */
  'file-offer': json(0x08, (body) => ({ id: transferId(body.id), files: offeredFiles(body.files), more: body.more === true })),
  /** receiver → sender: yes; per file, how many bytes are already here and their SHA-256. */
  'file-accept': json(0x09, (body) => ({ id: transferId(body.id), resume: resumePoints(body.resume) })),
  /** receiver → sender: no (or the offer expired). */
  'file-decline': json(0x0a, (body) => ({ id: transferId(body.id), reason: text(body.reason) })),
  /** sender → receiver: file `index` follows from byte `offset`. */
  'file-start': json(0x0b, (body) => ({ id: transferId(body.id), index: count(body.index, 'index'), offset: count(body.offset, 'offset') })),
  /** sender → receiver: the next bytes of the current file (type byte, 8-byte id, the bytes). */
  'file-data': binary<FileData>(0x0c, { encode: encodeFileData, decode: decodeFileData }),
  /** sender → receiver: file `index` is complete; its SHA-256. */
  'file-end': json(0x0d, (body) => ({ id: transferId(body.id), index: count(body.index, 'index'), sha256: sha256Hex(body.sha256) })),
  /** receiver → sender: this many bytes of the transfer are on disk (opens the send window). */
  'file-ack': json(0x0e, (body) => ({ id: transferId(body.id), bytes: count(body.bytes, 'bytes') })),
  /**
   * receiver → sender: file `index` matched the SHA-256 its file-end gave, repeated here, and is in
   * place (the sender checks it is the hash it sent).
   */
  'file-verified': json(0x0f, (body) => ({ id: transferId(body.id), index: count(body.index, 'index'), sha256: sha256Hex(body.sha256) })),
  /** receiver → sender: file `index` did not match; send it again from the start. */
  'file-resend': json(0x10, (body) => ({ id: transferId(body.id), index: count(body.index, 'index'), reason: text(body.reason) })),
  /** either side: stop this transfer. */
  'file-cancel': json(0x11, cancel),
});

export type FileMessage = MessageOf<typeof FILE_CODECS>;
export type FileMessageType = FileMessage['type'];

export const FILE_MESSAGE_TYPES = codesOf(FILE_CODECS);

export function isFileMessageType(type: string): type is FileMessageType {
  return Object.hasOwn(FILE_CODECS, type);
}

/** Header bytes in front of a chunk's data: type and transfer id. */
export const FILE_DATA_HEADER_BYTES = 1 + TRANSFER_ID_BYTES;

/**
 * Write the file-data header into the first FILE_DATA_HEADER_BYTES of `message`, whose remaining
 * bytes already hold the chunk (so a chunk read from disk is never copied to be framed).
 */
export function writeFileDataHeader(message: Buffer, id: string): Buffer {
  message[0] = FILE_CODECS['file-data'].code;
  if (!TRANSFER_ID.test(id) || message.write(id, 1, TRANSFER_ID_BYTES, 'hex') !== TRANSFER_ID_BYTES) {
    throw new TypeError(`transfer id ${JSON.stringify(id)} is not ${TRANSFER_ID_BYTES * 2} hex digits`);
  }
  return message;
}

function encodeFileData(message: FileData): Buffer {
  const out = Buffer.allocUnsafe(FILE_DATA_HEADER_BYTES + message.data.length);
  out.set(message.data, FILE_DATA_HEADER_BYTES);
  return writeFileDataHeader(out, message.id);
}

/** The data is a view into `bytes`, not a copy. */
function decodeFileData(bytes: Uint8Array): FileData {
  if (bytes.length < FILE_DATA_HEADER_BYTES) throw bad('file-data is shorter than its header');
  const id = Buffer.from(bytes.buffer, bytes.byteOffset + 1, TRANSFER_ID_BYTES).toString('hex');
  return { type: 'file-data', id, data: bytes.subarray(FILE_DATA_HEADER_BYTES) };
}

function cancel(body: JsonObject): { id: string; reason: string; code?: string } {
  const id = transferId(body.id);
  const code = typeof body.code === 'string' && /^ERR_[A-Z_]{1,40}$/.test(body.code) ? body.code : undefined;
  return { id, reason: text(body.reason), ...(code ? { code } : {}) };
}

function transferId(value: unknown): string {
  if (typeof value !== 'string' || !TRANSFER_ID.test(value)) throw bad('transfer id is not 16 hex digits');
  return value;
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad(`${field} is not a byte count`);
  return value;
}

function sha256Hex(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) throw bad('sha256 is not 64 hex digits');
  return value;
}

function text(value: unknown): string {
  return optionalLimitedString(value, TEXT_LIMITS.reason) ?? '';
}

function offeredFiles(value: unknown): readonly OfferedFile[] {
  if (!Array.isArray(value) || value.length > MAX_OFFER_FILES) throw bad('file-offer.files is not a list');
  return value.map(offeredFile);
}

function offeredFile(value: unknown): OfferedFile {
  if (typeof value !== 'object' || value === null) throw bad('offered file is not an object');
  const v = value as Record<string, unknown>;
  const path = requireString(v.path, 'file.path');
  // A path names the file: cut, it would name another. The sender checks the same limit.
  if (Buffer.byteLength(path, 'utf8') > TEXT_LIMITS.path) throw bad(`file.path is over the ${TEXT_LIMITS.path}-byte limit`);
  return { path, size: count(v.size, 'file.size') };
}

function resumePoints(value: unknown): readonly ResumePoint[] {
  const resume = value === undefined ? [] : value;
  if (!Array.isArray(resume) || resume.length > MAX_RESUME_POINTS) throw bad('file-accept.resume is not a list');
  return resume.map(resumePoint);
}

function resumePoint(value: unknown): ResumePoint {
  if (typeof value !== 'object' || value === null) throw bad('resume point is not an object');
  const v = value as Record<string, unknown>;
  return { index: count(v.index, 'resume.index'), have: count(v.have, 'resume.have'), sha256: sha256Hex(v.sha256) };
}

/** Split a file list into offer pages that each fit in one message. */
export function offerPages(id: string, files: readonly OfferedFile[]): FileMessage[] {
  const pages: FileMessage[] = [];
  let page: OfferedFile[] = [];
  let bytes = 0;
  for (const file of files) {
    const size = Buffer.byteLength(JSON.stringify(file), 'utf8') + 1;
    if (page.length > 0 && bytes + size > MAX_OFFER_PAGE_BYTES) {
      pages.push({ type: 'file-offer', id, files: page, more: true });
      page = [];
      bytes = 0;
    }
    page.push(file);
    bytes += size;
  }
  pages.push({ type: 'file-offer', id, files: page, more: false });
  return pages;
}
