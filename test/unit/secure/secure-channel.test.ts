// SecureChannel as a pure machine: two instances wired together in memory, byte-at-a-time
// delivery, identity pinning that refuses before revealing our key, tampering, strangers, misuse,
// and a hand-built peer (HandshakeState directly) that sends a bad handshake payload.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P2PChatError } from '../../../src/errors.js';
import { fingerprintOf } from '../../../src/secure/fingerprint.js';
import { FEATURES, MAX_NICKNAME_BYTES, NOISE_PROLOGUE, PROTOCOL_VERSION, type PeerInfo } from '../../../src/secure/handshake-payload.js';
import { generateKeyPair, type KeyPair } from '../../../src/secure/noise/crypto-primitives.js';
import { HandshakeState } from '../../../src/secure/noise/handshake-state.js';
import {
  type ChannelEvent,
  MAX_PLAINTEXT,
  type RemotePeer,
  SecureChannel,
} from '../../../src/secure/secure-channel.js';
import { FrameDecoder } from '../../../src/wire/frame-decoder.js';
import { encodeFrame } from '../../../src/wire/frame-encoder.js';
import { PREAMBLE, PreambleReader } from '../../../src/wire/preamble.js';
import { throwsCode } from '../../helpers/assert-code.js';

const ALICE: PeerInfo = { name: 'alice', version: PROTOCOL_VERSION, features: FEATURES };
const BOB: PeerInfo = { name: 'bob', version: PROTOCOL_VERSION, features: ['chat'] };


/** One side of an in-memory connection, remembering every event it produced. */
class Side {
  readonly keys: KeyPair;
  readonly channel: SecureChannel;
  readonly events: ChannelEvent[] = [];

  constructor(initiator: boolean, info: PeerInfo, expectedFingerprint?: string, keys = generateKeyPair(), mayFinish?: () => boolean) {
    this.keys = keys;
    this.channel = new SecureChannel({
      initiator,
      staticKeyPair: keys,
      localInfo: info,
      ...(expectedFingerprint === undefined ? {} : { expectedFingerprint }),
      ...(mayFinish === undefined ? {} : { mayFinish }),
    });
  }

  /** Feed bytes (optionally one at a time) and return what this side wants to send back. */
  feed(bytes: Buffer, byteByByte = false): Buffer {
    const out: Buffer[] = [];
    const pieces = byteByByte ? [...bytes].map((b) => Buffer.of(b)) : [bytes];
    for (const piece of pieces) {
      const result = this.channel.receive(piece);
      out.push(...result.send);
      this.events.push(...result.events);
    }
    return Buffer.concat(out);
  }

  get established(): RemotePeer | undefined {
    const event = this.events.find((e) => e.type === 'established');
    return event?.type === 'established' ? event.remote : undefined;
  }

  get messages(): string[] {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.data.toString('utf8')] : []));
  }
}

/** Shuttle bytes between the two sides until neither has anything left to say. */
function connect(initiator: Side, responder: Side, byteByByte = false): void {
  let toResponder = initiator.channel.start();
  let toInitiator = responder.channel.start();
  for (let round = 0; round < 10 && (toResponder.length > 0 || toInitiator.length > 0); round++) {
    const fromResponder = toResponder.length > 0 ? responder.feed(toResponder, byteByByte) : Buffer.alloc(0);
    const fromInitiator = toInitiator.length > 0 ? initiator.feed(toInitiator, byteByByte) : Buffer.alloc(0);
    toResponder = fromInitiator;
    toInitiator = fromResponder;
  }
}

function pair(byteByByte = false): { alice: Side; bob: Side } {
  const alice = new Side(true, ALICE);
  const bob = new Side(false, BOB);
  connect(alice, bob, byteByByte);
  return { alice, bob };
}

/** Split what a responder sends into its preamble and the frames that follow. */
function framesAfterPreamble(bytes: Buffer): Buffer[] {
  const result = new PreambleReader().push(bytes);
  assert.ok(result.done, 'the responder did not send a whole preamble');
  return new FrameDecoder().push(result.rest);
}

describe('SecureChannel handshake', () => {
  it('establishes both sides with each other\'s fingerprint, key and PeerInfo', () => {
    const { alice, bob } = pair();
    const aliceSees = alice.established;
    const bobSees = bob.established;
    assert.ok(aliceSees && bobSees);
    assert.equal(alice.channel.established, true);
    assert.equal(bob.channel.established, true);

    assert.equal(aliceSees.fingerprint, fingerprintOf(bob.keys.publicKey));
    assert.deepEqual(aliceSees.publicKey, bob.keys.publicKey);
    assert.deepEqual(aliceSees.info, { name: 'bob', version: PROTOCOL_VERSION, features: ['chat'] });

    assert.equal(bobSees.fingerprint, fingerprintOf(alice.keys.publicKey));
    assert.deepEqual(bobSees.publicKey, alice.keys.publicKey);
    assert.deepEqual(bobSees.info, { name: 'alice', version: PROTOCOL_VERSION, features: [...FEATURES] });

    // Both transcripts end in the same hash (usable for channel binding).
    assert.deepEqual(aliceSees.handshakeHash, bobSees.handshakeHash);
    assert.equal(aliceSees.handshakeHash.length, 32);
    assert.deepEqual(alice.channel.remote, aliceSees);
    assert.deepEqual(bob.channel.remote, bobSees);
  });

  it('emits exactly one established event per side', () => {
    const { alice, bob } = pair();
    assert.equal(alice.events.filter((e) => e.type === 'established').length, 1);
    assert.equal(bob.events.filter((e) => e.type === 'established').length, 1);
  });

  it('opens with the preamble: the responder sends only it, the initiator it plus message 1', () => {
    const initiator = new SecureChannel({ initiator: true, staticKeyPair: generateKeyPair(), localInfo: ALICE });
    const responder = new SecureChannel({ initiator: false, staticKeyPair: generateKeyPair(), localInfo: BOB });
    assert.deepEqual(responder.start(), PREAMBLE);
    const first = initiator.start();
    assert.deepEqual(first.subarray(0, PREAMBLE.length), PREAMBLE);
    // Message 1 of XX is the 32-byte ephemeral key with an empty plaintext payload.
    assert.deepEqual(new FrameDecoder().push(first.subarray(PREAMBLE.length)).map((f) => f.length), [32]);
    assert.equal(initiator.established, false);
    assert.equal(initiator.remote, undefined);
  });

  it('still works when every byte of the exchange arrives on its own', () => {
    const { alice, bob } = pair(true);
    assert.ok(alice.established && bob.established);
    assert.equal(alice.established.fingerprint, fingerprintOf(bob.keys.publicKey));
    assert.equal(bob.established.fingerprint, fingerprintOf(alice.keys.publicKey));
    bob.feed(alice.channel.seal(Buffer.from('one byte at a time')), true);
    alice.feed(bob.channel.seal(Buffer.from('and back')), true);
    assert.deepEqual(bob.messages, ['one byte at a time']);
    assert.deepEqual(alice.messages, ['and back']);
  });

  it('connects when the initiator expects the responder\'s fingerprint', () => {
    const bobKeys = generateKeyPair();
    const alice = new Side(true, ALICE, fingerprintOf(bobKeys.publicKey));
    const bob = new Side(false, BOB, undefined, bobKeys);
    connect(alice, bob);
    assert.equal(alice.established?.fingerprint, fingerprintOf(bobKeys.publicKey));
    assert.equal(bob.established?.fingerprint, fingerprintOf(alice.keys.publicKey));
  });

  it('refuses a responder with another key before sending message 3 (our key stays secret)', () => {
    const someoneElse = fingerprintOf(generateKeyPair().publicKey);
    const alice = new Side(true, ALICE, someoneElse);
    const bob = new Side(false, BOB);

    const toBob = alice.channel.start();
    const toAlice = Buffer.concat([bob.channel.start(), bob.feed(toBob)]);
    // Alice is handed exactly preamble + message 2; any reply would be message 3.
    let reply: Buffer[] | undefined;
    const err = throwsCode(() => {
      reply = alice.channel.receive(toAlice).send;
    }, 'ERR_PEER_KEY_MISMATCH');
    assert.equal(reply, undefined, 'no output may escape a refused handshake');
    assert.match(err.message, new RegExp(someoneElse));
    assert.match(err.message, new RegExp(fingerprintOf(bob.keys.publicKey)));
    assert.equal(alice.channel.established, false);
    assert.equal(alice.established, undefined);

    // Whatever Alice might still be asked, Bob never completes and never learns her key.
    assert.equal(bob.channel.established, false);
    assert.equal(bob.established, undefined);
    assert.equal(bob.channel.remote, undefined);
  });

  it('refuses to talk after a refusal: the failed channel stays failed', () => {
    const alice = new Side(true, ALICE, fingerprintOf(generateKeyPair().publicKey));
    const bob = new Side(false, BOB);
    const toAlice = Buffer.concat([bob.channel.start(), bob.feed(alice.channel.start())]);
    throwsCode(() => alice.channel.receive(toAlice), 'ERR_PEER_KEY_MISMATCH');
    assert.throws(() => alice.channel.receive(Buffer.of(0)), P2PChatError);
    assert.throws(() => alice.channel.receive(Buffer.alloc(0)), P2PChatError);
    throwsCode(() => alice.channel.seal(Buffer.from('hi')), 'ERR_HANDSHAKE_FAILED');
    assert.equal(alice.channel.established, false);
  });
});

describe('SecureChannel transport', () => {
  it('carries messages both ways, in order', () => {
    const { alice, bob } = pair();
    bob.feed(Buffer.concat([alice.channel.seal(Buffer.from('hello bob')), alice.channel.seal(Buffer.from('second'))]));
    alice.feed(bob.channel.seal(Buffer.from('hello alice')));
    assert.deepEqual(bob.messages, ['hello bob', 'second']);
    assert.deepEqual(alice.messages, ['hello alice']);
  });

  it('carries binary data and the largest allowed plaintext', () => {
    const { alice, bob } = pair();
    const big = Buffer.alloc(MAX_PLAINTEXT, 0xab);
    const frame = alice.channel.seal(big);
    assert.equal(frame.length, 2 + 65535);
    const events = bob.channel.receive(frame).events;
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'message');
    assert.ok(events[0]?.type === 'message' && events[0].data.equals(big));
  });

  it('encrypts: the plaintext does not appear in the frame', () => {
    const { alice } = pair();
    const frame = alice.channel.seal(Buffer.from('a very secret sentence'));
    assert.equal(frame.includes(Buffer.from('secret')), false);
    assert.equal(frame.length, 2 + 'a very secret sentence'.length + 16);
  });

  it('rejects a frame with one flipped byte as ERR_DECRYPT_FAILED, and stays failed', () => {
    const { alice, bob } = pair();
    const frame = alice.channel.seal(Buffer.from('do not touch'));
    for (const index of [2, 5, frame.length - 1]) {
      const { alice: a, bob: b } = pair();
      const tampered = Buffer.from(a.channel.seal(Buffer.from('do not touch')));
      tampered[index] = tampered[index]! ^ 0x01;
      throwsCode(() => b.channel.receive(tampered), 'ERR_DECRYPT_FAILED');
    }
    const tampered = Buffer.from(frame);
    tampered[3] = tampered[3]! ^ 0x80;
    throwsCode(() => bob.channel.receive(tampered), 'ERR_DECRYPT_FAILED');
    // Even the genuine frame is refused now: a channel that threw is finished.
    assert.throws(() => bob.channel.receive(frame), P2PChatError);
    assert.deepEqual(bob.messages, []);
  });

  it('rejects a replayed frame (the nonce has moved on)', () => {
    const { alice, bob } = pair();
    const frame = alice.channel.seal(Buffer.from('once'));
    bob.feed(frame);
    throwsCode(() => bob.channel.receive(frame), 'ERR_DECRYPT_FAILED');
    assert.deepEqual(bob.messages, ['once']);
  });

  it('refuses to seal before the handshake is complete', () => {
    const channel = new SecureChannel({ initiator: true, staticKeyPair: generateKeyPair(), localInfo: ALICE });
    throwsCode(() => channel.seal(Buffer.from('too early')), 'ERR_HANDSHAKE_FAILED');
    channel.start();
    throwsCode(() => channel.seal(Buffer.from('still too early')), 'ERR_HANDSHAKE_FAILED');
  });

  it('refuses to seal more than MAX_PLAINTEXT bytes, and can still send afterwards', () => {
    const { alice, bob } = pair();
    assert.equal(MAX_PLAINTEXT, 65535 - 16);
    const err = throwsCode(() => alice.channel.seal(Buffer.alloc(MAX_PLAINTEXT + 1)), 'ERR_FRAME_TOO_LARGE');
    assert.match(err.message, new RegExp(String(MAX_PLAINTEXT + 1)));
    bob.feed(alice.channel.seal(Buffer.from('fine')));
    assert.deepEqual(bob.messages, ['fine']);
  });
});

describe('SecureChannel refusing strangers', () => {
  it('turns away an HTTP request as ERR_NOT_P2P_CHAT', () => {
    const bob = new Side(false, BOB);
    bob.channel.start();
    const err = throwsCode(() => bob.channel.receive(Buffer.from('GET / HTTP/1.1\r\n')), 'ERR_NOT_P2P_CHAT');
    assert.match(err.message, /HTTP request/);
    assert.equal(bob.channel.established, false);
  });

  it('turns away garbage sent to an initiator as ERR_NOT_P2P_CHAT', () => {
    const alice = new Side(true, ALICE);
    alice.channel.start();
    throwsCode(() => alice.channel.receive(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')), 'ERR_NOT_P2P_CHAT');
  });

  it('refuses another protocol version as ERR_VERSION_MISMATCH', () => {
    const bob = new Side(false, BOB);
    const wrong = Buffer.from(PREAMBLE);
    wrong[wrong.length - 1] = PROTOCOL_VERSION + 1;
    const err = throwsCode(() => bob.channel.receive(wrong), 'ERR_VERSION_MISMATCH');
    assert.match(err.message, new RegExp(`version ${PROTOCOL_VERSION + 1}`));
  });

  it('stays failed after a stranger: a correct preamble later is refused too', () => {
    const bob = new Side(false, BOB);
    throwsCode(() => bob.channel.receive(Buffer.from('GET / HTTP/1.1\r\n')), 'ERR_NOT_P2P_CHAT');
    const alice = new Side(true, ALICE);
    assert.throws(() => bob.channel.receive(alice.channel.start()), P2PChatError);
    assert.equal(bob.channel.established, false);
  });

  it('rejects a handshake message that fails authentication as ERR_HANDSHAKE_FAILED', () => {
    const alice = new Side(true, ALICE);
    const bob = new Side(false, BOB);
    const toAlice = Buffer.concat([bob.channel.start(), bob.feed(alice.channel.start())]);
    // Flip a byte inside message 2's encrypted static key.
    const at = PREAMBLE.length + 2 + 32 + 4;
    toAlice[at] = toAlice[at]! ^ 0x01;
    throwsCode(() => alice.channel.receive(toAlice), 'ERR_HANDSHAKE_FAILED');
    assert.equal(alice.established, undefined);
  });
});

describe('SecureChannel against a hand-built peer', () => {
  it('rejects a non-JSON payload in message 3 as ERR_HANDSHAKE_FAILED', () => {
    const bob = new Side(false, BOB);
    const mallory = new HandshakeState({ pattern: 'XX', initiator: true, prologue: NOISE_PROLOGUE, s: generateKeyPair() });
    const toMallory = Buffer.concat([
      bob.channel.start(),
      bob.feed(Buffer.concat([PREAMBLE, encodeFrame(mallory.writeMessage(Buffer.alloc(0)))])),
    ]);
    const [message2] = framesAfterPreamble(toMallory);
    assert.ok(message2);
    assert.deepEqual(JSON.parse(mallory.readMessage(message2).toString('utf8')), {
      name: 'bob',
      v: PROTOCOL_VERSION,
      features: ['chat'],
    });
    const message3 = encodeFrame(mallory.writeMessage(Buffer.from('this is not JSON {')));
    const err = throwsCode(() => bob.channel.receive(message3), 'ERR_HANDSHAKE_FAILED');
    assert.match(err.message, /not JSON/);
    assert.equal(bob.channel.established, false);
    assert.equal(bob.established, undefined);
  });

  it('rejects a payload without a nickname as ERR_HANDSHAKE_FAILED', () => {
    const bob = new Side(false, BOB);
    const mallory = new HandshakeState({ pattern: 'XX', initiator: true, prologue: NOISE_PROLOGUE, s: generateKeyPair() });
    const toMallory = Buffer.concat([
      bob.channel.start(),
      bob.feed(Buffer.concat([PREAMBLE, encodeFrame(mallory.writeMessage(Buffer.alloc(0)))])),
    ]);
    mallory.readMessage(framesAfterPreamble(toMallory)[0]!);
    const message3 = encodeFrame(mallory.writeMessage(Buffer.from(JSON.stringify({ v: 1, features: [] }))));
    const err = throwsCode(() => bob.channel.receive(message3), 'ERR_HANDSHAKE_FAILED');
    assert.match(err.message, /nickname/);
  });

  it('rejects a bad payload in message 2 before the initiator sends message 3', () => {
    const alice = new Side(true, ALICE);
    const mallory = new HandshakeState({ pattern: 'XX', initiator: false, prologue: NOISE_PROLOGUE, s: generateKeyPair() });
    const [message1] = framesAfterPreamble(alice.channel.start());
    mallory.readMessage(message1!);
    const toAlice = Buffer.concat([PREAMBLE, encodeFrame(mallory.writeMessage(Buffer.from('[1,2,3]')))]);
    let sent: Buffer[] | undefined;
    const err = throwsCode(() => {
      sent = alice.channel.receive(toAlice).send;
    }, 'ERR_HANDSHAKE_FAILED');
    assert.match(err.message, /not an object|nickname/);
    assert.equal(sent, undefined);
    assert.equal(alice.channel.established, false);
  });

  it('accepts a peer that follows the protocol by hand, and bounds its claims', () => {
    const bob = new Side(false, BOB);
    const malloryKeys = generateKeyPair();
    const mallory = new HandshakeState({ pattern: 'XX', initiator: true, prologue: NOISE_PROLOGUE, s: malloryKeys });
    const toMallory = Buffer.concat([
      bob.channel.start(),
      bob.feed(Buffer.concat([PREAMBLE, encodeFrame(mallory.writeMessage(Buffer.alloc(0)))])),
    ]);
    mallory.readMessage(framesAfterPreamble(toMallory)[0]!);
    const claims = { name: 'm'.repeat(300), v: 1, features: ['chat', 7, 'x'.repeat(40)], extra: true };
    bob.feed(encodeFrame(mallory.writeMessage(Buffer.from(JSON.stringify(claims)))));
    const remote = bob.established;
    assert.ok(remote);
    assert.equal(remote.fingerprint, fingerprintOf(malloryKeys.publicKey));
    assert.deepEqual(remote.info, { name: 'm'.repeat(MAX_NICKNAME_BYTES), version: 1, features: ['chat'] });
  });
});

describe('SecureChannel finish gate (mayFinish): racing paths to one peer', () => {
  /** An initiator expecting `responder`'s key, with a gate; and how often it was asked. */
  function gated(responder: Side, answer: () => boolean): { side: Side; asked: () => number } {
    let asked = 0;
    const gate = () => {
      asked++;
      return answer();
    };
    return { side: new Side(true, ALICE, fingerprintOf(responder.keys.publicKey), undefined, gate), asked: () => asked };
  }

  /** Run message 1 and 2; returns what the initiator must be fed next (preamble + message 2). */
  function upToMessage2(initiator: Side, responder: Side): Buffer {
    return Buffer.concat([responder.channel.start(), responder.feed(initiator.channel.start())]);
  }

  it('is asked once, after message 2; yes finishes the handshake as usual', () => {
    const bob = new Side(false, BOB);
    const { side: alice, asked } = gated(bob, () => true);
    const toAlice = upToMessage2(alice, bob);
    assert.equal(asked(), 0, 'not asked before the responder has shown its key');
    assert.equal(bob.channel.awaitingMessage3, true);
    bob.feed(alice.feed(toAlice));
    assert.equal(asked(), 1);
    assert.ok(alice.established && bob.established);
    assert.equal(bob.channel.awaitingMessage3, false);
  });

  it('no abandons with ERR_HANDSHAKE_ABANDONED and sends nothing: the responder never sees our key', () => {
    const bob = new Side(false, BOB);
    const { side: alice } = gated(bob, () => false);
    const toAlice = upToMessage2(alice, bob);
    let sent: Buffer[] | undefined;
    throwsCode(() => {
      sent = alice.channel.receive(toAlice).send;
    }, 'ERR_HANDSHAKE_ABANDONED');
    assert.equal(sent, undefined, 'no message 3 may leave an abandoned handshake');
    assert.equal(alice.channel.established, false);
    throwsCode(() => alice.channel.seal(Buffer.from('hi')), 'ERR_HANDSHAKE_FAILED');
    // Bob still waits for message 3: a close now is the initiator walking away.
    assert.equal(bob.channel.awaitingMessage3, true);
    assert.equal(bob.channel.remote, undefined);
  });

  it('a wrong key is refused before the gate is asked, so a mismatch never claims a race', () => {
    const bob = new Side(false, BOB);
    const mallory = new Side(false, BOB);
    const { side: alice, asked } = gated(bob, () => true);
    throwsCode(() => alice.channel.receive(upToMessage2(alice, mallory)), 'ERR_PEER_KEY_MISMATCH');
    assert.equal(asked(), 0);
  });

  it('two paths to one peer with a first-wins gate: the first to reach message 2 finishes, the other sends nothing', () => {
    const bobKeys = generateKeyPair();
    let won = false;
    const firstWins = () => !won && (won = true);
    // One initiator identity dialling one responder identity over two paths.
    const aliceKeys = generateKeyPair();
    const paths = [0, 1].map(() => {
      const bob = new Side(false, BOB, undefined, bobKeys);
      const alice = new Side(true, ALICE, fingerprintOf(bobKeys.publicKey), aliceKeys, firstWins);
      return { alice, bob, toAlice: upToMessage2(alice, bob) };
    });
    // Both message 2s are in: the second path is fed first and wins.
    const [first, second] = [paths[1]!, paths[0]!];
    first.bob.feed(first.alice.feed(first.toAlice));
    let sent: Buffer[] | undefined;
    throwsCode(() => {
      sent = second.alice.channel.receive(second.toAlice).send;
    }, 'ERR_HANDSHAKE_ABANDONED');
    assert.equal(sent, undefined);
    assert.ok(first.alice.established && first.bob.established);
    assert.equal(first.bob.established.fingerprint, fingerprintOf(aliceKeys.publicKey));
    assert.equal(second.alice.established, undefined);
    assert.equal(second.bob.established, undefined);
    assert.equal(second.bob.channel.awaitingMessage3, true);
  });
});
