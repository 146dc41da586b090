// Noise HandshakeState (spec section 5.3): walks one row of the pattern table, one message per
// call, and hands back the two transport CipherStates. Pure: bytes in, bytes out, no I/O.

import { chatError, P2PChatError } from '../../errors.js';
import { CIPHER_FUNCTIONS, type CipherFunction, type CipherName, DEFAULT_CIPHER, isCipherName } from './cipher-functions.js';
import { CipherState, MAX_MESSAGE_LENGTH } from './cipher-state.js';
import { DH_LENGTH, dh, generateKeyPair, type KeyPair, TAG_LENGTH } from './crypto-primitives.js';
import {
  HANDSHAKE_PATTERNS,
  type HandshakePattern,
  isPatternName,
  type MessageToken,
  type PatternName,
  protocolName,
} from './handshake-patterns.js';
import { SymmetricState } from './symmetric-state.js';

export interface HandshakeOptions {
  pattern: PatternName;
  /** The cipher function of the handshake and, unless split() is given another, of the transport. */
  cipher?: CipherName;
  initiator: boolean;
  /** Bytes both sides must agree on (e.g. a protocol version string); mixed into `h`. */
  prologue: Uint8Array;
  /** Local static key pair, required when the pattern sends or pre-shares it. */
  s?: KeyPair;
  /** Local ephemeral key pair; only tests inject one, otherwise a fresh one is generated. */
  e?: KeyPair;
  /** Remote static public key, accepted only when the pattern pre-shares it (K, N-K, ...). */
  rs?: Uint8Array;
  /** Remote ephemeral public key, accepted only when the pattern pre-shares it. */
  re?: Uint8Array;
}

/** Transport ciphers oriented for this side. */
export interface TransportCiphers {
  send: CipherState;
  receive: CipherState;
}

function fail(message: string): P2PChatError {
  return chatError('ERR_HANDSHAKE_FAILED', message);
}

function checkKeyPair(name: string, pair: KeyPair | undefined): void {
  if (pair === undefined) return;
  if (pair.publicKey.length !== DH_LENGTH || pair.privateKey.length !== DH_LENGTH) {
    throw fail(`key pair ${name} must have ${DH_LENGTH}-byte public and private keys`);
  }
}

function checkPublicKey(name: string, key: Uint8Array | undefined): void {
  if (key !== undefined && key.length !== DH_LENGTH) {
    throw fail(`public key ${name} must be ${DH_LENGTH} bytes, got ${key.length}`);
  }
}

export class HandshakeState {
  readonly #pattern: HandshakePattern;
  readonly #cipher: CipherFunction;
  readonly #initiator: boolean;
  readonly #symmetric: SymmetricState;
  #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  #rs: Buffer | undefined;
  #re: Buffer | undefined;
  #messageIndex = 0;
  // A handshake that failed part-way has a half-mixed transcript; it must never be resumed.
  #failed = false;
  // Splitting twice would hand out two cipher states with the same key and nonce 0.
  #splitDone = false;

  constructor(options: HandshakeOptions) {
    if (!isPatternName(options.pattern)) throw fail(`unknown Noise pattern ${String(options.pattern)}`);
    this.#pattern = HANDSHAKE_PATTERNS[options.pattern];
    const cipher = options.cipher ?? DEFAULT_CIPHER.name;
    if (!isCipherName(cipher)) throw fail(`unknown Noise cipher ${String(cipher)}`);
    this.#cipher = CIPHER_FUNCTIONS[cipher];
    this.#initiator = options.initiator;
    checkKeyPair('s', options.s);
    checkKeyPair('e', options.e);
    checkPublicKey('rs', options.rs);
    checkPublicKey('re', options.re);
    this.#s = options.s;
    this.#e = options.e;
    this.#rs = options.rs === undefined ? undefined : Buffer.from(options.rs);
    this.#re = options.re === undefined ? undefined : Buffer.from(options.re);
    this.#checkRequiredKeys();

    this.#symmetric = new SymmetricState(this.protocolName, this.#cipher);
    this.#symmetric.mixHash(options.prologue);
    // Pre-messages are hashed initiator's first, whichever side we are (spec section 5.3).
    for (const [owner, tokens] of [['initiator', this.#pattern.pre.initiator], ['responder', this.#pattern.pre.responder]] as const) {
      const local = (owner === 'initiator') === this.#initiator;
      for (const token of tokens) {
        const key = token === 'e' ? (local ? this.#e?.publicKey : this.#re) : local ? this.#s?.publicKey : this.#rs;
        this.#symmetric.mixHash(key!); // presence guaranteed by #checkRequiredKeys
      }
    }
  }

  get protocolName(): string {
    return protocolName(this.#pattern.name, this.#cipher.name);
  }

  get cipher(): CipherFunction {
    return this.#cipher;
  }

  get isComplete(): boolean {
    return this.#messageIndex >= this.#pattern.messages.length;
  }

  /** True when the next handshake call on this side must be writeMessage. */
  get isMyTurn(): boolean {
    return !this.isComplete && !this.#failed && this.#isWriter(this.#messageIndex);
  }

  /** The transcript hash `h`, for channel binding; only meaningful once the handshake is done. */
  get handshakeHash(): Buffer {
    if (!this.isComplete) throw fail('the handshake hash is not final until the handshake completes');
    return this.#symmetric.getHandshakeHash();
  }

  /** The peer's static public key, once pre-shared or received. */
  get remoteStaticKey(): Buffer | undefined {
    return this.#rs === undefined ? undefined : Buffer.from(this.#rs);
  }

  /** The peer's ephemeral public key, once received (a responder uses it to spot a replayed message 1). */
  get remoteEphemeralKey(): Buffer | undefined {
    return this.#re === undefined ? undefined : Buffer.from(this.#re);
  }

  writeMessage(payload: Uint8Array): Buffer {
    const tokens = this.#startMessage(true);
    const length = this.#messageLength(tokens, payload.length);
    if (length > MAX_MESSAGE_LENGTH) {
      throw chatError('ERR_FRAME_TOO_LARGE', `handshake message of ${length} bytes exceeds the ${MAX_MESSAGE_LENGTH}-byte Noise limit`);
    }
    return this.#guard(() => {
      const parts: Buffer[] = [];
      for (const token of tokens) {
        if (token === 'e') {
          this.#e ??= generateKeyPair();
          parts.push(this.#e.publicKey);
          this.#symmetric.mixHash(this.#e.publicKey);
        } else if (token === 's') {
          parts.push(this.#symmetric.encryptAndHash(this.#s!.publicKey));
        } else {
          this.#mixDh(token);
        }
      }
      parts.push(this.#symmetric.encryptAndHash(payload));
      this.#messageIndex++;
      return Buffer.concat(parts, length);
    });
  }

  /** Consume the peer's next handshake message and return its payload. */
  readMessage(message: Uint8Array): Buffer {
    const tokens = this.#startMessage(false);
    if (message.length > MAX_MESSAGE_LENGTH) {
      throw chatError('ERR_FRAME_TOO_LARGE', `handshake message of ${message.length} bytes exceeds the ${MAX_MESSAGE_LENGTH}-byte Noise limit`);
    }
    const minimum = this.#messageLength(tokens, 0);
    if (message.length < minimum) {
      throw fail(`handshake message ${this.#messageIndex + 1} is ${message.length} bytes, needs at least ${minimum}`);
    }
    return this.#guard(() => {
      const bytes = Buffer.from(message.buffer, message.byteOffset, message.length);
      let offset = 0;
      for (const token of tokens) {
        if (token === 'e') {
          this.#re = Buffer.from(bytes.subarray(offset, offset + DH_LENGTH));
          offset += DH_LENGTH;
          this.#symmetric.mixHash(this.#re);
        } else if (token === 's') {
          const length = DH_LENGTH + (this.#symmetric.hasKey() ? TAG_LENGTH : 0);
          this.#rs = this.#symmetric.decryptAndHash(bytes.subarray(offset, offset + length));
          offset += length;
        } else {
          this.#mixDh(token);
        }
      }
      const payload = this.#symmetric.decryptAndHash(bytes.subarray(offset));
      this.#messageIndex++;
      return payload;
    });
  }

  /**
   * The transport ciphers, callable once after the last message. Initiator sends with c1 and
   * responder with c2; in a one-way pattern the unused direction is a cipher state that refuses use.
   * They use the handshake's cipher, or `cipher` when both sides chose another from what the
   * handshake authenticated (Split()'s keys, directions and nonces are the same either way).
   */
  split(cipher: CipherFunction = this.#cipher): TransportCiphers {
    if (this.#failed) throw fail('the handshake failed; start a new one');
    if (!this.isComplete) throw fail('cannot split before the handshake completes');
    if (this.#splitDone) throw fail('split() was already called; reusing its keys would repeat nonces');
    this.#splitDone = true;
    const [c1, c2] = this.#symmetric.split(cipher);
    if (this.#pattern.oneWay) {
      const reason = `one-way pattern ${this.#pattern.name}: only the initiator sends`;
      return this.#initiator
        ? { send: c1, receive: CipherState.disabled(reason, cipher) }
        : { send: CipherState.disabled(reason, cipher), receive: c1 };
    }
    return this.#initiator ? { send: c1, receive: c2 } : { send: c2, receive: c1 };
  }

  #isWriter(index: number): boolean {
    return (index % 2 === 0) === this.#initiator;
  }

  /** Checks shared by read and write, done before any state changes so a refusal is harmless. */
  #startMessage(writing: boolean): readonly MessageToken[] {
    if (this.#failed) throw fail('the handshake failed; start a new one');
    const tokens = this.#pattern.messages[this.#messageIndex];
    if (tokens === undefined) throw fail('the handshake is already complete; use the transport ciphers');
    if (this.#isWriter(this.#messageIndex) !== writing) {
      throw fail(`handshake message ${this.#messageIndex + 1} is the peer's to ${writing ? 'write' : 'read'}, not ours`);
    }
    return tokens;
  }

  /** Exact size of a message with these tokens, tracking when the first DH switches on encryption. */
  #messageLength(tokens: readonly MessageToken[], payloadLength: number): number {
    let hasKey = this.#symmetric.hasKey();
    let length = 0;
    for (const token of tokens) {
      if (token === 'e') length += DH_LENGTH;
      else if (token === 's') length += DH_LENGTH + (hasKey ? TAG_LENGTH : 0);
      else hasKey = true;
    }
    return length + payloadLength + (hasKey ? TAG_LENGTH : 0);
  }

  #mixDh(token: Exclude<MessageToken, 'e' | 's'>): void {
    // The first letter names the initiator's key, the second the responder's (spec section 7.1).
    const [initiatorKey, responderKey] = token;
    const localKey = this.#initiator ? initiatorKey : responderKey;
    const remoteKey = this.#initiator ? responderKey : initiatorKey;
    const local = localKey === 'e' ? this.#e : this.#s;
    const remote = remoteKey === 'e' ? this.#re : this.#rs;
    if (local === undefined || remote === undefined) throw fail(`token ${token} needs a key this side does not have`);
    this.#symmetric.mixKey(dh(local.privateKey, remote));
  }

  /** Runs a state-changing step; any failure poisons the handshake and bad tags become handshake errors. */
  #guard<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      this.#failed = true;
      if (P2PChatError.is(err, 'ERR_DECRYPT_FAILED')) {
        throw chatError('ERR_HANDSHAKE_FAILED', `handshake message ${this.#messageIndex + 1} failed authentication`, err);
      }
      throw err;
    }
  }

  /** Refuse at construction what would otherwise fail mid-handshake or silently mislead. */
  #checkRequiredKeys(): void {
    const { pre, messages, name } = this.#pattern;
    const localPre = this.#initiator ? pre.initiator : pre.responder;
    const remotePre = this.#initiator ? pre.responder : pre.initiator;
    const sendsStatic = messages.some((tokens, i) => this.#isWriter(i) && tokens.includes('s'));
    if ((localPre.includes('s') || sendsStatic) && this.#s === undefined) {
      throw fail(`pattern ${name} needs this side's static key pair (s)`);
    }
    if (localPre.includes('e') && this.#e === undefined) {
      throw fail(`pattern ${name} needs this side's pre-shared ephemeral key pair (e)`);
    }
    for (const key of ['s', 'e'] as const) {
      const given = key === 's' ? this.#rs : this.#re;
      if (remotePre.includes(key) && given === undefined) {
        throw fail(`pattern ${name} needs the peer's ${key === 's' ? 'static' : 'ephemeral'} public key (r${key}) in advance`);
      }
      // A caller passing rs to a pattern that transmits it probably expects it to be enforced; it
      // would not be, so say so instead of ignoring it. Compare remoteStaticKey after the handshake.
      if (!remotePre.includes(key) && given !== undefined) {
        throw fail(`pattern ${name} does not pre-share r${key}; check remoteStaticKey after the handshake instead`);
      }
    }
  }
}
