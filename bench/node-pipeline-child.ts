// One end of file-transfer-direct's Node pipeline baselines: the work our two ends must do, and
// nothing else, in a minimal Node program. The sender reads the file in 8-record blocks, hashes it
// with SHA-256 and seals each record as Noise does (a fresh node:crypto cipher per record, counter
// nonce, 16-byte tag), framed with a 2-byte length so a frame fills one 64 KiB socket read, and
// writes each block's frames at once; the receiver opens each record, hashes and writes it with
// vectored FileHandle writes (one at a time, pausing the socket while 512 KiB wait), and checks the
// hash. No handshake (a fixed key), no acknowledgements, no offer, no partial file. It uses the
// same means against Node's costs as ours (reused read blocks read ahead, paced young collections,
// glibc's heap trim threshold raised), so what it measures is the runtime's, not a naive program's.
//
// Two ways to connect: the sender dials a receiver that accepts and reads through 'data' events,
// 64 KiB at a time, as ours does; or the receiver dials and reads 1 MiB at a time into one buffer
// (onread), which node:net offers only to sockets a program opens, not to those a server accepts.
//
//   node node-pipeline-child.js AEAD receive DEST                prints {"port":N}; then its report
//   node node-pipeline-child.js AEAD send PORT FILE              its report at the end
//   node node-pipeline-child.js AEAD send-accepting FILE         prints {"port":N}; then its report
//   node node-pipeline-child.js AEAD receive-dialling PORT DEST  its report at the end
//
// AEAD is node:crypto's name (aes-256-gcm or chacha20-poly1305), the same for both ends: the
// benchmark's choice, as our peers' probe would make it (each end probing for itself could pick
// differently under load). A report is one JSON line
// (PipelineReport).

import { createCipheriv, createDecipheriv, createHash, type CipherGCMTypes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { connect, createServer, type OnReadOpts, type Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { processGarbagePacer } from '../src/garbage-pacer.js';
import { PEER_HEAP_TRIM_BLOCK_BYTES, raiseHeapTrimThreshold } from '../src/heap-trim-threshold.js';

export interface PipelineReport {
  readonly userMs: number;
  readonly systemMs: number;
  readonly vmHwmKiB: number;
  readonly aead: string;
}

const HOST = '127.0.0.1';
const FRAME_BYTES = 64 * 1024;
const HEADER_BYTES = 2;
const TAG_BYTES = 16;
const CHUNK_BYTES = FRAME_BYTES - HEADER_BYTES - TAG_BYTES;
const READ_BYTES = 8 * CHUNK_BYTES;
const PAUSE_AT_BYTES = 512 * 1024;
/** What a dialling receiver reads at once: Node reads an accepted socket 64 KiB at a time. */
const LARGE_READ_BYTES = 1024 * 1024;
/** A benchmark key: the baseline measures the records' cost, not a key exchange. */
const KEY = Buffer.alloc(32, 7);
/** node:crypto's names of the AEADs a session may use. */
const AEADS: readonly string[] = ['aes-256-gcm', 'chacha20-poly1305'];

/** Paced young collections, as our peers' connections ask for them. */
const PACER = processGarbagePacer();
/** Set once, from the command line, before any record. */
let AEAD: CipherGCMTypes = 'aes-256-gcm';

function nonce(n: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeBigUInt64LE(BigInt(n), 4);
  return out;
}

function seal(n: number, plaintext: Uint8Array): Buffer[] {
  const cipher = createCipheriv(AEAD, KEY, nonce(n), { authTagLength: TAG_BYTES });
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt16BE(plaintext.length + TAG_BYTES);
  const body = cipher.update(plaintext);
  cipher.final();
  PACER.add(body.length);
  return [header, body, cipher.getAuthTag()];
}

function open_(n: number, record: Uint8Array): Buffer {
  const bodyLength = record.length - TAG_BYTES;
  const decipher = createDecipheriv(AEAD, KEY, nonce(n), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(record.subarray(bodyLength));
  const body = decipher.update(record.subarray(0, bodyLength));
  decipher.final();
  PACER.add(2 * body.length); // the socket's read and the plaintext
  return body;
}

function report(): void {
  const usage = process.resourceUsage();
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const out: PipelineReport = { userMs: usage.userCPUTime / 1000, systemMs: usage.systemCPUTime / 1000, vmHwmKiB: Number(hwm?.[1] ?? NaN), aead: AEAD };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Record 0 carries the size (8 bytes), then the file's records, then one with its SHA-256. */
async function send(socket: Socket, path: string): Promise<void> {
  const file = await open(path, 'r');
  const size = (await file.stat()).size;
  const hash = createHash('sha256');
  let n = 0;
  const write = async (frames: Buffer[]) => {
    socket.cork();
    let room = true;
    for (const frame of frames) room = socket.write(frame);
    socket.uncork();
    if (!room) await once(socket, 'drain');
  };
  const sizeRecord = Buffer.alloc(8);
  sizeRecord.writeBigUInt64BE(BigInt(size));
  await write(seal(n++, sizeRecord));
  // Two blocks, reused: the next is read while this one is hashed and sealed.
  const blocks = [Buffer.allocUnsafeSlow(READ_BYTES), Buffer.allocUnsafeSlow(READ_BYTES)];
  let turn = 0;
  const readAt = async (position: number): Promise<Buffer> => {
    const block = blocks[turn++ % 2]!.subarray(0, Math.min(READ_BYTES, size - position));
    const { bytesRead } = await file.read(block, 0, block.length, position);
    if (bytesRead !== block.length) throw new Error(`short read at ${position}`);
    return block;
  };
  let next = size > 0 ? readAt(0) : undefined;
  for (let position = 0; next; ) {
    const block = await next;
    position += block.length;
    next = position < size ? readAt(position) : undefined;
    hash.update(block);
    const frames: Buffer[] = [];
    for (let at = 0; at < block.length; at += CHUNK_BYTES) frames.push(...seal(n++, block.subarray(at, at + CHUNK_BYTES)));
    await write(frames);
  }
  await file.close();
  await write(seal(n++, hash.digest()));
  socket.end();
  await once(socket, 'close');
}

/**
 * The receiving end's state: `feed` takes the socket's bytes as they come (and keeps only a copy
 * of a partial frame, so a reused read buffer is safe); `done` once the file is written and checked.
 */
class Receiver {
  readonly #file: FileHandle;
  readonly #socket: () => Socket;
  readonly #hash = createHash('sha256');
  #size: bigint | undefined;
  #received = 0n;
  #n = 0;
  #pending: Buffer | undefined;
  #queue: Buffer[] = [];
  #queued = 0;
  #position = 0;
  #writing: Promise<void> | undefined;
  #theirHash: Buffer | undefined;

  constructor(file: FileHandle, socket: () => Socket) {
    this.#file = file;
    this.#socket = socket;
  }

  feed(chunk: Buffer): void {
    let input = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    while (input.length >= HEADER_BYTES && input.length >= HEADER_BYTES + input.readUInt16BE(0)) {
      const length = input.readUInt16BE(0);
      this.#onRecord(input.subarray(HEADER_BYTES, HEADER_BYTES + length));
      input = input.subarray(HEADER_BYTES + length);
    }
    if (input.length > 0) this.#pending = Buffer.from(input);
  }

  async done(): Promise<void> {
    await once(this.#socket(), 'end');
    while (this.#writing || this.#queue.length > 0) {
      this.#flush();
      await this.#writing;
    }
    await this.#file.close();
    this.#socket().destroy();
    if (!this.#theirHash?.equals(this.#hash.digest()) || this.#received !== this.#size) throw new Error('the file arrived damaged or short');
  }

  #onRecord(record: Buffer): void {
    const plaintext = open_(this.#n++, record);
    if (this.#size === undefined) this.#size = plaintext.readBigUInt64BE(0);
    else if (this.#received < this.#size) {
      this.#received += BigInt(plaintext.length);
      this.#hash.update(plaintext);
      this.#queue.push(plaintext);
      this.#queued += plaintext.length;
      this.#flush();
      if (this.#queued >= PAUSE_AT_BYTES) this.#socket().pause();
    } else this.#theirHash = plaintext;
  }

  /** One vectored write at a time, of everything queued. */
  #flush(): void {
    if (this.#writing || this.#queue.length === 0) return;
    const buffers = this.#queue;
    const length = this.#queued;
    this.#queue = [];
    this.#queued = 0;
    this.#writing = this.#file.writev(buffers, this.#position).then(() => {
      this.#position += length;
      this.#writing = undefined;
      this.#flush();
      if (this.#queued < PAUSE_AT_BYTES) this.#socket().resume();
    });
  }
}

/** Listen on a loopback port, say which on stdout, and take one connection. */
async function acceptOne(): Promise<Socket> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
  const [socket] = (await once(server, 'connection')) as [Socket];
  server.close();
  return socket;
}

async function dial(port: number, onread?: OnReadOpts): Promise<Socket> {
  const socket = connect({ host: HOST, port, ...(onread ? { onread } : {}) });
  await once(socket, 'connect');
  return socket;
}

/** Accepts the connection and reads it through 'data' events, as our listener does. */
async function receiveAccepted(dest: string): Promise<void> {
  const socket = await acceptOne();
  const receiver = new Receiver(await open(dest, 'w'), () => socket);
  socket.on('data', (chunk: Buffer) => receiver.feed(chunk));
  await receiver.done();
}

/** Dials the sender and reads through one reused buffer of LARGE_READ_BYTES (node:net's onread). */
async function receiveDialled(port: number, dest: string): Promise<void> {
  let socket: Socket | undefined;
  const receiver = new Receiver(await open(dest, 'w'), () => socket!);
  const onread: OnReadOpts = {
    buffer: Buffer.allocUnsafe(LARGE_READ_BYTES),
    callback: (bytes, buffer) => {
      receiver.feed(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
      return true;
    },
  };
  socket = await dial(port, onread);
  await receiver.done();
}

async function main(aead: string | undefined, role: string | undefined, args: readonly string[]): Promise<void> {
  if (!AEADS.includes(String(aead))) throw new Error(`unknown AEAD ${String(aead)}`);
  AEAD = aead as CipherGCMTypes;
  raiseHeapTrimThreshold(PEER_HEAP_TRIM_BLOCK_BYTES);
  if (role === 'send') await send(await dial(Number(args[0])), args[1]!);
  else if (role === 'receive') await receiveAccepted(args[0]!);
  else if (role === 'send-accepting') await send(await acceptOne(), args[0]!);
  else if (role === 'receive-dialling') await receiveDialled(Number(args[0]), args[1]!);
  else throw new Error(`unknown role ${String(role)}`);
  report();
}

const [aead, role, ...args] = process.argv.slice(2);
await main(aead, role, args).catch((err: unknown) => {
  process.stderr.write(`node pipeline ${String(role)}: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
