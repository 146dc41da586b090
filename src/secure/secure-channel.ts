// One connection's protocol state, as a pure machine fed bytes: the preamble, the Noise handshake
// (XX; or IK, when a dialler resuming a conversation already has the responder's key, with the
// first session message in message 1) with identity checks, then framed transport messages. No
// sockets, no timers.

import { chatError } from '../errors.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { encodeFrame, frameHeader, MAX_FRAME_PAYLOAD } from '../wire/frame-encoder.js';
import { PREAMBLE, PreambleReader } from '../wire/preamble.js';
import { fingerprintOf } from './fingerprint.js';
import {
  decodeEarlyPayload,
  decodePeerInfo,
  encodeEarlyPayload,
  encodePeerInfo,
  featureList,
  NOISE_PROLOGUE,
  type PeerInfo,
} from './handshake-payload.js';
import type { CipherName } from './noise/cipher-functions.js';
import { CipherState } from './noise/cipher-state.js';
import type { KeyPair } from './noise/crypto-primitives.js';
import { DH_LENGTH } from './noise/crypto-primitives.js';
import { HandshakeState } from './noise/handshake-state.js';
import { chooseTransportCipher, rekeyWhenDue } from './transport-cipher.js';

/** Largest plaintext that fits one transport frame (the AEAD tag takes 16 bytes). */
export const MAX_PLAINTEXT = MAX_FRAME_PAYLOAD - 16;

export interface RemotePeer {
  readonly publicKey: Buffer;
  readonly fingerprint: string;
  readonly info: PeerInfo;
  readonly handshakeHash: Buffer;
  /** IK: the session opened with a message 1 that carried its first session message. */
  readonly pattern: 'XX' | 'IK';
  /**
   * Responder of an IK session: the initiator's ephemeral key, the one thing that tells a
   * replayed message 1 (whose session message is replayed with it) from a fresh one.
   */
  readonly ephemeralKey?: Buffer;
}

export type ChannelEvent =
  | { readonly type: 'established'; readonly remote: RemotePeer }
  | { readonly type: 'message'; readonly data: Buffer };

export interface ChannelOutput {
  /** Bytes to write to the transport, in order. */
  readonly send: Buffer[];
  readonly events: ChannelEvent[];
}

export interface SecureChannelOptions {
  readonly initiator: boolean;
  readonly staticKeyPair: KeyPair;
  readonly localInfo: PeerInfo;
  /** Initiator only: refuse any responder key but this fingerprint, before revealing our own key. */
  readonly expectedFingerprint?: string;
  /**
   * Initiator only: asked once message 2 has shown the responder's key (and it passed
   * `expectedFingerprint`), before we send message 3 and reveal our own. `false` abandons the
   * handshake with ERR_HANDSHAKE_ABANDONED and nothing more is sent: racing several paths to one
   * peer, only the first to get here finishes, and the peer never sees the others as sessions.
   */
  readonly mayFinish?: () => boolean;
  /**
   * Initiator: open with Noise IK instead of XX, to a responder whose static key we already have,
   * with `early` (a session message's plaintext) in message 1, so that it is answered in the
   * first round trip. Message 1 is replayable, so `early` must be safe to act on twice.
   * `mayFinish` is asked before message 1, since it reveals our key.
   */
  readonly early?: { readonly remoteStaticKey: Buffer; readonly message: Buffer };
  /** Responder: take a message 1 longer than XX's as IK (peers do; a relay does not). */
  readonly acceptEarly?: boolean;
  /** Tests inject a fixed ephemeral key. */
  readonly ephemeralKeyPair?: KeyPair;
  /** An AESGCM session rekeys each direction after this many messages (AESGCM_REKEY_EVERY; tests use fewer). */
  readonly aesGcmRekeyEvery?: number;
}

type Phase = 'preamble' | 'handshake' | 'transport' | 'failed';

export class SecureChannel {
  readonly #options: SecureChannelOptions;
  // Both are dropped once the session is up: a relay holds thousands of idle channels, and the
  // finished handshake (ephemeral keys, hashes) is a good part of each one's memory.
  #preamble: PreambleReader | undefined = new PreambleReader();
  readonly #frames = new FrameDecoder();
  #handshake: HandshakeState | undefined;
  #phase: Phase = 'preamble';
  /** Responder: message 2, with our key, has gone out. */
  #answered = false;
  #sender: CipherState | undefined;
  #receiver: CipherState | undefined;
  /** Messages per key in each direction, for an AESGCM session; undefined: never rekey. */
  #rekeyEvery: bigint | undefined;
  #remote: RemotePeer | undefined;

  constructor(options: SecureChannelOptions) {
    this.#options = options;
    // A responder learns which pattern the initiator chose from message 1.
    if (options.initiator) this.#handshake = this.#newHandshake(options.early ? 'IK' : 'XX');
  }

  #newHandshake(pattern: 'XX' | 'IK'): HandshakeState {
    const { initiator, staticKeyPair, early, ephemeralKeyPair } = this.#options;
    return new HandshakeState({
      pattern,
      initiator,
      prologue: NOISE_PROLOGUE,
      s: staticKeyPair,
      ...(initiator && pattern === 'IK' ? { rs: early!.remoteStaticKey } : {}),
      ...(ephemeralKeyPair ? { e: ephemeralKeyPair } : {}),
    });
  }

  get established(): boolean {
    return this.#phase === 'transport';
  }

  get remote(): RemotePeer | undefined {
    return this.#remote;
  }

  /**
   * The cipher of the transport messages: AESGCM when both handshake payloads listed `aesgcm`,
   * else ChaChaPoly. Undefined until the session is up.
   */
  get transportCipher(): CipherName | undefined {
    return this.#sender?.cipher.name;
  }

  /**
   * Responder: message 2 went out and message 3 has not come. An initiator that closes now has
   * walked away on purpose (it kept another path to us, or expected another key).
   */
  get awaitingMessage3(): boolean {
    return this.#phase === 'handshake' && this.#answered;
  }

  /**
   * The bytes to send as soon as the transport is open. An IK initiator whose `remoteStaticKey` is
   * not `expectedFingerprint` throws ERR_PEER_KEY_MISMATCH, one whose `mayFinish` says no throws
   * ERR_HANDSHAKE_ABANDONED, and nothing is to be sent.
   */
  start(): Buffer {
    const { initiator, early, localInfo, mayFinish, expectedFingerprint } = this.#options;
    if (!initiator) return Buffer.from(PREAMBLE);
    // XX message 1 carries only the ephemeral key; its payload is plaintext, so it stays empty.
    if (!early) return Buffer.concat([PREAMBLE, encodeFrame(this.#inProgress().writeMessage(Buffer.alloc(0)))]);
    // IK message 1 reveals our key and `early` to whoever holds remoteStaticKey, so the identity
    // check that XX makes at message 2 comes first here (and, as in XX, before the gate).
    const target = fingerprintOf(early.remoteStaticKey);
    if (expectedFingerprint !== undefined && target !== expectedFingerprint) {
      this.#phase = 'failed';
      throw chatError('ERR_PEER_KEY_MISMATCH', `asked to open with key ${target}, expected ${expectedFingerprint}; refusing to send message 1`);
    }
    if (mayFinish && !mayFinish()) {
      this.#phase = 'failed';
      throw chatError('ERR_HANDSHAKE_ABANDONED', 'handshake abandoned before message 1: another connection was kept');
    }
    return Buffer.concat([PREAMBLE, encodeFrame(this.#inProgress().writeMessage(encodeEarlyPayload(localInfo, early.message)))]);
  }

  receive(chunk: Uint8Array): ChannelOutput {
    const out: ChannelOutput = { send: [], events: [] };
    try {
      let bytes: Buffer | undefined = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (this.#phase === 'failed') throw chatError('ERR_BAD_MESSAGE', 'connection already failed');
      if (this.#phase === 'preamble') {
        const result = this.#preamble!.push(bytes);
        if (!result.done) return out;
        this.#phase = 'handshake';
        this.#preamble = undefined;
        bytes = result.rest;
      }
      for (const frame of this.#frames.push(bytes)) this.#onFrame(frame, out);
      return out;
    } catch (err) {
      this.#phase = 'failed';
      throw err;
    }
  }

  /** Encrypt and frame one message for the peer. */
  seal(plaintext: Uint8Array): Buffer {
    const sender = this.#transportSender(plaintext);
    const frame = encodeFrame(sender.encryptWithAd(EMPTY, plaintext));
    this.#counted(sender);
    return frame;
  }

  /**
   * The same frame as three buffers (length prefix, ciphertext, tag) for a vectored write: bulk
   * data is then never copied after encryption.
   */
  sealParts(plaintext: Uint8Array): [Buffer, Buffer, Buffer] {
    const sender = this.#transportSender(plaintext);
    const [body, tag] = sender.encryptWithAdParts(EMPTY, plaintext);
    this.#counted(sender);
    return [frameHeader(body.length + tag.length), body, tag];
  }

  /** After a message went through `cipher`: an AESGCM session rekeys that direction when due. */
  #counted(cipher: CipherState): void {
    if (this.#rekeyEvery !== undefined) rekeyWhenDue(cipher, this.#rekeyEvery);
  }

  #transportSender(plaintext: Uint8Array): CipherState {
    if (this.#phase !== 'transport' || !this.#sender) {
      throw chatError('ERR_HANDSHAKE_FAILED', 'cannot send before the handshake is complete');
    }
    if (plaintext.length > MAX_PLAINTEXT) {
      throw chatError('ERR_FRAME_TOO_LARGE', `message of ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT}`);
    }
    return this.#sender;
  }

  #onFrame(frame: Buffer, out: ChannelOutput): void {
    if (this.#phase === 'transport') {
      const receiver = this.#receiver!;
      out.events.push({ type: 'message', data: receiver.decryptWithAd(EMPTY, frame) });
      this.#counted(receiver);
      return;
    }
    if (!this.#options.initiator && !this.#handshake) {
      // XX message 1 is the bare ephemeral key; anything longer is IK's, if we take IK at all.
      const ik = this.#options.acceptEarly === true && frame.length > DH_LENGTH;
      this.#handshake = this.#newHandshake(ik ? 'IK' : 'XX');
      if (ik) {
        this.#answerEarly(frame, out);
        return;
      }
    }
    const hs = this.#inProgress();
    const payload = hs.readMessage(frame);
    if (this.#options.initiator) {
      // Message 2 revealed the responder's static key (IK: proved it holds the one we chose):
      // check it before we reveal ours (XX).
      const remote = this.#identify(payload);
      const expected = this.#options.expectedFingerprint;
      if (expected !== undefined && remote.fingerprint !== expected) {
        throw chatError(
          'ERR_PEER_KEY_MISMATCH',
          `peer presented key ${remote.fingerprint}, expected ${expected}; refusing to talk to it`,
        );
      }
      if (this.#options.early) {
        this.#finish(remote, out);
        return;
      }
      if (this.#options.mayFinish && !this.#options.mayFinish()) {
        throw chatError('ERR_HANDSHAKE_ABANDONED', 'handshake abandoned before revealing our key: another connection was kept');
      }
      out.send.push(encodeFrame(hs.writeMessage(encodePeerInfo(this.#options.localInfo))));
      this.#finish(remote, out);
    } else if (!hs.isComplete) {
      // Message 1 read; answer with message 2, which carries our static key and info.
      out.send.push(encodeFrame(hs.writeMessage(encodePeerInfo(this.#options.localInfo))));
      this.#answered = true;
    } else {
      this.#finish(this.#identify(payload), out);
    }
  }

  /**
   * Responder, IK message 1: the initiator's key and the session message it carried, answered by
   * message 2 (our handshake payload). The session is up on both sides once message 2 is read.
   */
  #answerEarly(frame: Buffer, out: ChannelOutput): void {
    const hs = this.#inProgress();
    const { info, early } = decodeEarlyPayload(hs.readMessage(frame));
    const publicKey = hs.remoteStaticKey!;
    const ephemeralKey = hs.remoteEphemeralKey!;
    out.send.push(encodeFrame(hs.writeMessage(encodePeerInfo(this.#options.localInfo))));
    this.#finish({ publicKey, fingerprint: fingerprintOf(publicKey), info, pattern: 'IK', ephemeralKey }, out);
    out.events.push({ type: 'message', data: early });
  }

  /** The handshake under way; it is released once the session is up. */
  #inProgress(): HandshakeState {
    if (!this.#handshake) throw chatError('ERR_HANDSHAKE_FAILED', 'the handshake is already complete');
    return this.#handshake;
  }

  #identify(payload: Buffer): Omit<RemotePeer, 'handshakeHash'> {
    const publicKey = this.#inProgress().remoteStaticKey;
    if (!publicKey) throw chatError('ERR_HANDSHAKE_FAILED', 'peer did not send its static key');
    const pattern = this.#options.early ? 'IK' : 'XX';
    return { publicKey, fingerprint: fingerprintOf(publicKey), info: decodePeerInfo(payload), pattern };
  }

  #finish(remote: Omit<RemotePeer, 'handshakeHash'>, out: ChannelOutput): void {
    const hs = this.#inProgress();
    const ours = featureList(this.#options.localInfo.features);
    const { cipher, rekeyEvery } = chooseTransportCipher(ours, remote.info.features, this.#options.aesGcmRekeyEvery);
    const { send, receive } = hs.split(cipher);
    this.#sender = send;
    this.#receiver = receive;
    this.#rekeyEvery = rekeyEvery;
    this.#remote = { ...remote, handshakeHash: hs.handshakeHash };
    this.#handshake = undefined;
    this.#phase = 'transport';
    out.events.push({ type: 'established', remote: this.#remote });
  }
}

const EMPTY = Buffer.alloc(0);
