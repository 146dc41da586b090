// The cipher table beyond the vectors: each cipher's nonce layout checked against node:crypto
// called directly, tampering, REKEY, and protocol names of both suites.

import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CIPHER_FUNCTIONS,
  CIPHER_NAMES,
  type CipherName,
  CipherState,
  HandshakeState,
  parseProtocolName,
  protocolName,
} from '../../../src/secure/noise/index.js';
import { throwsCode } from '../../helpers/assert-code.js';

const EMPTY = new Uint8Array(0);
const COUNTER = 0x0102030405060708n;

/** AEAD by hand: `iv` is the whole 12-byte nonce, spelt out by the test. */
function sealByHand(algorithm: string, key: Buffer, iv: string, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv(algorithm as 'aes-256-gcm', key, Buffer.from(iv, 'hex'), { authTagLength: 16 });
  cipher.setAAD(ad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

describe('cipher table', () => {
  test('has ChaChaPoly and AESGCM, frozen', () => {
    assert.deepEqual([...CIPHER_NAMES], ['ChaChaPoly', 'AESGCM']);
    assert.equal(Object.isFrozen(CIPHER_FUNCTIONS), true);
    assert.equal(Object.isFrozen(CIPHER_FUNCTIONS.AESGCM), true);
    assert.equal(CIPHER_FUNCTIONS.AESGCM.algorithm, 'aes-256-gcm');
    assert.equal(CIPHER_FUNCTIONS.ChaChaPoly.algorithm, 'chacha20-poly1305');
  });

  test('AESGCM puts the counter big-endian after 4 zero bytes (spec 12.4)', () => {
    const key = randomBytes(32);
    const state = new CipherState(key, CIPHER_FUNCTIONS.AESGCM);
    state.setNonce(COUNTER);
    const ad = Buffer.from('ad');
    const sealed = state.encryptWithAd(ad, Buffer.from('hello'));
    assert.deepEqual(sealed, sealByHand('aes-256-gcm', key, '00000000' + '0102030405060708', ad, Buffer.from('hello')));
    assert.notDeepEqual(sealed, sealByHand('aes-256-gcm', key, '00000000' + '0807060504030201', ad, Buffer.from('hello')));
    assert.equal(sealed.length, 5 + 16);
  });

  test('ChaChaPoly puts the counter little-endian after 4 zero bytes (spec 12.3)', () => {
    const key = randomBytes(32);
    const state = new CipherState(key, CIPHER_FUNCTIONS.ChaChaPoly);
    state.setNonce(COUNTER);
    const sealed = state.encryptWithAd(EMPTY, Buffer.from('hello'));
    assert.deepEqual(sealed, sealByHand('chacha20-poly1305', key, '00000000' + '0807060504030201', EMPTY, Buffer.from('hello')));
  });

  test('encryptWithAdParts gives the same bytes as encryptWithAd, unjoined', () => {
    const key = randomBytes(32);
    const [a, b] = [new CipherState(key, CIPHER_FUNCTIONS.AESGCM), new CipherState(key, CIPHER_FUNCTIONS.AESGCM)];
    const plaintext = randomBytes(1000);
    const [body, tag] = a.encryptWithAdParts(EMPTY, plaintext);
    assert.equal(tag.length, 16);
    assert.deepEqual(Buffer.concat([body, tag]), b.encryptWithAd(EMPTY, plaintext));
  });

  for (const name of CIPHER_NAMES) {
    test(`${name}: a tampered tag, body or nonce fails with ERR_DECRYPT_FAILED, and the nonce stays`, () => {
      const key = randomBytes(32);
      const sender = new CipherState(key, CIPHER_FUNCTIONS[name]);
      const receiver = new CipherState(key, CIPHER_FUNCTIONS[name]);
      const sealed = sender.encryptWithAd(EMPTY, Buffer.from('do not touch'));
      for (const index of [sealed.length - 1, 0]) {
        const tampered = Buffer.from(sealed);
        tampered[index]! ^= 0x01;
        throwsCode(() => receiver.decryptWithAd(EMPTY, tampered), 'ERR_DECRYPT_FAILED');
        assert.equal(receiver.nonce, 0n);
      }
      receiver.setNonce(1n);
      throwsCode(() => receiver.decryptWithAd(EMPTY, sealed), 'ERR_DECRYPT_FAILED');
      receiver.setNonce(0n);
      assert.equal(receiver.decryptWithAd(EMPTY, sealed).toString(), 'do not touch');
    });

    test(`${name}: REKEY is ENCRYPT(k, 2^64-1, "", 32 zero bytes)[0:32], in that cipher`, () => {
      const key = randomBytes(32);
      const state = new CipherState(key, CIPHER_FUNCTIONS[name]);
      state.rekey();
      // 2^64-1 reads the same in either byte order.
      const newKey = sealByHand(CIPHER_FUNCTIONS[name].algorithm, key, '00000000ffffffffffffffff', EMPTY, Buffer.alloc(32)).subarray(0, 32);
      const expected = new CipherState(newKey, CIPHER_FUNCTIONS[name]);
      assert.deepEqual(state.encryptWithAd(EMPTY, Buffer.from('x')), expected.encryptWithAd(EMPTY, Buffer.from('x')));
    });
  }
});

describe('protocol names', () => {
  test('round-trip for both suites, and a handshake carries its cipher into split()', () => {
    for (const cipher of CIPHER_NAMES) {
      const name = protocolName('XX', cipher);
      assert.equal(name, `Noise_XX_25519_${cipher}_SHA256`);
      const parts = parseProtocolName(name);
      assert.equal(parts.pattern.name, 'XX');
      assert.equal(parts.cipher, CIPHER_FUNCTIONS[cipher]);
      const hs = new HandshakeState({ pattern: 'NN', cipher, initiator: true, prologue: EMPTY });
      assert.equal(hs.protocolName, `Noise_NN_25519_${cipher}_SHA256`);
      assert.equal(hs.cipher.name, cipher);
    }
    assert.equal(protocolName('IK'), 'Noise_IK_25519_ChaChaPoly_SHA256');
  });

  test('split() can key the transport with another cipher; the two sides must agree on it', () => {
    const run = (initiatorCipher: CipherName, responderCipher: CipherName) => {
      const i = new HandshakeState({ pattern: 'NN', initiator: true, prologue: EMPTY });
      const r = new HandshakeState({ pattern: 'NN', initiator: false, prologue: EMPTY });
      r.readMessage(i.writeMessage(EMPTY));
      i.readMessage(r.writeMessage(EMPTY));
      const a = i.split(CIPHER_FUNCTIONS[initiatorCipher]);
      const b = r.split(CIPHER_FUNCTIONS[responderCipher]);
      assert.equal(a.send.cipher.name, initiatorCipher);
      assert.equal(a.receive.cipher.name, initiatorCipher);
      return () => b.receive.decryptWithAd(EMPTY, a.send.encryptWithAd(EMPTY, Buffer.from('hi'))).toString();
    };
    assert.equal(run('AESGCM', 'AESGCM')(), 'hi');
    throwsCode(run('AESGCM', 'ChaChaPoly'), 'ERR_DECRYPT_FAILED');
  });

  test('an unknown cipher name is refused with ERR_HANDSHAKE_FAILED', () => {
    throwsCode(() => new HandshakeState({ pattern: 'NN', cipher: 'AES' as CipherName, initiator: true, prologue: EMPTY }), 'ERR_HANDSHAKE_FAILED');
  });
});
