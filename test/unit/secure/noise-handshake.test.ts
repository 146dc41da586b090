// Behaviour of the Noise handshake beyond the vectors: fresh keys, tampering, hostile keys, nonce
// limits and misuse. Each failure is checked by its error code, since that is what callers branch on.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import {
  CipherState,
  dh,
  generateKeyPair,
  HandshakeState,
  keyPairFromPrivate,
  MAX_MESSAGE_LENGTH,
  MAX_NONCE,
  parseProtocolName,
  type PatternName,
} from '../../../src/secure/noise/index.js';
import { throwsCode } from '../../helpers/assert-code.js';

const PROLOGUE = Buffer.from('p2p-chat test');
const EMPTY = new Uint8Array(0);


function xxPair(pattern: PatternName = 'XX') {
  const initiatorStatic = generateKeyPair();
  const responderStatic = generateKeyPair();
  const initiator = new HandshakeState({ pattern, initiator: true, prologue: PROLOGUE, s: initiatorStatic });
  const responder = new HandshakeState({ pattern, initiator: false, prologue: PROLOGUE, s: responderStatic });
  return { initiator, responder, initiatorStatic, responderStatic };
}

function completeXX() {
  const pair = xxPair();
  pair.responder.readMessage(pair.initiator.writeMessage(EMPTY));
  pair.initiator.readMessage(pair.responder.writeMessage(EMPTY));
  pair.responder.readMessage(pair.initiator.writeMessage(EMPTY));
  return { ...pair, initiatorCiphers: pair.initiator.split(), responderCiphers: pair.responder.split() };
}

// Curve25519 points of small order, and non-canonical encodings of them (libsodium's blocklist).
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

describe('XX with fresh random keys', () => {
  test('both sides learn each other, agree on the hash, and talk both ways', () => {
    const { initiator, responder, initiatorStatic, responderStatic } = xxPair();
    assert.equal(initiator.isMyTurn, true);
    assert.equal(responder.isMyTurn, false);

    const m1 = initiator.writeMessage(Buffer.from('hello'));
    assert.equal(m1.length, 32 + 5, 'message 1 is e and a plaintext payload');
    assert.equal(responder.readMessage(m1).toString(), 'hello');
    const m2 = responder.writeMessage(Buffer.from('hi'));
    assert.equal(m2.length, 32 + 48 + 2 + 16);
    assert.equal(initiator.readMessage(m2).toString(), 'hi');
    assert.equal(responder.readMessage(initiator.writeMessage(Buffer.from('done'))).toString(), 'done');

    assert.equal(initiator.isComplete, true);
    assert.equal(responder.isComplete, true);
    assert.deepEqual(initiator.remoteStaticKey, responderStatic.publicKey);
    assert.deepEqual(responder.remoteStaticKey, initiatorStatic.publicKey);
    assert.deepEqual(initiator.handshakeHash, responder.handshakeHash);

    const a = initiator.split();
    const b = responder.split();
    for (let i = 0; i < 3; i++) {
      assert.equal(b.receive.decryptWithAd(EMPTY, a.send.encryptWithAd(EMPTY, Buffer.from(`a${i}`))).toString(), `a${i}`);
      assert.equal(a.receive.decryptWithAd(EMPTY, b.send.encryptWithAd(EMPTY, Buffer.from(`b${i}`))).toString(), `b${i}`);
    }
    assert.equal(a.send.nonce, 3n);
    assert.equal(b.receive.nonce, 3n);
  });

  test('the largest payload fits in one transport message, one byte more does not', () => {
    const { initiatorCiphers, responderCiphers } = completeXX();
    const max = Buffer.alloc(MAX_MESSAGE_LENGTH - 16, 7);
    const ciphertext = initiatorCiphers.send.encryptWithAd(EMPTY, max);
    assert.equal(ciphertext.length, MAX_MESSAGE_LENGTH);
    assert.deepEqual(responderCiphers.receive.decryptWithAd(EMPTY, ciphertext), max);
    throwsCode(() => initiatorCiphers.send.encryptWithAd(EMPTY, Buffer.alloc(MAX_MESSAGE_LENGTH - 15)), 'ERR_FRAME_TOO_LARGE');
  });

  test('rekey on both sides keeps them in step', () => {
    const { initiatorCiphers, responderCiphers } = completeXX();
    initiatorCiphers.send.rekey();
    responderCiphers.receive.rekey();
    const ciphertext = initiatorCiphers.send.encryptWithAd(EMPTY, Buffer.from('after rekey'));
    assert.equal(responderCiphers.receive.decryptWithAd(EMPTY, ciphertext).toString(), 'after rekey');
  });
});

describe('tampering', () => {
  test('a flipped byte anywhere in message 2 fails the handshake', () => {
    // Byte 0 is in e (changes h and the DH), 40 in the encrypted static key, the last in the payload tag.
    for (const index of [0, 40, 32 + 48 + 16 - 1]) {
      const { initiator, responder } = xxPair();
      responder.readMessage(initiator.writeMessage(EMPTY));
      const m2 = responder.writeMessage(EMPTY);
      m2[index]! ^= 0x01;
      const err = throwsCode(() => initiator.readMessage(m2), 'ERR_HANDSHAKE_FAILED');
      assert.ok(P2PChatError.is(err.cause, 'ERR_DECRYPT_FAILED'), `byte ${index}: cause is the decrypt error`);
      // A half-processed handshake is poisoned, not resumable.
      throwsCode(() => initiator.writeMessage(EMPTY), 'ERR_HANDSHAKE_FAILED');
      assert.equal(initiator.isMyTurn, false);
    }
  });

  test('a flipped byte in a transport message fails with ERR_DECRYPT_FAILED', () => {
    const { initiatorCiphers, responderCiphers } = completeXX();
    const ciphertext = initiatorCiphers.send.encryptWithAd(EMPTY, Buffer.from('attack at dawn'));
    ciphertext[3]! ^= 0x80;
    throwsCode(() => responderCiphers.receive.decryptWithAd(EMPTY, ciphertext), 'ERR_DECRYPT_FAILED');
  });

  test('a decrypt failure does not advance the nonce, so the genuine message still opens', () => {
    const { initiatorCiphers, responderCiphers } = completeXX();
    const first = initiatorCiphers.send.encryptWithAd(EMPTY, Buffer.from('first'));
    const second = initiatorCiphers.send.encryptWithAd(EMPTY, Buffer.from('second'));
    const forged = Buffer.from(first);
    forged[forged.length - 1]! ^= 0xff;
    throwsCode(() => responderCiphers.receive.decryptWithAd(EMPTY, forged), 'ERR_DECRYPT_FAILED');
    throwsCode(() => responderCiphers.receive.decryptWithAd(EMPTY, Buffer.alloc(15)), 'ERR_DECRYPT_FAILED');
    assert.equal(responderCiphers.receive.nonce, 0n);
    assert.equal(responderCiphers.receive.decryptWithAd(EMPTY, first).toString(), 'first');
    assert.equal(responderCiphers.receive.decryptWithAd(EMPTY, second).toString(), 'second');
  });
});

describe('low-order public keys', () => {
  for (const point of LOW_ORDER_POINTS) {
    test(`peer ephemeral ${point.slice(0, 8)}… is rejected with ERR_LOW_ORDER_POINT`, () => {
      const { initiator, responder } = xxPair();
      responder.readMessage(initiator.writeMessage(EMPTY));
      const m2 = responder.writeMessage(EMPTY);
      Buffer.from(point, 'hex').copy(m2, 0); // replace the responder's e
      throwsCode(() => initiator.readMessage(m2), 'ERR_LOW_ORDER_POINT');
    });
  }

  test('as the initiator ephemeral, the responder refuses when it first uses it', () => {
    const { responder } = xxPair();
    responder.readMessage(Buffer.alloc(32));
    throwsCode(() => responder.writeMessage(EMPTY), 'ERR_LOW_ORDER_POINT');
  });

  test('dh() itself rejects them, and rejects keys that are not 32 bytes', () => {
    const local = generateKeyPair();
    for (const point of LOW_ORDER_POINTS) throwsCode(() => dh(local.privateKey, Buffer.from(point, 'hex')), 'ERR_LOW_ORDER_POINT');
    throwsCode(() => dh(local.privateKey, Buffer.alloc(31, 9)), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => dh(local.privateKey, Buffer.alloc(33, 9)), 'ERR_HANDSHAKE_FAILED');
  });

  test('a normal dh agrees on both sides and keyPairFromPrivate rebuilds the public key', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.deepEqual(dh(a.privateKey, b.publicKey), dh(b.privateKey, a.publicKey));
    assert.deepEqual(keyPairFromPrivate(a.privateKey).publicKey, a.publicKey);
  });
});

describe('nonces', () => {
  test('encrypting or decrypting at nonce 2^64-1 gives ERR_NONCE_EXHAUSTED', () => {
    const cipher = new CipherState(randomBytes(32));
    cipher.setNonce(MAX_NONCE);
    throwsCode(() => cipher.encryptWithAd(EMPTY, Buffer.from('x')), 'ERR_NONCE_EXHAUSTED');
    throwsCode(() => cipher.decryptWithAd(EMPTY, Buffer.alloc(17)), 'ERR_NONCE_EXHAUSTED');
  });

  test('nonce 2^64-2 is the last usable one', () => {
    const key = randomBytes(32);
    const sender = new CipherState(key);
    const receiver = new CipherState(key);
    sender.setNonce(MAX_NONCE - 1n);
    receiver.setNonce(MAX_NONCE - 1n);
    assert.equal(receiver.decryptWithAd(EMPTY, sender.encryptWithAd(EMPTY, Buffer.from('last'))).toString(), 'last');
    throwsCode(() => sender.encryptWithAd(EMPTY, Buffer.from('one more')), 'ERR_NONCE_EXHAUSTED');
  });

  test('a cipher state without a key passes bytes through, as the handshake requires', () => {
    const cipher = new CipherState();
    assert.equal(cipher.hasKey(), false);
    assert.equal(cipher.encryptWithAd(EMPTY, Buffer.from('plain')).toString(), 'plain');
  });
});

describe('misuse', () => {
  test('a message out of turn gives ERR_HANDSHAKE_FAILED', () => {
    const { initiator, responder } = xxPair();
    throwsCode(() => responder.writeMessage(EMPTY), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => initiator.readMessage(Buffer.alloc(32)), 'ERR_HANDSHAKE_FAILED');
    // Refusing out-of-turn calls does not damage the handshake.
    responder.readMessage(initiator.writeMessage(EMPTY));
    throwsCode(() => initiator.writeMessage(EMPTY), 'ERR_HANDSHAKE_FAILED');
    initiator.readMessage(responder.writeMessage(EMPTY));
    responder.readMessage(initiator.writeMessage(EMPTY));
    assert.deepEqual(initiator.handshakeHash, responder.handshakeHash);
  });

  test('a too-short message and a message after completion give ERR_HANDSHAKE_FAILED', () => {
    const { initiator, responder } = xxPair();
    responder.readMessage(initiator.writeMessage(EMPTY));
    const m2 = responder.writeMessage(EMPTY);
    throwsCode(() => initiator.readMessage(m2.subarray(0, m2.length - 1)), 'ERR_HANDSHAKE_FAILED');
    initiator.readMessage(m2); // the length check runs before any state changes
    responder.readMessage(initiator.writeMessage(EMPTY));
    throwsCode(() => initiator.writeMessage(EMPTY), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => responder.readMessage(Buffer.alloc(100)), 'ERR_HANDSHAKE_FAILED');
  });

  test('oversized handshake messages and payloads give ERR_FRAME_TOO_LARGE', () => {
    const { initiator, responder } = xxPair();
    throwsCode(() => initiator.writeMessage(Buffer.alloc(MAX_MESSAGE_LENGTH - 32 + 1)), 'ERR_FRAME_TOO_LARGE');
    throwsCode(() => responder.readMessage(Buffer.alloc(MAX_MESSAGE_LENGTH + 1)), 'ERR_FRAME_TOO_LARGE');
    assert.equal(initiator.writeMessage(Buffer.alloc(MAX_MESSAGE_LENGTH - 32)).length, MAX_MESSAGE_LENGTH);
  });

  test('missing or misplaced keys are refused at construction', () => {
    throwsCode(() => new HandshakeState({ pattern: 'XX', initiator: true, prologue: EMPTY }), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => new HandshakeState({ pattern: 'NK', initiator: true, prologue: EMPTY }), 'ERR_HANDSHAKE_FAILED');
    const rs = generateKeyPair().publicKey;
    throwsCode(
      () => new HandshakeState({ pattern: 'XX', initiator: true, prologue: EMPTY, s: generateKeyPair(), rs }),
      'ERR_HANDSHAKE_FAILED',
    );
    throwsCode(
      () => new HandshakeState({ pattern: 'NK', initiator: true, prologue: EMPTY, rs: rs.subarray(1) }),
      'ERR_HANDSHAKE_FAILED',
    );
  });

  test('split only once, and only after completion; handshakeHash only after completion', () => {
    const { initiator, responder } = xxPair();
    throwsCode(() => initiator.split(), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => initiator.handshakeHash, 'ERR_HANDSHAKE_FAILED');
    responder.readMessage(initiator.writeMessage(EMPTY));
    initiator.readMessage(responder.writeMessage(EMPTY));
    responder.readMessage(initiator.writeMessage(EMPTY));
    initiator.split();
    throwsCode(() => initiator.split(), 'ERR_HANDSHAKE_FAILED');
  });

  test('different prologues make the handshake fail', () => {
    const initiator = new HandshakeState({ pattern: 'NN', initiator: true, prologue: Buffer.from('v1') });
    const responder = new HandshakeState({ pattern: 'NN', initiator: false, prologue: Buffer.from('v2') });
    responder.readMessage(initiator.writeMessage(EMPTY));
    throwsCode(() => initiator.readMessage(responder.writeMessage(EMPTY)), 'ERR_HANDSHAKE_FAILED');
  });

  test('one-way patterns: the initiator only sends, the responder only receives', () => {
    const responderStatic = generateKeyPair();
    const initiator = new HandshakeState({ pattern: 'N', initiator: true, prologue: EMPTY, rs: responderStatic.publicKey });
    const responder = new HandshakeState({ pattern: 'N', initiator: false, prologue: EMPTY, s: responderStatic });
    assert.equal(responder.readMessage(initiator.writeMessage(Buffer.from('one way'))).toString(), 'one way');
    assert.equal(initiator.isComplete && responder.isComplete, true);
    const a = initiator.split();
    const b = responder.split();
    assert.equal(b.receive.decryptWithAd(EMPTY, a.send.encryptWithAd(EMPTY, Buffer.from('x'))).toString(), 'x');
    throwsCode(() => b.send.encryptWithAd(EMPTY, Buffer.from('back')), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => a.receive.decryptWithAd(EMPTY, Buffer.alloc(16)), 'ERR_HANDSHAKE_FAILED');
  });

  test('parseProtocolName accepts only the 25519_ChaChaPoly_SHA256 and 25519_AESGCM_SHA256 suites', () => {
    assert.equal(parseProtocolName('Noise_IK_25519_ChaChaPoly_SHA256').pattern.name, 'IK');
    assert.deepEqual(parseProtocolName('Noise_XX_25519_ChaChaPoly_SHA256').pattern.messages, [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']]);
    assert.equal(parseProtocolName('Noise_XX_25519_ChaChaPoly_SHA256').cipher.name, 'ChaChaPoly');
    assert.equal(parseProtocolName('Noise_XX_25519_AESGCM_SHA256').cipher.name, 'AESGCM');
    for (const bad of [
      'Noise_XX_448_ChaChaPoly_SHA256',
      'Noise_XX_25519_AESGCM_SHA512',
      'Noise_XX_25519_AESGCM_BLAKE2b',
      'Noise_XX_25519_AES_SHA256',
      'Noise_XX_25519_ChaChaPoly_BLAKE2s',
      'Noise_XXpsk3_25519_ChaChaPoly_SHA256',
      'Noise_X1K_25519_ChaChaPoly_SHA256',
      'XX',
      '',
    ]) {
      throwsCode(() => parseProtocolName(bad), 'ERR_HANDSHAKE_FAILED');
    }
  });
});
