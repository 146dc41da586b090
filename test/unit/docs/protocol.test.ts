// docs/protocol.md is what a second implementation is written from: its type bytes, preamble and
// prologue, limits, timers, error codes, LAN discovery names, fingerprints, message examples and
// handshake test vector are checked against the code here, so the document cannot drift from it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { instanceName, SERVICE_TYPE, txtRecord } from '../../../src/app/peer-announcement.js';
import { CHUNK_BYTES } from '../../../src/app/files/outgoing-transfer.js';
import { INCOMING_DEFAULTS } from '../../../src/app/files/incoming-transfer.js';
import { MAX_FINAL_WORDS, MAX_PENDING_OFFERS_PER_PEER } from '../../../src/app/files/transfers.js';
import { ACK_EVERY } from '../../../src/app/peer-session.js';
import { PROBE_REPEAT_INITIAL_MS } from '../../../src/app/endpoint-probe-client.js';
import { DEFAULTS } from '../../../src/defaults.js';
import { ERROR_CODES } from '../../../src/errors.js';
import { encodeEndpointDatagram, ENDPOINT_PROBE_SIZE } from '../../../src/net/endpoint-probe.js';
import { RELAY_DEFAULTS, RELAY_FEATURES, RELAY_PEER_NAME } from '../../../src/relay/relay-defaults.js';
import { fingerprintOf, normalizeFingerprint } from '../../../src/secure/fingerprint.js';
import {
  AESGCM_FEATURE,
  encodePeerInfo,
  FEATURES,
  MAX_FEATURES,
  MAX_PAYLOAD_BYTES,
  NOISE_PROLOGUE,
  PROTOCOL_VERSION,
} from '../../../src/secure/handshake-payload.js';
import { CIPHER_FUNCTIONS, writeNonce } from '../../../src/secure/noise/cipher-functions.js';
import { keyPairFromPrivate } from '../../../src/secure/noise/crypto-primitives.js';
import { protocolName } from '../../../src/secure/noise/handshake-patterns.js';
import { MAX_PLAINTEXT, SecureChannel } from '../../../src/secure/secure-channel.js';
import { CHAT_CODECS, CONNECTION_CODECS } from '../../../src/session/chat-messages.js';
import { Delivery } from '../../../src/session/delivery.js';
import { ACKS_FEATURE, CONVERSATION_ID_BYTES, DELIVERY_CODECS, RELIABLE_TYPES } from '../../../src/session/delivery-messages.js';
import {
  FILE_CODECS,
  MAX_OFFER_FILES,
  MAX_OFFER_PAGE_BYTES,
  MAX_RESUME_POINTS,
  TRANSFER_ID_BYTES,
} from '../../../src/session/file-messages.js';
import { MAX_NAME_BYTES, MAX_PATH_DEPTH } from '../../../src/session/file-names.js';
import { codesOf } from '../../../src/session/message-codec.js';
import { TEXT_LIMITS } from '../../../src/session/message-fields.js';
import { PATH_CODECS } from '../../../src/session/path-messages.js';
import { MAX_LOOKUP_RESULTS, MAX_REGISTERED_ADDRESSES, RELAY_CODECS } from '../../../src/session/relay-messages.js';
import { SEND_WINDOW_DEFAULTS } from '../../../src/session/send-window.js';
import {
  decodeMessage,
  encodeMessage,
  PEER_MESSAGES,
  RELAY_CONTROL_MESSAGES,
  type SessionCodec,
  type SessionMessage,
} from '../../../src/session/session-messages.js';
import { DATA_PREAMBLE, TOKEN_BYTES } from '../../../src/wire/data-preamble.js';
import { encodeFrame, MAX_FRAME_PAYLOAD } from '../../../src/wire/frame-encoder.js';
import { PREAMBLE } from '../../../src/wire/preamble.js';
import { REPO_ROOT } from '../../helpers/repo-root.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'protocol.md'), 'utf8');
const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The text of one `## ` section of the document, from its heading to the next. */
function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `docs/protocol.md has no section "${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The first fenced code block of a section. */
function codeBlock(text: string): string {
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(text);
  assert.ok(match, 'no code block');
  return match[1]!;
}

/** Bytes as the document writes them: two hex digits each, separated by spaces. */
function spaced(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/..(?!$)/g, '$& ');
}

/** The table row `| label | value |` must be in `text`. */
function assertRow(text: string, label: string, value: string): void {
  const row = `| ${label} | ${value} |`;
  assert.ok(text.includes(row), `docs/protocol.md does not have the row "${row}"`);
}

const count = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${ms / 1000} s`;

describe('docs/protocol.md: message types', () => {
  const tables = [CONNECTION_CODECS, CHAT_CODECS, DELIVERY_CODECS, FILE_CODECS, PATH_CODECS, RELAY_CODECS];
  const listed = [...doc.matchAll(/^\| `0x([0-9a-f]{2})` \| `([a-z-]+)` \| [^|]+ \| (peer|relay|both) \|/gm)].map((m) => ({
    code: Number.parseInt(m[1]!, 16),
    type: m[2]!,
    on: m[3]!,
  }));

  it('lists every type of every codec table with its code, and no other', () => {
    const inCode = tables.flatMap((table) => Object.entries(codesOf(table)).map(([type, code]) => `0x${code.toString(16).padStart(2, '0')} ${type}`));
    const inDoc = listed.map(({ code, type }) => `0x${code.toString(16).padStart(2, '0')} ${type}`);
    assert.deepEqual([...inDoc].sort(), [...inCode].sort());
    assert.equal(new Set(inDoc).size, inDoc.length, 'a type is listed twice');
  });

  it('says on which kind of connection each type is read, as the connections\' codecs do', () => {
    const speaks = (codec: SessionCodec, code: number) => {
      try {
        return codec.decode(Uint8Array.of(code)).type !== 'unknown';
      } catch {
        return true; // a known type whose (empty) body is malformed
      }
    };
    for (const { code, type, on } of listed) {
      const where = [speaks(PEER_MESSAGES, code) ? 'peer' : '', speaks(RELAY_CONTROL_MESSAGES, code) ? 'relay' : ''].filter(Boolean);
      assert.equal(where.length === 2 ? 'both' : where[0], on, `${type} is read on ${where.join(' and ') || 'no connection'}`);
    }
  });

  it('shows message examples whose bytes the codec reads and writes', () => {
    const examples = codeBlock(section('Appendix B')).trim().split(/\n\s*\n/);
    assert.ok(examples.length >= 8, 'too few examples');
    for (const example of examples) {
      const [head, ...hexLines] = example.trim().split('\n');
      const match = /^(\S+) (\{.*\})$/.exec(head!);
      assert.ok(match, `example heading "${head}" is not "type {json}"`);
      const message = { type: match[1]!, ...(JSON.parse(match[2]!) as object) } as SessionMessage;
      const bytes = Buffer.from(hexLines.join('').replace(/\s+/g, ''), 'hex');
      assert.deepEqual(decodeMessage(bytes), message, `${head} decodes to something else`);
      assert.equal(encodeMessage(message as Exclude<SessionMessage, { type: 'unknown' }>).toString('hex'), bytes.toString('hex'), `${head} encodes to other bytes`);
    }
  });

  it('shows the file-data layout the codec writes', () => {
    const fileData = encodeMessage({ type: 'file-data', id: '00112233445566ff', data: Buffer.from('hello') });
    assert.ok(doc.replace(/ {2,}/g, ' ').includes(spaced(fileData)), `no file-data example ${spaced(fileData)}`);
    assert.ok(doc.includes(`sends ${count(CHUNK_BYTES)} data bytes per \`file-data\``));
  });
});

describe('docs/protocol.md: bytes before the messages', () => {
  it('shows the preamble, the data connection preamble and a frame as the code writes them', () => {
    assert.ok(doc.includes(spaced(PREAMBLE)), `no preamble ${spaced(PREAMBLE)}`);
    assert.equal(PROTOCOL_VERSION, 1, 'the document describes version 1 (0x01)');
    assert.ok(doc.includes(spaced(DATA_PREAMBLE)), `no data preamble ${spaced(DATA_PREAMBLE)}`);
    assert.ok(doc.includes(spaced(encodeFrame(Buffer.from('hello')))), 'no frame example');
  });

  it('names the prologue and the Noise protocol the code uses', () => {
    assert.ok(doc.includes(`\`${NOISE_PROLOGUE.toString('utf8')}\`: \`${spaced(NOISE_PROLOGUE)}\``), 'prologue text or bytes differ');
    assert.ok(doc.includes(`\`${protocolName('XX')}\``), `no protocol name ${protocolName('XX')}`);
  });

  it('shows both transport ciphers\' nonces as the code writes them, and names the feature that picks AESGCM', () => {
    const transport = section('5. Transport messages');
    for (const [label, cipher] of [['ChaCha20-Poly1305', CIPHER_FUNCTIONS.ChaChaPoly], ['AES-256-GCM', CIPHER_FUNCTIONS.AESGCM]] as const) {
      const nonce = spaced(writeNonce(cipher, Buffer.alloc(12), 1n));
      assert.match(transport, new RegExp(`^${label} .*n = 1: +${nonce}$`, 'm'), `${label}: nonce ${nonce}`);
    }
    assert.ok(transport.includes(`\`${AESGCM_FEATURE}\``), 'section 5 names the feature');
    assert.ok(section('4. Noise XX handshake').includes(`\`${AESGCM_FEATURE}\``), 'section 4 lists the feature');
  });

  it('shows the handshake payloads a peer and a relay send', () => {
    for (const info of [
      { name: 'alice', version: PROTOCOL_VERSION, features: FEATURES },
      { name: RELAY_PEER_NAME, version: PROTOCOL_VERSION, features: RELAY_FEATURES },
    ]) {
      const payload = encodePeerInfo(info).toString('utf8');
      assert.ok(doc.includes(payload), `no handshake payload ${payload}`);
    }
  });

  it('has a handshake test vector that the code reproduces byte for byte', () => {
    const vector = codeBlock(section('Appendix A'));
    const hex = vectorHex(vector);
    const keyPair = (side: string, kind: string) => keyPairFromPrivate(hex(`${side} ${kind} private key`));
    const initiatorStatic = keyPair('initiator', 'static');
    const responderStatic = keyPair('responder', 'static');
    assert.deepEqual(initiatorStatic.publicKey, hex('initiator static public key'));
    assert.deepEqual(responderStatic.publicKey, hex('responder static public key'));
    const initiator = new SecureChannel({
      initiator: true,
      staticKeyPair: initiatorStatic,
      ephemeralKeyPair: keyPair('initiator', 'ephemeral'),
      localInfo: { name: 'alice', version: PROTOCOL_VERSION, features: FEATURES },
    });
    const responder = new SecureChannel({
      initiator: false,
      staticKeyPair: responderStatic,
      ephemeralKeyPair: keyPair('responder', 'ephemeral'),
      localInfo: { name: 'bob', version: PROTOCOL_VERSION, features: FEATURES },
    });
    const first = initiator.start();
    assert.deepEqual(first, hex('initiator sends (preamble, then message 1 in a frame)'));
    const preamble = responder.start();
    assert.deepEqual(preamble, hex('responder sends (preamble)'));
    const message2 = responder.receive(first).send;
    assert.deepEqual(Buffer.concat(message2), hex('responder sends (message 2 in a frame)'));
    const message3 = initiator.receive(Buffer.concat([preamble, ...message2]));
    assert.deepEqual(Buffer.concat(message3.send), hex('initiator sends (message 3 in a frame)'));
    assert.equal(responder.receive(Buffer.concat(message3.send)).events[0]?.type, 'established');
    const chat = encodeMessage({ type: 'chat', id: '0123456789abcdef', time: 1764763200000, text: 'hi' });
    assert.ok(doc.includes(`plaintext is \`chat {"id":"0123456789abcdef","time":1764763200000,"text":"hi"}\``));
    const sealed = initiator.seal(chat);
    assert.deepEqual(sealed, hex('initiator sends (its first transport message, the chat of appendix B, in a frame)'));
    assert.deepEqual(responder.receive(sealed).events[0], { type: 'message', data: chat });
  });

  it('has an IK test vector, with the conversations it carries, that the code reproduces byte for byte', () => {
    const appendix = section('Appendix A');
    const keys = vectorHex(codeBlock(appendix));
    const vector = codeBlock(appendix.slice(appendix.indexOf('**Noise IK**')));
    const hex = vectorHex(vector);
    const claim = { type: 'conversation' as const, id: '00112233445566778899aabbccddeeff', received: 3 };
    const answer = { type: 'conversation' as const, id: claim.id, received: 5, resumed: true as const };
    for (const message of [claim, answer]) {
      const { type, ...body } = message;
      assert.ok(appendix.includes(`\`${type} ${JSON.stringify(body)}\``), `the appendix does not name ${JSON.stringify(message)}`);
    }
    const responderStatic = keyPairFromPrivate(keys('responder static private key'));
    const initiator = new SecureChannel({
      initiator: true,
      staticKeyPair: keyPairFromPrivate(keys('initiator static private key')),
      ephemeralKeyPair: keyPairFromPrivate(hex('initiator ephemeral private key (IK)')),
      localInfo: { name: 'alice', version: PROTOCOL_VERSION, features: FEATURES },
      early: { remoteStaticKey: responderStatic.publicKey, message: encodeMessage(claim) },
    });
    const responder = new SecureChannel({
      initiator: false,
      staticKeyPair: responderStatic,
      ephemeralKeyPair: keyPairFromPrivate(hex('responder ephemeral private key (IK)')),
      localInfo: { name: 'bob', version: PROTOCOL_VERSION, features: FEATURES },
      acceptEarly: true,
    });
    const first = initiator.start();
    assert.deepEqual(first, hex('initiator sends (preamble, then IK message 1 in a frame)'));
    const preamble = responder.start();
    const read = responder.receive(first);
    assert.deepEqual(Buffer.concat(read.send), hex('responder sends (IK message 2 in a frame)'));
    assert.deepEqual(read.events.map((e) => e.type), ['established', 'message']);
    const early = read.events[1];
    assert.deepEqual(early?.type === 'message' ? decodeMessage(early.data) : early, claim);
    const sealed = responder.seal(encodeMessage(answer));
    assert.deepEqual(sealed, hex('responder sends (its first transport message, the answer, in a frame)'));
    const events = initiator.receive(Buffer.concat([preamble, ...read.send, sealed])).events;
    assert.deepEqual(events.map((e) => e.type), ['established', 'message']);
    const reply = events[1];
    assert.deepEqual(reply?.type === 'message' ? decodeMessage(reply.data) : reply, answer);
  });
  it('has an AES-256-GCM test vector (both list aesgcm) that the code reproduces byte for byte', () => {
    const appendix = section('Appendix A');
    const keys = vectorHex(codeBlock(appendix));
    const hex = vectorHex(codeBlock(appendix.slice(appendix.indexOf('**Noise XX with AES-256-GCM**'))));
    const features = [...FEATURES, AESGCM_FEATURE];
    assert.ok(appendix.includes(encodePeerInfo({ name: 'alice', version: PROTOCOL_VERSION, features }).toString('utf8')), 'the appendix shows the payload');
    const side = (initiator: boolean, who: 'initiator' | 'responder', name: string, aesGcmRekeyEvery?: number) =>
      new SecureChannel({
        initiator,
        staticKeyPair: keyPairFromPrivate(keys(`${who} static private key`)),
        ephemeralKeyPair: keyPairFromPrivate(keys(`${who} ephemeral private key`)),
        localInfo: { name, version: PROTOCOL_VERSION, features },
        ...(aesGcmRekeyEvery === undefined ? {} : { aesGcmRekeyEvery }),
      });
    const initiator = side(true, 'initiator', 'alice');
    const responder = side(false, 'responder', 'bob');
    const first = initiator.start();
    const preamble = responder.start();
    const message2 = Buffer.concat(responder.receive(first).send);
    assert.deepEqual(message2, hex('responder sends (message 2 in a frame)'));
    const message3 = Buffer.concat(initiator.receive(Buffer.concat([preamble, message2])).send);
    assert.deepEqual(message3, hex('initiator sends (message 3 in a frame)'));
    responder.receive(message3);
    assert.equal(initiator.transportCipher, 'AESGCM');
    assert.equal(responder.transportCipher, 'AESGCM');
    const chat = encodeMessage({ type: 'chat', id: '0123456789abcdef', time: 1764763200000, text: 'hi' });
    const sealed = [initiator.seal(chat), initiator.seal(chat)];
    assert.deepEqual(sealed[0], hex('initiator sends (the chat, n = 0, in a frame)'));
    assert.deepEqual(sealed[1], hex('initiator sends (the same chat again, n = 1, in a frame)'));
    const events = responder.receive(Buffer.concat(sealed)).events;
    assert.deepEqual(events, [{ type: 'message', data: chat }, { type: 'message', data: chat }]);

    // The same session rekeying every 2 messages: the first two frames are as above, the third is
    // under Rekey(k) at n = 2.
    const rekeying = [side(true, 'initiator', 'alice', 2), side(false, 'responder', 'bob', 2)] as const;
    const preamble2 = rekeying[1].start();
    const answer = Buffer.concat(rekeying[1].receive(rekeying[0].start()).send);
    rekeying[1].receive(Buffer.concat(rekeying[0].receive(Buffer.concat([preamble2, answer])).send));
    const frames = [rekeying[0].seal(chat), rekeying[0].seal(chat), rekeying[0].seal(chat)];
    assert.deepEqual(frames.slice(0, 2), sealed);
    assert.deepEqual(frames[2], hex('initiator sends (the same chat a third time, n = 2, rekeying every 2 messages, in a frame)'));
    assert.deepEqual(rekeying[1].receive(Buffer.concat(frames)).events.length, 3);
  });
});

/** Reads the hex value under `label:` in a test vector block (it may run over several lines). */
function vectorHex(vector: string): (label: string) => Buffer {
  return (label) => {
    const match = new RegExp(`^${label.replace(/[()]/g, '\\$&')}:\\n((?:[0-9a-f]+\\n)+)`, 'm').exec(vector);
    assert.ok(match, `test vector has no "${label}"`);
    return Buffer.from(match[1]!.replace(/\n/g, ''), 'hex');
  };
}

describe('docs/protocol.md: limits and timers', () => {
  const limits = section('12. Limits');

  it('lists every text limit with the value the code enforces', () => {
    const strings = limits.slice(0, limits.indexOf('Sizes and counts'));
    for (const [limit, bytes] of Object.entries(TEXT_LIMITS)) assertRow(strings, limit, count(bytes));
    const listed = [...strings.matchAll(/^\| ([a-z]+) \| [\d,]+ \| [^|]+ \|$/gm)].map((m) => m[1]);
    assert.deepEqual(listed, Object.keys(TEXT_LIMITS));
  });

  it('states the sizes and counts the code uses', () => {
    const values: Record<string, number> = {
      'frame payload': MAX_FRAME_PAYLOAD,
      'transport plaintext': MAX_PLAINTEXT,
      'handshake payload': MAX_PAYLOAD_BYTES,
      features: MAX_FEATURES,
      'files in one offer': MAX_OFFER_FILES,
      'resume points': MAX_RESUME_POINTS,
      'name component': MAX_NAME_BYTES,
      'path depth': MAX_PATH_DEPTH,
      'offer page': MAX_OFFER_PAGE_BYTES,
      'offers waiting': MAX_PENDING_OFFERS_PER_PEER,
      'file-data chunk': CHUNK_BYTES,
      'transfer id': TRANSFER_ID_BYTES,
      'conversation id': CONVERSATION_ID_BYTES,
      'unacknowledged messages': DEFAULTS.maxUnackedMessages,
      'unacknowledged bytes': DEFAULTS.maxUnackedBytes,
      'messages per ack': ACK_EVERY,
      'ended transfers remembered': MAX_FINAL_WORDS,
      'session token': TOKEN_BYTES,
      'lookup results': MAX_LOOKUP_RESULTS,
      'registered addresses': MAX_REGISTERED_ADDRESSES,
    };
    for (const [label, value] of Object.entries(values)) assertRow(limits, label, count(value));
  });

  it('states the timers the code uses by default', () => {
    const timers: Record<string, number> = {
      'handshake timeout': DEFAULTS.handshakeTimeoutMs,
      'keepalive interval': DEFAULTS.keepaliveIntervalMs,
      'keepalive timeout': DEFAULTS.keepaliveTimeoutMs,
      'goodbye grace': DEFAULTS.byeGraceMs,
      'acknowledgement delay': DEFAULTS.ackDelayMs,
      'resume window': DEFAULTS.resumeWindowMs,
      'first reconnect window': DEFAULTS.reconnectInitialMs,
      'largest reconnect window': DEFAULTS.reconnectMaxMs,
      'address check interval': DEFAULTS.addressCheckMs,
      'endpoint refresh interval': DEFAULTS.endpointRefreshMs,
      'file offer timeout': DEFAULTS.fileOfferTimeoutMs,
      'relay token lifetime': RELAY_DEFAULTS.tokenTtlMs,
      'relayed session idle timeout': RELAY_DEFAULTS.sessionIdleTimeoutMs,
    };
    for (const [label, ms] of Object.entries(timers)) assertRow(limits, label, seconds(ms));
  });

  it('states the keepalive rule with the timings the code uses', () => {
    const text = doc.replace(/\s+/g, ' ');
    const pingAfter = Math.min(DEFAULTS.keepaliveIntervalMs, DEFAULTS.keepaliveTimeoutMs / 2);
    const rule =
      `A side that has received nothing for ${seconds(pingAfter)} sends a \`ping\`; if still nothing has arrived ` +
      `${seconds(DEFAULTS.keepaliveTimeoutMs - pingAfter)} after it (${seconds(DEFAULTS.keepaliveTimeoutMs)} of silence in all)`;
    assert.ok(text.includes(rule), `docs/protocol.md does not say "${rule}"`);
  });

  it('states the file window and acknowledgements the code uses', () => {
    const text = doc.replace(/\s+/g, ' ');
    const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`);
    const w = SEND_WINDOW_DEFAULTS;
    for (const phrase of [
      `This sender's window starts at ${kib(w.initialBytes)} and stays between ${kib(w.minBytes)} and ${kib(w.maxBytes)}`,
      `come back within ${w.targetDelayMs} ms of the lowest delay seen`,
      `whenever ${kib(INCOMING_DEFAULTS.ackEveryBytes)} more have been written`,
      `when more than ${kib(INCOMING_DEFAULTS.maxBufferedBytes)} it was sent are not yet written`,
      `This implementation remembers the transfers it ended last, ${MAX_FINAL_WORDS} per conversation`,
    ]) {
      assert.ok(text.includes(phrase), `docs/protocol.md does not say "${phrase}"`);
    }
  });

  it('states which messages are reliable, under which feature, and how soon they are acknowledged', () => {
    const text = doc.replace(/\s+/g, ' ');
    const types = [...RELIABLE_TYPES].map((type) => `\`${type}\``);
    for (const phrase of [
      `${types.slice(0, -1).join(', ')} and ${types.at(-1)} are reliable`,
      `both list the feature \`${ACKS_FEATURE}\``,
      `an \`ack\` at most ${DEFAULTS.ackDelayMs} ms after the first reliable message`,
      `at once when ${ACK_EVERY} reliable messages have come since the last count it sent`,
    ]) {
      assert.ok(text.includes(phrase), `docs/protocol.md does not say "${phrase}"`);
    }
  });

  it('states the bound on what is kept for a suspended member, as Delivery applies it', () => {
    const limits = { maxUnackedMessages: DEFAULTS.maxUnackedMessages, maxUnackedBytes: DEFAULTS.maxUnackedBytes };
    const byCount = new Delivery(limits);
    for (let i = 0; i < 2 * limits.maxUnackedMessages; i++) byCount.sent(Buffer.alloc(1));
    assert.equal(byCount.overflowing, false);
    byCount.sent(Buffer.alloc(1));
    assert.equal(byCount.overflowing, true);
    const byBytes = new Delivery(limits);
    byBytes.sent(Buffer.alloc(2 * limits.maxUnackedBytes));
    assert.equal(byBytes.overflowing, false);
    byBytes.sent(Buffer.alloc(1));
    assert.equal(byBytes.overflowing, true);
    const mib = (bytes: number) => `${bytes / (1024 * 1024)} MiB`;
    const phrase = `past twice either limit (${count(2 * limits.maxUnackedMessages)} messages or ${mib(2 * limits.maxUnackedBytes)})`;
    assert.ok(doc.replace(/\s+/g, ' ').includes(phrase), `docs/protocol.md does not say "${phrase}"`);
  });

  it('lists as wire error codes only codes that exist', () => {
    const listed = [...section('13. Error codes on the wire').matchAll(/^\| `(ERR_[A-Z_]+)` \| `(file-cancel|relay-error)` \|/gm)].map((m) => m[1]!);
    assert.ok(listed.length > 0);
    assert.deepEqual(listed.filter((code) => !(code in ERROR_CODES)), []);
  });
});

describe('docs/protocol.md: observed endpoints', () => {
  const probes = section('16. Observed endpoints');

  it('gives the probe datagrams\' size, magic and offsets as the code writes them', () => {
    assert.ok(probes.includes(`Every probe datagram is ${ENDPOINT_PROBE_SIZE} bytes`));
    const seen = encodeEndpointDatagram({ type: 'seen', nonce: Buffer.alloc(8), host: '192.0.2.1', port: 1 });
    assert.ok(probes.includes(`magic \`${seen.subarray(0, 4).toString('latin1')}\` (${spaced(seen.subarray(0, 4))})`));
    const rows = [...probes.matchAll(/^\| (\d+) \| (\d+) \| /gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    assert.deepEqual(rows.map(([offset]) => offset), [0, 4, 5, 6, 7, 8, 16, 18]);
    rows.forEach(([offset, size], i) => assert.equal(offset + size, rows[i + 1]?.[0] ?? ENDPOINT_PROBE_SIZE, `row at ${offset}`));
    assert.equal(seen.readUInt16BE(16), 1, 'the port at 16');
    assert.deepEqual([...seen.subarray(18, 22)], [192, 0, 2, 1], 'the address at 18');
  });

  it('states the repeats and the refresh the client uses', () => {
    const text = probes.replace(/\s+/g, ' ');
    for (const phrase of [
      `repeats an unanswered probe after ${PROBE_REPEAT_INITIAL_MS} ms, each later wait twice the last`,
      `until its deadline (this implementation: the connect timeout, ${seconds(DEFAULTS.connectTimeoutMs)})`,
      `It probes again every ${seconds(DEFAULTS.endpointRefreshMs)} while its control session lasts`,
    ]) {
      assert.ok(text.includes(phrase), `docs/protocol.md does not say "${phrase}"`);
    }
  });
});

describe('docs/protocol.md: LAN discovery', () => {
  const lan = section('11. LAN discovery');
  const fingerprint = '2GN7H4E-CPAWIPH-N4D7ZYT-I2MK572-3OM3M7Q-2X267HD-Z5G4L6Q-F2WP7QF';

  it('names the service type and instance name the code announces', () => {
    assert.ok(lan.includes(`service type \`_${SERVICE_TYPE}._tcp\``));
    assert.ok(lan.includes(`\`${instanceName('alice', fingerprint)}\``));
  });

  it('lists exactly the TXT keys the code announces (the optional udp too)', () => {
    const keys = Object.keys(txtRecord({ name: 'alice', fingerprint, port: 5050, udpPort: 5050, version: PROTOCOL_VERSION }));
    const listed = [...lan.matchAll(/^\| `([a-z]+)` \| /gm)].map((m) => m[1]);
    assert.deepEqual(listed, keys);
  });
});

describe('fingerprints in README.md and docs/protocol.md', () => {
  const FULL = /\b[A-Z2-7]{7}(?:-[A-Z2-7]{7}){7}\b/g;

  it('every fingerprint shown validates (length, alphabet and check characters)', () => {
    for (const [name, text] of [['README.md', readme], ['docs/protocol.md', doc]] as const) {
      const shown = text.match(FULL) ?? [];
      assert.ok(shown.length > 0, `${name} shows no fingerprint`);
      for (const fp of shown) assert.equal(normalizeFingerprint(fp), fp, `${name}: ${fp}`);
    }
  });

  it('the worked example is computed from its key, step by step', () => {
    const example = codeBlock(section('10. Fingerprints'));
    const line = (label: string) => {
      const match = new RegExp(`^${label} +(.+)$`, 'm').exec(example);
      assert.ok(match, `worked example has no "${label}" line`);
      return match[1]!;
    };
    const key = Buffer.from(line('public key'), 'hex');
    const fp = fingerprintOf(key);
    const compact = fp.replace(/-/g, '');
    const sha = createHash('sha256').update(key).digest();
    assert.equal(line('SHA-256'), sha.toString('hex'));
    assert.equal(line('fingerprint'), fp);
    assert.equal(line('checked').replace(/ /g, ''), compact);
    const checks = [13, 27, 41, 55].map((i) => compact[i]);
    assert.equal(line('checks'), checks.join(' '));
    // The base32 line is the SHA-256 itself, five bits a character, the last filled with zeros.
    const base32 = line('base32').replace(/ /g, '');
    assert.equal(base32, compact.replace(/(.{13})./g, '$1'));
    const bits = [...base32].map((c) => ALPHABET.indexOf(c).toString(2).padStart(5, '0')).join('');
    const shaBits = [...sha].map((b) => b.toString(2).padStart(8, '0')).join('');
    assert.equal(bits, shaBits.padEnd(base32.length * 5, '0'));

    // The Luhn table for the first group: each row's arithmetic, and the sum giving its check character.
    const group = base32.slice(0, 13);
    const rows = [...section('10. Fingerprints').matchAll(/^\| (\d+) \| ([A-Z2-7]) \| (\d+) \| ([12]) \| (\d+) \| (\d+) \|$/gm)].map((m) => m.slice(1));
    assert.deepEqual(rows.map((r) => Number(r[0])), [13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 'rows run from the rightmost character');
    let sum = 0;
    for (const [position, char, value, factor, product, added] of rows.map((r) => r.map((x, i) => (i === 1 ? x : Number(x))))) {
      assert.equal(char, group[(position as number) - 1]);
      assert.equal(value, ALPHABET.indexOf(char as string));
      assert.equal(factor, (13 - (position as number)) % 2 === 0 ? 2 : 1, 'the rightmost character is doubled');
      assert.equal(product, (value as number) * (factor as number));
      assert.equal(added, Math.floor((product as number) / 32) + ((product as number) % 32));
      sum += added as number;
    }
    const text = doc.replace(/\s+/g, ' ');
    const check = ALPHABET[(32 - (sum % 32)) % 32];
    assert.equal(check, checks[0]);
    assert.ok(text.includes(`The sum is ${sum}; ${sum} mod 32 = ${sum % 32}; (32 − ${sum % 32}) mod 32 = ${(32 - (sum % 32)) % 32}, and the character of value ${(32 - (sum % 32)) % 32} is \`${check}\``));
  });
});

describe('README and docs/protocol.md', () => {
  it('README points to the protocol document', () => {
    assert.ok(readme.includes('](docs/protocol.md)'));
  });
});
