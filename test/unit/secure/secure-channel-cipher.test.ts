// The transport cipher SecureChannel picks from both handshake payloads: AESGCM when both list
// `aesgcm`, ChaChaPoly otherwise; that the switch changes the bytes on the wire; and that a
// middlebox rewriting the feature inside message 2 or 3 breaks the handshake instead.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AESGCM_FEATURE,
  encodePeerInfo,
  FEATURES,
  MAX_FEATURES,
  NOISE_PROLOGUE,
  PROTOCOL_VERSION,
  type PeerInfo,
} from '../../../src/secure/handshake-payload.js';
import { CIPHER_FUNCTIONS, type CipherName } from '../../../src/secure/noise/cipher-functions.js';
import { DH_LENGTH, generateKeyPair, type KeyPair, TAG_LENGTH } from '../../../src/secure/noise/crypto-primitives.js';
import { HandshakeState } from '../../../src/secure/noise/handshake-state.js';
import { AESGCM_REKEY_EVERY, chooseTransportCipher } from '../../../src/secure/transport-cipher.js';
import { type ChannelEvent, SecureChannel, type SecureChannelOptions } from '../../../src/secure/secure-channel.js';
import { FrameDecoder } from '../../../src/wire/frame-decoder.js';
import { encodeFrame } from '../../../src/wire/frame-encoder.js';
import { PREAMBLE } from '../../../src/wire/preamble.js';
import { throwsCode } from '../../helpers/assert-code.js';

const EMPTY = Buffer.alloc(0);
const info = (name: string, aesgcm: boolean): PeerInfo => ({
  name,
  version: PROTOCOL_VERSION,
  features: aesgcm ? [...FEATURES, AESGCM_FEATURE] : FEATURES,
});

interface Peer {
  readonly info: PeerInfo;
  readonly keys: KeyPair;
  readonly ephemeral: KeyPair;
  readonly channel: SecureChannel;
  readonly events: ChannelEvent[];
}

type Extra = Partial<Omit<SecureChannelOptions, 'initiator'>>;

function peer(initiator: boolean, aesgcm: boolean, extra: Extra = {}): Peer {
  const keys = extra.staticKeyPair ?? generateKeyPair();
  const ephemeral = generateKeyPair();
  const localInfo = extra.localInfo ?? info(initiator ? 'alice' : 'bob', aesgcm);
  const channel = new SecureChannel({ initiator, staticKeyPair: keys, localInfo, ephemeralKeyPair: ephemeral, ...extra });
  return { info: localInfo, keys, ephemeral, channel, events: [] };
}

/** Hand `bytes` to `to`; returns what it sends back. */
function deliver(to: Peer, bytes: Buffer): Buffer {
  const out = to.channel.receive(bytes);
  to.events.push(...out.events);
  return Buffer.concat(out.send);
}

/** The one frame's payload in `bytes` (a preamble, if any, stripped first). */
function frameOf(bytes: Buffer): Buffer {
  const body = bytes.subarray(0, PREAMBLE.length).equals(PREAMBLE) ? bytes.subarray(PREAMBLE.length) : bytes;
  const frames = new FrameDecoder().push(body);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

/** An XX handshake, message by message; `rewrite` may change message 2 or 3 on the way. */
function handshakeXX(alice: Peer, bob: Peer, rewrite: (index: 2 | 3, message: Buffer) => Buffer = (_, m) => m): void {
  const message1 = alice.channel.start();
  const bobPreamble = bob.channel.start();
  const message2 = rewrite(2, frameOf(deliver(bob, message1)));
  const message3 = rewrite(3, frameOf(deliver(alice, Buffer.concat([bobPreamble, encodeFrame(message2)]))));
  deliver(bob, encodeFrame(message3));
}

function messages(p: Peer): string[] {
  return p.events.flatMap((e) => (e.type === 'message' ? [e.data.toString()] : []));
}

/** Both ways, one message each, and each side reports `cipher`. */
function assertFlows(alice: Peer, bob: Peer, cipher: CipherName): void {
  assert.equal(alice.channel.transportCipher, cipher);
  assert.equal(bob.channel.transportCipher, cipher);
  deliver(bob, alice.channel.seal(Buffer.from('to bob')));
  deliver(alice, Buffer.concat(bob.channel.sealParts(Buffer.from('to alice'))));
  assert.deepEqual(messages(bob).slice(-1), ['to bob']);
  assert.deepEqual(messages(alice).slice(-1), ['to alice']);
}

describe('chooseTransportCipher', () => {
  it('is AESGCM, rekeyed every AESGCM_REKEY_EVERY messages, only when both lists name aesgcm', () => {
    const both = chooseTransportCipher(['x', AESGCM_FEATURE], [AESGCM_FEATURE]);
    assert.equal(both.cipher, CIPHER_FUNCTIONS.AESGCM);
    assert.equal(both.rekeyEvery, BigInt(AESGCM_REKEY_EVERY));
    assert.equal(chooseTransportCipher([AESGCM_FEATURE], [AESGCM_FEATURE], 5).rekeyEvery, 5n);
    for (const [ours, theirs] of [[[AESGCM_FEATURE], []], [[], [AESGCM_FEATURE]], [[], []], [['AESGCM'], ['AESGCM']]]) {
      const chosen = chooseTransportCipher(ours!, theirs!);
      assert.equal(chosen.cipher, CIPHER_FUNCTIONS.ChaChaPoly, `${JSON.stringify(ours)} and ${JSON.stringify(theirs)}`);
      assert.equal(chosen.rekeyEvery, undefined, 'ChaChaPoly never rekeys');
    }
  });
});

describe('SecureChannel: the transport cipher', () => {
  it('is AESGCM when both payloads list aesgcm, and messages flow both ways', () => {
    const alice = peer(true, true);
    const bob = peer(false, true);
    assert.equal(alice.channel.transportCipher, undefined, 'no cipher before the session is up');
    handshakeXX(alice, bob);
    assertFlows(alice, bob, 'AESGCM');
  });

  for (const [aliceOffers, bobOffers] of [[true, false], [false, true], [false, false]] as const) {
    it(`is ChaChaPoly on both sides when alice ${aliceOffers ? 'lists' : 'omits'} it and bob ${bobOffers ? 'lists' : 'omits'} it`, () => {
      const alice = peer(true, aliceOffers);
      const bob = peer(false, bobOffers);
      handshakeXX(alice, bob);
      assertFlows(alice, bob, 'ChaChaPoly');
    });
  }

  it('is ChaChaPoly on both sides when aesgcm is past the entries a receiver keeps (MAX_FEATURES)', () => {
    const many = Array.from({ length: MAX_FEATURES }, (_, i) => `f${i}`);
    const alice = peer(true, false, { localInfo: { name: 'alice', version: PROTOCOL_VERSION, features: [...many, AESGCM_FEATURE] } });
    const bob = peer(false, true);
    handshakeXX(alice, bob);
    assert.equal(bob.channel.remote?.info.features.includes(AESGCM_FEATURE), false, 'bob drops the 33rd entry');
    assertFlows(alice, bob, 'ChaChaPoly');
  });

  it('is AESGCM for an IK resumption when both list it; the early message still arrives', () => {
    const bob = peer(false, true, { acceptEarly: true });
    const alice = peer(true, true, { early: { remoteStaticKey: bob.keys.publicKey, message: Buffer.from('early') } });
    const message1 = alice.channel.start();
    const bobPreamble = bob.channel.start();
    deliver(alice, Buffer.concat([bobPreamble, deliver(bob, message1)]));
    assert.equal(alice.channel.remote?.pattern, 'IK');
    assert.deepEqual(messages(bob), ['early']);
    assertFlows(alice, bob, 'AESGCM');
  });

  it('really switches: the keys from Split() under ChaChaPoly cannot open an AESGCM frame', () => {
    const alice = peer(true, true);
    const bob = peer(false, true);
    handshakeXX(alice, bob);
    const sealed = frameOf(alice.channel.seal(Buffer.from('which cipher?')));

    // Replay the same handshake with HandshakeState (same keys, same payloads): the same keys come
    // out of Split(), and the test picks the cipher they are used with.
    const replay = (cipher: CipherName) => {
      const common = { pattern: 'XX' as const, prologue: NOISE_PROLOGUE };
      const i = new HandshakeState({ ...common, initiator: true, s: alice.keys, e: alice.ephemeral });
      const r = new HandshakeState({ ...common, initiator: false, s: bob.keys, e: bob.ephemeral });
      r.readMessage(i.writeMessage(EMPTY));
      i.readMessage(r.writeMessage(encodePeerInfo(bob.info)));
      r.readMessage(i.writeMessage(encodePeerInfo(alice.info)));
      assert.deepEqual(r.handshakeHash, bob.channel.remote?.handshakeHash, 'the replay is the same handshake');
      return r.split(CIPHER_FUNCTIONS[cipher]).receive;
    };
    assert.equal(replay('AESGCM').decryptWithAd(EMPTY, sealed).toString(), 'which cipher?');
    throwsCode(() => replay('ChaChaPoly').decryptWithAd(EMPTY, sealed), 'ERR_DECRYPT_FAILED');
  });
});

describe('SecureChannel: no downgrade by a middlebox', () => {
  // The attacker knows where the feature sits in the payload and that the cipher is a stream
  // cipher: flipping the ciphertext byte would turn `aesgcm` into `aesgcx`, were it not authenticated.
  const flip = (message: Buffer, payloadOffset: number, payload: PeerInfo): Buffer => {
    const json = encodePeerInfo(payload);
    assert.equal(message.length, payloadOffset + json.length + TAG_LENGTH, 'the payload is where the attacker expects it');
    const at = payloadOffset + json.indexOf(AESGCM_FEATURE) + AESGCM_FEATURE.length - 1;
    const copy = Buffer.from(message);
    copy[at]! ^= 'm'.charCodeAt(0) ^ 'x'.charCodeAt(0);
    return copy;
  };

  it('a rewritten feature byte in message 2 fails the handshake at alice', () => {
    const alice = peer(true, true);
    const bob = peer(false, true);
    // Message 2: e, then s encrypted with its tag, then the payload.
    const rewrite = (index: 2 | 3, message: Buffer) => (index === 2 ? flip(message, DH_LENGTH + DH_LENGTH + TAG_LENGTH, bob.info) : message);
    throwsCode(() => handshakeXX(alice, bob, rewrite), 'ERR_HANDSHAKE_FAILED');
    assert.equal(alice.channel.established, false);
    assert.equal(alice.channel.transportCipher, undefined);
  });

  it('a rewritten feature byte in message 3 fails the handshake at bob', () => {
    const alice = peer(true, true);
    const bob = peer(false, true);
    // Message 3: s encrypted with its tag, then the payload.
    const rewrite = (index: 2 | 3, message: Buffer) => (index === 3 ? flip(message, DH_LENGTH + TAG_LENGTH, alice.info) : message);
    throwsCode(() => handshakeXX(alice, bob, rewrite), 'ERR_HANDSHAKE_FAILED');
    assert.equal(bob.channel.established, false);
    assert.equal(bob.channel.transportCipher, undefined);
  });
});

describe('SecureChannel: an AESGCM session rekeys', () => {
  const EVERY = 3;

  /** Alice and bob on AESGCM; `bobEvery` lets bob keep another schedule than alice's. */
  function session(bobEvery = EVERY): [Peer, Peer] {
    const alice = peer(true, true, { aesGcmRekeyEvery: EVERY });
    const bob = peer(false, true, { aesGcmRekeyEvery: bobEvery });
    handshakeXX(alice, bob);
    return [alice, bob];
  }

  it('each direction after every AESGCM_REKEY_EVERY messages (2^20: 64 GiB of 64 KiB records), in step', () => {
    assert.equal(AESGCM_REKEY_EVERY, 2 ** 20);
    const [alice, bob] = session();
    const sent: string[] = [];
    for (let i = 0; i < 4 * EVERY + 1; i++) {
      const text = `m${i}`;
      sent.push(text);
      deliver(bob, i % 2 === 0 ? alice.channel.seal(Buffer.from(text)) : Buffer.concat(alice.channel.sealParts(Buffer.from(text))));
      deliver(alice, bob.channel.seal(Buffer.from(`re ${text}`)));
    }
    assert.deepEqual(messages(bob), sent, 'every message across four key changes, seal and sealParts alike');
    assert.deepEqual(messages(alice), sent.map((t) => `re ${t}`));
  });

  it('really changes the key: a receiver that rekeys later cannot read the message after the change', () => {
    const [alice, bob] = session(EVERY + 1);
    for (let i = 0; i < EVERY; i++) deliver(bob, alice.channel.seal(Buffer.from(`m${i}`)));
    throwsCode(() => deliver(bob, alice.channel.seal(Buffer.from('first under the new key'))), 'ERR_DECRYPT_FAILED');
  });

  it('not a ChaChaPoly session, which has no block budget (and whose older peers never rekey)', () => {
    const alice = peer(true, true, { aesGcmRekeyEvery: 1 });
    const bob = peer(false, false, { aesGcmRekeyEvery: 1 });
    handshakeXX(alice, bob);
    for (let i = 0; i < 3; i++) assertFlows(alice, bob, 'ChaChaPoly');
  });
});
