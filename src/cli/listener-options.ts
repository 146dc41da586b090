// The settings of a chat node that `listen` and `connect` take as flags: the handshake deadline
// and what the listener lets strangers hold. Defaults come from DEFAULTS; the help, the README's
// `listen` table and the parsing all read this one list.

import { DEFAULTS, type Settings } from '../defaults.js';
import { flagName, wholeNumberFlag } from './numeric-flags.js';

type NodeSettingKey = 'handshakeTimeoutMs' | 'maxPeers' | 'maxHandshakes' | 'maxHandshakesPerIp' | 'refusalLogIntervalMs';

export interface ListenerOption {
  /** cac flag spec, e.g. "--max-handshakes <n>". */
  readonly flag: string;
  readonly key: NodeSettingKey;
  readonly description: string;
  readonly default: number;
  /** The least value accepted. */
  readonly min: number;
}

const DESCRIPTIONS: Readonly<Record<NodeSettingKey, string>> = Object.freeze({
  handshakeTimeoutMs: 'ms a connection has to finish its handshake, either way',
  maxPeers: 'most peers connected at once; past it new connections are refused',
  maxHandshakes: 'most incoming connections in their handshake at once; past it the oldest is cut off',
  maxHandshakesPerIp: 'most of those from one IP address; past it that address\'s oldest is cut off',
  refusalLogIntervalMs: 'ms between lines about one address\'s cut-off or refused connections',
});

export const LISTENER_OPTIONS: readonly ListenerOption[] = Object.freeze(
  (Object.keys(DESCRIPTIONS) as NodeSettingKey[]).map((key) => ({
    flag: `${flagName(key)} <${key.endsWith('Ms') ? 'ms' : 'n'}>`,
    key,
    description: DESCRIPTIONS[key],
    default: DEFAULTS[key],
    min: key === 'refusalLogIntervalMs' ? 0 : 1,
  })),
);

/** The settings given on the command line (cac's camelCase keys), checked. Throws ERR_USAGE naming the flag. */
export function parseListenerSettings(flags: Readonly<Record<string, unknown>>): Partial<Settings> {
  const settings: Partial<Record<NodeSettingKey, number>> = {};
  for (const { key, min } of LISTENER_OPTIONS) {
    const value = wholeNumberFlag(flags, key, min);
    if (value !== undefined) settings[key] = value;
  }
  return settings;
}
