// The file-transfer messages inside the encrypted channel. The sender offers a list of files; the
// receiver accepts (saying how much of each it already holds) or declines; the sender then streams
// each file as file-start, binary file-data chunks and file-end with the SHA-256, and the receiver
// acknowledges written bytes (flow control), confirms each file or asks for it again.
// Type codes 0x08-0x11. Control messages have JSON bodies; file-data is raw bytes after an 8-byte id.

import { bad, jsonBody, jsonMessage, requireString } from './message-fields.js';

export const FILE_MESSAGE_TYPES = Object.freeze({
  /** sender → receiver: these files (one page of them; `more` says another page follows). */
  'file-offer': 0x08,
  /** receiver → sender: yes; per file, how many bytes are already here and their SHA-256. */
  'file-accept': 0x09,
  /** receiver → sender: no (or the offer expired). */
  'file-decline': 0x0a,
  /** sender → receiver: file `index` follows from byte `offset`. */
  'file-start': 0x0b,
  /** sender → receiver: the next bytes of the current file (binary). */
  'file-data': 0x0c,
  /** sender → receiver: file `index` is complete; its SHA-256. */
  'file-end': 0x0d,
  /** receiver → sender: this many bytes of the transfer are on disk (opens the send window). */
  'file-ack': 0x0e,
  /** receiver → sender: file `index` matched its SHA-256 and is in place. */
  'file-verified': 0x0f,
  /** receiver → sender: file `index` did not match; send it again from the start. */
  'file-resend': 0x10,
  /** either side: stop this transfer. */
  'file-cancel': 0x11,
} as const);

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

export type FileMessage =
  | { readonly type: 'file-offer'; readonly id: string; readonly files: readonly OfferedFile[]; readonly more: boolean }
  | { readonly type: 'file-accept'; readonly id: string; readonly resume: readonly ResumePoint[] }
  | { readonly type: 'file-decline'; readonly id: string; readonly reason: string }
  | { readonly type: 'file-start'; readonly id: string; readonly index: number; readonly offset: number }
  | { readonly type: 'file-data'; readonly id: string; readonly data: Uint8Array }
  | { readonly type: 'file-end'; readonly id: string; readonly index: number; readonly sha256: string }
  | { readonly type: 'file-ack'; readonly id: string; readonly bytes: number }
  | { readonly type: 'file-verified'; readonly id: string; readonly index: number }
  | { readonly type: 'file-resend'; readonly id: string; readonly index: number; readonly reason: string }
  | { readonly type: 'file-cancel'; readonly id: string; readonly reason: string; readonly code?: string };

export type FileMessageType = FileMessage['type'];

const TYPE_BY_CODE = new Map<number, FileMessageType>(
  Object.entries(FILE_MESSAGE_TYPES).map(([name, code]) => [code, name as FileMessageType]),
);

export function isFileCode(code: number): boolean {
  return TYPE_BY_CODE.has(code);
}

export function isFileMessageType(type: string): type is FileMessageType {
  return Object.hasOwn(FILE_MESSAGE_TYPES, type);
}

/** Header bytes in front of a chunk's data: type and transfer id. */
export const FILE_DATA_HEADER_BYTES = 1 + TRANSFER_ID_BYTES;

/**
 * Write the file-data header into the first FILE_DATA_HEADER_BYTES of `message`, whose remaining
 * bytes already hold the chunk (so a chunk read from disk is never copied to be framed).
 */
export function writeFileDataHeader(message: Buffer, id: string): Buffer {
  message[0] = FILE_MESSAGE_TYPES['file-data'];
  if (!TRANSFER_ID.test(id) || message.write(id, 1, TRANSFER_ID_BYTES, 'hex') !== TRANSFER_ID_BYTES) {
    throw new TypeError(`transfer id ${JSON.stringify(id)} is not ${TRANSFER_ID_BYTES * 2} hex digits`);
  }
  return message;
}

export function encodeFileMessage(message: FileMessage): Buffer {
  if (message.type === 'file-data') {
    const out = Buffer.allocUnsafe(FILE_DATA_HEADER_BYTES + message.data.length);
    out.set(message.data, FILE_DATA_HEADER_BYTES);
    return writeFileDataHeader(out, message.id);
  }
  const { type, ...body } = message;
  return jsonMessage(FILE_MESSAGE_TYPES[type], body);
}

/** Decode a message whose first byte is a file type code (see isFileCode). */
export function decodeFileMessage(bytes: Uint8Array): FileMessage {
  const type = TYPE_BY_CODE.get(bytes[0]!);
  if (type === undefined) throw bad('not a file message');
  if (type === 'file-data') {
    if (bytes.length < FILE_DATA_HEADER_BYTES) throw bad('file-data is shorter than its header');
    const id = Buffer.from(bytes.buffer, bytes.byteOffset + 1, TRANSFER_ID_BYTES).toString('hex');
    return { type, id, data: bytes.subarray(FILE_DATA_HEADER_BYTES) };
  }
  const body = jsonBody(bytes, type);
  const id = transferId(body.id);
  switch (type) {
    case 'file-offer': {
      if (!Array.isArray(body.files) || body.files.length > MAX_OFFER_FILES) throw bad('file-offer.files is not a list');
      return { type, id, files: body.files.map(offeredFile), more: body.more === true };
    }
    case 'file-accept': {
      const resume = body.resume === undefined ? [] : body.resume;
      if (!Array.isArray(resume) || resume.length > MAX_RESUME_POINTS) throw bad('file-accept.resume is not a list');
      return { type, id, resume: resume.map(resumePoint) };
    }
    case 'file-decline':
      return { type, id, reason: text(body.reason) };
    case 'file-start':
      return { type, id, index: count(body.index, 'index'), offset: count(body.offset, 'offset') };
    case 'file-end':
      return { type, id, index: count(body.index, 'index'), sha256: sha256Hex(body.sha256) };
    case 'file-ack':
      return { type, id, bytes: count(body.bytes, 'bytes') };
    case 'file-verified':
      return { type, id, index: count(body.index, 'index') };
    case 'file-resend':
      return { type, id, index: count(body.index, 'index'), reason: text(body.reason) };
    case 'file-cancel': {
      const code = typeof body.code === 'string' && /^ERR_[A-Z_]{1,40}$/.test(body.code) ? body.code : undefined;
      return { type, id, reason: text(body.reason), ...(code ? { code } : {}) };
    }
  }
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
  return typeof value === 'string' ? value.slice(0, 256) : '';
}

function offeredFile(value: unknown): OfferedFile {
  if (typeof value !== 'object' || value === null) throw bad('offered file is not an object');
  const v = value as Record<string, unknown>;
  const path = requireString(v.path, 'file.path');
  if (path.length > 4096) throw bad('file.path is too long');
  return { path, size: count(v.size, 'file.size') };
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
