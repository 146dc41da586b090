// Checks the Noise implementation against the cacophony test vectors (an independent Haskell
// implementation), for both cipher suites: every handshake byte, both handshake hashes and the
// transport messages after.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  type CipherName,
  HANDSHAKE_PATTERNS,
  HandshakeState,
  keyPairFromPrivate,
  parseProtocolName,
  PATTERN_NAMES,
  type PatternName,
} from '../../../src/secure/noise/index.js';
import { REPO_ROOT } from '../../helpers/repo-root.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  resp_prologue: string;
  init_static?: string;
  init_ephemeral?: string;
  init_remote_static?: string;
  resp_static?: string;
  resp_ephemeral?: string;
  resp_remote_static?: string;
  init_psks?: string[];
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const ROOT = REPO_ROOT;
const FIXTURE_DIR = path.join(ROOT, 'test', 'fixtures', 'noise');
const SHARED_DIR = path.join(ROOT, '..', 'shared', 'vectors', 'noise');
const SUITES: readonly { cipher: CipherName; file: string }[] = [
  { cipher: 'ChaChaPoly', file: 'noise-25519-chachapoly-sha256.json' },
  { cipher: 'AESGCM', file: 'noise-25519-aesgcm-sha256.json' },
];

function loadVectors(file: string): Vector[] {
  return (JSON.parse(readFileSync(path.join(FIXTURE_DIR, file), 'utf8')) as { vectors: Vector[] }).vectors;
}

// Only the 15 fundamental patterns: psk and deferred (X1K, NK1, ...) names are not in our table.
function fundamentalOf(vectors: readonly Vector[], cipher: CipherName): Vector[] {
  return vectors.filter((v) => {
    const pattern = new RegExp(`^Noise_([A-Z0-9a-z]+)_25519_${cipher}_SHA256$`).exec(v.protocol_name)?.[1];
    return pattern !== undefined && (PATTERN_NAMES as readonly string[]).includes(pattern) && v.init_psks === undefined;
  });
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const optionalHex = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : hex(s));
const optionalPair = (s: string | undefined) => (s === undefined ? undefined : keyPairFromPrivate(hex(s)));

for (const { cipher, file } of SUITES) {
  const allVectors = loadVectors(file);
  const fundamental = fundamentalOf(allVectors, cipher);

  test(`${file} holds every vector of its suite, one for each of the 15 fundamental patterns`, () => {
    assert.equal(allVectors.length, 59);
    assert.ok(allVectors.every((v) => v.protocol_name.endsWith(`_25519_${cipher}_SHA256`)), 'a vector of another suite');
    assert.equal(fundamental.length, 15);
    const found = fundamental.map((v) => parseProtocolName(v.protocol_name).pattern.name).sort();
    assert.deepEqual(found, [...PATTERN_NAMES].sort());
  });

  for (const vector of fundamental) checkVector(vector, cipher);
}

test('the fixture copies are byte-identical to ../shared/vectors/noise where it has them', (t) => {
  if (!existsSync(SHARED_DIR)) {
    // A clone anywhere must pass on its own (the vectors are committed under test/fixtures);
    // only where the shared checkout sits beside it is the copy compared for drift.
    t.skip(`no ${SHARED_DIR} beside this clone to compare the fixture copy with`);
    return;
  }
  // README.md is left out: ours also describes the AESGCM file, which the shared copy may predate.
  const files = [...SUITES.map((suite) => suite.file), 'LICENSE.cacophony'].filter((file) => existsSync(path.join(SHARED_DIR, file)));
  assert.ok(files.includes(SUITES[0]!.file), 'the shared copy has the ChaChaPoly vectors');
  for (const file of files) {
    assert.ok(readFileSync(path.join(FIXTURE_DIR, file)).equals(readFileSync(path.join(SHARED_DIR, file))), `${file} differs`);
  }
});

function checkVector(vector: Vector, cipher: CipherName): void {
  const { pattern } = parseProtocolName(vector.protocol_name);
  const name: PatternName = pattern.name;

  test(`vector ${vector.protocol_name}`, () => {
    assert.equal(parseProtocolName(vector.protocol_name).cipher.name, cipher);
    const initiator = new HandshakeState({
      pattern: name,
      cipher,
      initiator: true,
      prologue: hex(vector.init_prologue),
      s: optionalPair(vector.init_static),
      e: optionalPair(vector.init_ephemeral),
      rs: optionalHex(vector.init_remote_static),
    });
    const responder = new HandshakeState({
      pattern: name,
      cipher,
      initiator: false,
      prologue: hex(vector.resp_prologue),
      s: optionalPair(vector.resp_static),
      e: optionalPair(vector.resp_ephemeral),
      rs: optionalHex(vector.resp_remote_static),
    });
    assert.equal(initiator.protocolName, vector.protocol_name);
    const handshakeCount = pattern.messages.length;
    assert.ok(vector.messages.length > handshakeCount, 'vector has transport messages after the handshake');

    vector.messages.slice(0, handshakeCount).forEach((message, i) => {
      const [writer, reader] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
      assert.equal(writer.isMyTurn, true, `message ${i}: writer's turn`);
      assert.equal(reader.isMyTurn, false, `message ${i}: not reader's turn`);
      const ciphertext = writer.writeMessage(hex(message.payload));
      assert.equal(ciphertext.toString('hex'), message.ciphertext, `handshake message ${i} ciphertext`);
      assert.equal(reader.readMessage(ciphertext).toString('hex'), message.payload, `handshake message ${i} payload`);
    });

    assert.equal(initiator.isComplete, true);
    assert.equal(responder.isComplete, true);
    assert.equal(initiator.isMyTurn, false);
    assert.equal(responder.isMyTurn, false);
    assert.equal(initiator.handshakeHash.toString('hex'), vector.handshake_hash);
    assert.equal(responder.handshakeHash.toString('hex'), vector.handshake_hash);

    // Each side ends up knowing the other's static key whenever the pattern involves one.
    if (vector.resp_static !== undefined) {
      assert.deepEqual(initiator.remoteStaticKey, keyPairFromPrivate(hex(vector.resp_static)).publicKey);
    }
    if (vector.init_static !== undefined) {
      assert.deepEqual(responder.remoteStaticKey, keyPairFromPrivate(hex(vector.init_static)).publicKey);
    }

    const initiatorCiphers = initiator.split();
    const responderCiphers = responder.split();
    vector.messages.slice(handshakeCount).forEach((message, j) => {
      // Turn-taking continues across the whole list: after XX's 3 messages, the responder sends next.
      const fromInitiator = HANDSHAKE_PATTERNS[name].oneWay || (handshakeCount + j) % 2 === 0;
      const [send, receive] = fromInitiator
        ? [initiatorCiphers.send, responderCiphers.receive]
        : [responderCiphers.send, initiatorCiphers.receive];
      const ciphertext = send.encryptWithAd(new Uint8Array(0), hex(message.payload));
      assert.equal(ciphertext.toString('hex'), message.ciphertext, `transport message ${j} ciphertext`);
      assert.equal(receive.decryptWithAd(new Uint8Array(0), ciphertext).toString('hex'), message.payload, `transport message ${j} payload`);
    });
  });
}
