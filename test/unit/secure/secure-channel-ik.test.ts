// SecureChannel's Noise IK mode: an initiator that already holds the responder's key sends the first
// session message inside message 1. End to end, message 1 on the wire, wrong keys, responders that
// do not take IK, replays, the finish gate, and hand-built message 1s with bad payloads.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import {
  decodeEarlyPayload,
  encodeEarlyPayload,
  FEATURES,
  MAX_EARLY_BYTES,
  NOISE_PROLOGUE,
  PROTOCOL_VERSION,
  type PeerInfo,
} from '../../../src/secure/handshake-payload.js';
import { generateKeyPair, type KeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { HandshakeState } from '../../../src/secure/noise/handshake-state.js';
import { type ChannelEvent, type RemotePeer, SecureChannel, type SecureChannelOptions } from '../../../src/secure/secure-channel.js';
import { FrameDecoder } from '../../../src/wire/frame-decoder.js';
import { encodeFrame } from '../../../src/wire/frame-encoder.js';
import { PREAMBLE, PreambleReader } from '../../../src/wire/preamble.js';
import { throwsCode } from '../../helpers/assert-code.js';

const ALICE: PeerInfo = { name: 'alice', version: PROTOCOL_VERSION, features: FEATURES };
const BOB: PeerInfo = { name: 'bob', version: PROTOCOL_VERSION, features: ['chat'] };
/** Stands for the session message a resuming dialler sends (a `conversation`). */
const RESUME = Buffer.from('{"t":"conversation","id":"c-42","secret-marker":true}', 'utf8');

type Extra = Omit<SecureChannelOptions, 'initiator' | 'staticKeyPair' | 'localInfo'>;

/** One end: its keys, its channel (with IK options in `extra`) and every event it produced. */
class End {
  readonly channel: SecureChannel;
  readonly events: ChannelEvent[] = [];

  constructor(initiator: boolean, readonly keys: KeyPair = generateKeyPair(), extra: Extra = {}) {
    this.channel = new SecureChannel({ initiator, staticKeyPair: keys, localInfo: initiator ? ALICE : BOB, ...extra });
  }

  /** Deliver bytes, whole or one byte per receive(); returns what this end sends back. */
  feed(bytes: Buffer, byteByByte = false): Buffer {
    const chunks = byteByByte ? [...bytes].map((b) => Buffer.of(b)) : [bytes];
    const sent = chunks.flatMap((chunk) => {
      const out = this.channel.receive(chunk);
      this.events.push(...out.events);
      return out.send;
    });
    return Buffer.concat(sent);
  }

  get remote(): RemotePeer | undefined {
    const event = this.events.find((e) => e.type === 'established');
    return event?.type === 'established' ? event.remote : undefined;
  }

  get messages(): Buffer[] {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.data] : []));
  }
}

const responder = (keys = generateKeyPair(), acceptEarly = true) => new End(false, keys, { acceptEarly });
const ikInitiator = (to: End, extra: Partial<Extra> = {}) =>
  new End(true, generateKeyPair(), { early: { remoteStaticKey: to.keys.publicKey, message: RESUME }, ...extra });

/** Preamble + message 1 to the responder, preamble + message 2 back; returns the initiator's reply. */
function ikConnect(alice: End, bob: End, byteByByte = false): Buffer {
  const toBob = alice.channel.start();
  const toAlice = Buffer.concat([bob.channel.start(), bob.feed(toBob, byteByByte)]);
  return alice.feed(toAlice, byteByByte);
}

/** The frames after the preamble in what one side sends first. */
function framesAfterPreamble(bytes: Buffer): Buffer[] {
  const result = new PreambleReader().push(bytes);
  assert.ok(result.done, 'no whole preamble');
  return new FrameDecoder().push(result.rest);
}

/** A message 1 built by hand (Noise IK to `to`) with any payload, preamble first. */
function handBuiltMessage1(to: End, payload: Buffer): Buffer {
  const mallory = new HandshakeState({ pattern: 'IK', initiator: true, prologue: NOISE_PROLOGUE, s: generateKeyPair(), rs: to.keys.publicKey });
  return Buffer.concat([PREAMBLE, encodeFrame(mallory.writeMessage(payload))]);
}

function jsonOf(info: PeerInfo): Buffer {
  return Buffer.from(JSON.stringify({ name: info.name, v: info.version, features: info.features }));
}

describe('SecureChannel IK: end to end', () => {
  for (const byteByByte of [false, true]) {
    it(`establishes both sides in two messages, the early message first${byteByByte ? ', every byte on its own' : ''}`, () => {
      const bob = responder();
      const aliceEphemeral = generateKeyPair();
      const alice = ikInitiator(bob, { ephemeralKeyPair: aliceEphemeral });
      const reply = ikConnect(alice, bob, byteByByte);
      assert.equal(reply.length, 0, 'IK has no message 3');

      const aliceSees = alice.remote;
      const bobSees = bob.remote;
      assert.ok(aliceSees && bobSees);
      assert.equal(alice.channel.established && bob.channel.established, true);
      assert.equal(aliceSees.pattern, 'IK');
      assert.equal(bobSees.pattern, 'IK');
      assert.equal(aliceSees.fingerprint, fingerprintOf(bob.keys.publicKey));
      assert.deepEqual(aliceSees.info, BOB);
      assert.equal(bobSees.fingerprint, fingerprintOf(alice.keys.publicKey));
      assert.deepEqual(bobSees.publicKey, alice.keys.publicKey);
      assert.deepEqual(bobSees.info, { ...ALICE, features: [...FEATURES] });
      assert.deepEqual(aliceSees.handshakeHash, bobSees.handshakeHash);
      assert.equal(aliceSees.handshakeHash.length, 32);
      // Only the responder learns an ephemeral key: the one that tells a replay from a fresh dial.
      assert.deepEqual(bobSees.ephemeralKey, aliceEphemeral.publicKey);
      assert.equal(aliceSees.ephemeralKey, undefined);

      // The early message comes right behind `established`, and is the first message.
      assert.deepEqual(bob.events.map((e) => e.type), ['established', 'message']);
      assert.deepEqual(bob.messages, [RESUME]);
      assert.deepEqual(alice.events.map((e) => e.type), ['established']);

      bob.feed(alice.channel.seal(Buffer.from('after the handshake')), byteByByte);
      alice.feed(bob.channel.seal(Buffer.from('and back')), byteByByte);
      assert.deepEqual(bob.messages.map(String), [String(RESUME), 'after the handshake']);
      assert.deepEqual(alice.messages.map(String), ['and back']);
    });
  }

  it('answers message 1 in one receive(): message 2 out, then established and the early message', () => {
    const bob = responder();
    const alice = ikInitiator(bob);
    bob.channel.start();
    const out = bob.channel.receive(alice.channel.start());
    assert.equal(out.send.length, 1, 'message 2, one frame');
    assert.deepEqual(out.events.map((e) => e.type), ['established', 'message']);
    assert.ok(out.events[1]?.type === 'message' && out.events[1].data.equals(RESUME));
  });

  it('lets the responder answer right behind message 2, read by the initiator in the same chunk', () => {
    const bob = responder();
    const alice = ikInitiator(bob);
    const toAlice = Buffer.concat([bob.channel.start(), bob.feed(alice.channel.start())]);
    const answer = bob.channel.seal(Buffer.from('resumed'));
    alice.feed(Buffer.concat([toAlice, answer]));
    assert.deepEqual(alice.events.map((e) => e.type), ['established', 'message']);
    assert.deepEqual(alice.messages.map(String), ['resumed']);
  });

  it('carries an early message of exactly MAX_EARLY_BYTES', () => {
    const bob = responder();
    const largest = Buffer.alloc(MAX_EARLY_BYTES, 0x5a);
    const alice = new End(true, generateKeyPair(), { early: { remoteStaticKey: bob.keys.publicKey, message: largest } });
    ikConnect(alice, bob);
    assert.ok(alice.remote && bob.remote);
    assert.deepEqual(bob.messages, [largest]);
  });
});

describe('SecureChannel IK: message 1 on the wire', () => {
  it('is the preamble and one frame of e, encrypted s, encrypted payload: nothing readable', () => {
    const bob = responder();
    const ephemeral = generateKeyPair();
    const alice = ikInitiator(bob, { ephemeralKeyPair: ephemeral });
    const wire = alice.channel.start();
    assert.deepEqual(wire.subarray(0, PREAMBLE.length), PREAMBLE);
    const frames = framesAfterPreamble(wire);
    assert.equal(frames.length, 1);
    const payload = encodeEarlyPayload(ALICE, RESUME);
    // 32 (e) + 48 (s and its tag) + payload + 16 (its tag).
    assert.equal(frames[0]!.length, 32 + 48 + payload.length + 16);
    assert.deepEqual(frames[0]!.subarray(0, 32), ephemeral.publicKey);
    assert.equal(wire.includes(Buffer.from('secret-marker')), false, 'the early message is encrypted');
    assert.equal(wire.includes(Buffer.from('"name"')), false, 'so is our PeerInfo');
    assert.equal(wire.includes(alice.keys.publicKey), false, 'and our static key');
  });
});

describe('SecureChannel IK: responders it must not reach', () => {
  it('a responder with another static key fails message 1 and sends nothing back', () => {
    const intended = responder();
    const other = responder();
    const alice = ikInitiator(intended);
    other.channel.start();
    let sent: Buffer[] | undefined;
    throwsCode(() => {
      sent = other.channel.receive(alice.channel.start()).send;
    }, 'ERR_HANDSHAKE_FAILED');
    assert.equal(sent, undefined);
    assert.equal(other.channel.established, false);
    assert.equal(other.channel.remote, undefined);
    assert.deepEqual(other.events, []);
  });

  it('a responder without acceptEarly answers as XX, and the IK initiator fails on message 2', () => {
    const bob = responder(generateKeyPair(), false);
    const alice = ikInitiator(bob);
    const toAlice = Buffer.concat([bob.channel.start(), bob.feed(alice.channel.start())]);
    // Bob read a long XX message 1 (its payload discarded) and answered with XX message 2.
    assert.equal(framesAfterPreamble(toAlice).length, 1);
    assert.equal(bob.channel.awaitingMessage3, true);
    let sent: Buffer[] | undefined;
    throwsCode(() => {
      sent = alice.channel.receive(toAlice).send;
    }, 'ERR_HANDSHAKE_FAILED');
    assert.equal(sent, undefined);
    assert.equal(alice.channel.established, false);
    assert.equal(bob.channel.established, false);
    assert.deepEqual(alice.events, []);
    assert.deepEqual(bob.events, [], 'not established, and the early message never surfaces');
  });

  it('an XX initiator still connects to an acceptEarly responder, as XX', () => {
    const bob = responder();
    const alice = new End(true);
    const toAlice = Buffer.concat([bob.channel.start(), bob.feed(alice.channel.start())]);
    assert.deepEqual(bob.events, [], 'an XX responder waits for message 3');
    bob.feed(alice.feed(toAlice));
    assert.ok(alice.remote && bob.remote);
    assert.equal(alice.remote.pattern, 'XX');
    assert.equal(bob.remote.pattern, 'XX');
    assert.equal(bob.remote.ephemeralKey, undefined);
    assert.equal(bob.remote.fingerprint, fingerprintOf(alice.keys.publicKey));
    assert.deepEqual(alice.remote.handshakeHash, bob.remote.handshakeHash);
    bob.feed(alice.channel.seal(Buffer.from('plain XX')));
    assert.deepEqual(bob.messages.map(String), ['plain XX']);
  });
});

describe('SecureChannel IK: replayed message 1', () => {
  it('the channel cannot tell a replay: only the ephemeral key it reports identifies message 1', () => {
    const bobKeys = generateKeyPair();
    const first = responder(bobKeys);
    const alice = ikInitiator(first);
    const message1 = alice.channel.start();
    const reply1 = Buffer.concat([first.channel.start(), first.feed(message1)]);

    // An eavesdropper sends the same bytes to Bob again (a restart, another connection).
    const replayed = responder(bobKeys);
    const reply2 = Buffer.concat([replayed.channel.start(), replayed.feed(message1)]);
    assert.ok(first.remote && replayed.remote);
    assert.equal(replayed.remote.fingerprint, fingerprintOf(alice.keys.publicKey));
    assert.deepEqual(replayed.messages, [RESUME], 'the early message is acted on again');
    assert.deepEqual(replayed.remote.ephemeralKey, first.remote.ephemeralKey, 'which is why the app must remember it');
    // The replayer learns nothing: Bob's fresh ephemeral key makes a message 2 and keys only Alice could use.
    assert.notDeepEqual(reply2, reply1);
    assert.notDeepEqual(replayed.remote.handshakeHash, first.remote.handshakeHash);

    const fresh = ikInitiator(first);
    const again = responder(bobKeys);
    ikConnect(fresh, again);
    assert.ok(again.remote?.ephemeralKey);
    assert.notDeepEqual(again.remote.ephemeralKey, first.remote.ephemeralKey, 'a fresh dial has a fresh ephemeral key');
  });
});

describe('SecureChannel IK: the finish gate (mayFinish)', () => {
  it('no: start() throws ERR_HANDSHAKE_ABANDONED, nothing is sent and the channel is failed', () => {
    const bob = responder();
    const alice = ikInitiator(bob, { mayFinish: () => false });
    let sent: Buffer | undefined;
    throwsCode(() => {
      sent = alice.channel.start();
    }, 'ERR_HANDSHAKE_ABANDONED');
    assert.equal(sent, undefined);
    assert.equal(alice.channel.established, false);
    throwsCode(() => alice.channel.receive(bob.channel.start()), 'ERR_BAD_MESSAGE');
    throwsCode(() => alice.channel.seal(Buffer.from('hi')), 'ERR_HANDSHAKE_FAILED');
  });

  it('yes: asked exactly once, before message 1, and never after message 2', () => {
    const bob = responder();
    let asked = 0;
    const alice = ikInitiator(bob, {
      mayFinish: () => {
        asked++;
        return true;
      },
    });
    assert.equal(asked, 0);
    const toBob = alice.channel.start();
    assert.equal(asked, 1, 'message 1 reveals our key, so the gate comes first');
    alice.feed(Buffer.concat([bob.channel.start(), bob.feed(toBob)]));
    assert.ok(alice.remote && bob.remote);
    bob.feed(alice.channel.seal(Buffer.from('x')));
    alice.feed(bob.channel.seal(Buffer.from('y')));
    assert.equal(asked, 1);
  });
});

describe('SecureChannel IK: hand-built message 1 with a bad payload', () => {
  const json = jsonOf(ALICE);
  const prefixed = (length: number, ...rest: Buffer[]) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(length);
    return Buffer.concat([prefix, ...rest]);
  };
  const cases: [string, Buffer, RegExp][] = [
    ['no session message (length and JSON only)', prefixed(json.length, json), /no session message/],
    ['a length prefix past the end', prefixed(json.length + RESUME.length + 1, json, RESUME), /runs past its end/],
    ['an early message of MAX_EARLY_BYTES + 1', prefixed(json.length, json, Buffer.alloc(MAX_EARLY_BYTES + 1)), /513 bytes/],
    ['a handshake payload that is not JSON', prefixed(5, Buffer.from('{nope'), RESUME), /not JSON/],
    ['a payload of one byte', Buffer.of(0), /too short/],
  ];
  for (const [what, payload, why] of cases) {
    it(`refuses ${what} as ERR_HANDSHAKE_FAILED, answering nothing`, () => {
      const bob = responder();
      bob.channel.start();
      let sent: Buffer[] | undefined;
      const err = throwsCode(() => {
        sent = bob.channel.receive(handBuiltMessage1(bob, payload)).send;
      }, 'ERR_HANDSHAKE_FAILED');
      assert.match(err.message, why);
      assert.equal(sent, undefined);
      assert.equal(bob.channel.established, false);
      assert.throws(() => bob.channel.receive(Buffer.of(0)), P2PChatError, 'and stays failed');
    });
  }

  it('accepts a hand-built message 1 that follows the format', () => {
    const bob = responder();
    bob.feed(handBuiltMessage1(bob, prefixed(json.length, json, Buffer.from('hi'))));
    assert.equal(bob.remote?.pattern, 'IK');
    assert.deepEqual(bob.messages.map(String), ['hi']);
  });
});

describe('SecureChannel IK: expectedFingerprint', () => {
  it('refuses with ERR_PEER_KEY_MISMATCH before message 1 when it differs from remoteStaticKey', () => {
    const bob = responder();
    const someoneElse = fingerprintOf(generateKeyPair().publicKey);
    let asked = 0;
    const alice = ikInitiator(bob, { expectedFingerprint: someoneElse, mayFinish: () => ++asked > 0 });
    let sent: Buffer | undefined;
    const err = throwsCode(() => {
      sent = alice.channel.start();
    }, 'ERR_PEER_KEY_MISMATCH');
    // Message 1 would have shown our key and the early message to the holder of that key.
    assert.equal(sent, undefined);
    assert.equal(asked, 0, 'a mismatch never claims a race');
    assert.match(err.message, new RegExp(someoneElse));
    assert.match(err.message, new RegExp(fingerprintOf(bob.keys.publicKey)));
    assert.equal(alice.channel.established, false);
    throwsCode(() => alice.channel.receive(bob.channel.start()), 'ERR_BAD_MESSAGE');
  });

  it('connects when it matches remoteStaticKey', () => {
    const bob = responder();
    const alice = ikInitiator(bob, { expectedFingerprint: fingerprintOf(bob.keys.publicKey) });
    ikConnect(alice, bob);
    assert.equal(alice.remote?.fingerprint, fingerprintOf(bob.keys.publicKey));
  });
});

describe('early payload codec', () => {
  const info: PeerInfo = { name: 'a', version: 1, features: [] };
  // 0x0020 = 32, the length of {"name":"a","v":1,"features":[]}; then the session message 01 02.
  const hex = '0020' + '7b226e616d65223a2261222c2276223a312c226665617475726573223a5b5d7d' + '0102';

  it('encodes a 2-byte big-endian length, the JSON, then the session message', () => {
    assert.equal(encodeEarlyPayload(info, Buffer.of(1, 2)).toString('hex'), hex);
  });

  it('decodes those exact bytes back', () => {
    const { info: decoded, early } = decodeEarlyPayload(Buffer.from(hex, 'hex'));
    assert.deepEqual(decoded, info);
    assert.equal(early.toString('hex'), '0102');
  });

  it('refuses an empty payload and one whose length is not all there', () => {
    throwsCode(() => decodeEarlyPayload(Buffer.alloc(0)), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => decodeEarlyPayload(Buffer.from('00', 'hex')), 'ERR_HANDSHAKE_FAILED');
    throwsCode(() => decodeEarlyPayload(Buffer.from(hex.slice(0, 20), 'hex')), 'ERR_HANDSHAKE_FAILED');
  });
});
