// The Noise handshake patterns (spec section 7) as data: one row per pattern, read token by token by
// HandshakeState. Adding a pattern is adding a row; no code path is specific to one pattern.

import { chatError } from '../../errors.js';
import { CIPHER_FUNCTIONS, CIPHER_NAMES, type CipherFunction, type CipherName, DEFAULT_CIPHER, isCipherName } from './cipher-functions.js';

/** A token a pre-message may carry: a public key both sides know before the first message. */
export type PreMessageToken = 'e' | 's';
/** A message token: send a key (`e`, `s`) or mix in a DH of the named local/remote key pair. */
export type MessageToken = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

export interface HandshakePattern {
  readonly name: PatternName;
  /** Keys each side's peer knows in advance, mixed into `h` before the first message. */
  readonly pre: { readonly initiator: readonly PreMessageToken[]; readonly responder: readonly PreMessageToken[] };
  /** Message i is written by the initiator when i is even, by the responder when odd. */
  readonly messages: readonly (readonly MessageToken[])[];
  /** One-way patterns have a single message and transport only from initiator to responder. */
  readonly oneWay: boolean;
}

type PatternRow = Omit<HandshakePattern, 'name'>;

const rows = {
  N: { pre: { initiator: [], responder: ['s'] }, messages: [['e', 'es']], oneWay: true },
  K: { pre: { initiator: ['s'], responder: ['s'] }, messages: [['e', 'es', 'ss']], oneWay: true },
  X: { pre: { initiator: [], responder: ['s'] }, messages: [['e', 'es', 's', 'ss']], oneWay: true },
  NN: { pre: { initiator: [], responder: [] }, messages: [['e'], ['e', 'ee']], oneWay: false },
  NK: { pre: { initiator: [], responder: ['s'] }, messages: [['e', 'es'], ['e', 'ee']], oneWay: false },
  NX: { pre: { initiator: [], responder: [] }, messages: [['e'], ['e', 'ee', 's', 'es']], oneWay: false },
  XN: { pre: { initiator: [], responder: [] }, messages: [['e'], ['e', 'ee'], ['s', 'se']], oneWay: false },
  XK: { pre: { initiator: [], responder: ['s'] }, messages: [['e', 'es'], ['e', 'ee'], ['s', 'se']], oneWay: false },
  XX: { pre: { initiator: [], responder: [] }, messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']], oneWay: false },
  KN: { pre: { initiator: ['s'], responder: [] }, messages: [['e'], ['e', 'ee', 'se']], oneWay: false },
  KK: { pre: { initiator: ['s'], responder: ['s'] }, messages: [['e', 'es', 'ss'], ['e', 'ee', 'se']], oneWay: false },
  KX: { pre: { initiator: ['s'], responder: [] }, messages: [['e'], ['e', 'ee', 'se', 's', 'es']], oneWay: false },
  IN: { pre: { initiator: [], responder: [] }, messages: [['e', 's'], ['e', 'ee', 'se']], oneWay: false },
  IK: { pre: { initiator: [], responder: ['s'] }, messages: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']], oneWay: false },
  IX: { pre: { initiator: [], responder: [] }, messages: [['e', 's'], ['e', 'ee', 'se', 's', 'es']], oneWay: false },
} as const satisfies Record<string, PatternRow>;

export type PatternName = keyof typeof rows;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export const PATTERN_NAMES: readonly PatternName[] = Object.freeze(Object.keys(rows) as PatternName[]);

function buildTable(): Record<PatternName, HandshakePattern> {
  const table: Partial<Record<PatternName, HandshakePattern>> = {};
  for (const name of PATTERN_NAMES) table[name] = { name, ...rows[name] };
  return table as Record<PatternName, HandshakePattern>;
}

export const HANDSHAKE_PATTERNS: Readonly<Record<PatternName, HandshakePattern>> = deepFreeze(buildTable());

export function isPatternName(name: string): name is PatternName {
  return Object.hasOwn(rows, name);
}

/** The DH and hash this implementation speaks; the cipher is any row of CIPHER_FUNCTIONS. */
const DH_NAME = '25519';
const HASH_NAME = 'SHA256';
export const SUPPORTED_SUITES: readonly string[] = Object.freeze(CIPHER_NAMES.map((cipher) => `${DH_NAME}_${cipher}_${HASH_NAME}`));

export function protocolName(pattern: PatternName, cipher: CipherName = DEFAULT_CIPHER.name): string {
  return `Noise_${pattern}_${DH_NAME}_${cipher}_${HASH_NAME}`;
}

/** A protocol name's parts this implementation acts on. */
export interface ProtocolParts {
  readonly pattern: HandshakePattern;
  readonly cipher: CipherFunction;
}

/** Parse `Noise_XX_25519_ChaChaPoly_SHA256` into its pattern and cipher; any other suite is refused. */
export function parseProtocolName(name: string): ProtocolParts {
  const parts = name.split('_');
  const [prefix, pattern, dhName, cipherName, hashName] = parts;
  if (parts.length !== 5 || prefix !== 'Noise' || pattern === undefined) {
    throw chatError('ERR_HANDSHAKE_FAILED', `"${name}" is not a Noise protocol name (Noise_<pattern>_<dh>_<cipher>_<hash>)`);
  }
  if (dhName !== DH_NAME || hashName !== HASH_NAME || cipherName === undefined || !isCipherName(cipherName)) {
    const suite = `${dhName}_${cipherName}_${hashName}`;
    throw chatError('ERR_HANDSHAKE_FAILED', `unsupported Noise suite ${suite} in "${name}"; supported: ${SUPPORTED_SUITES.join(' ')}`);
  }
  if (!isPatternName(pattern)) {
    throw chatError(
      'ERR_HANDSHAKE_FAILED',
      `unsupported Noise pattern ${pattern} in "${name}"; supported: ${PATTERN_NAMES.join(' ')}`,
    );
  }
  return { pattern: HANDSHAKE_PATTERNS[pattern], cipher: CIPHER_FUNCTIONS[cipherName] };
}
