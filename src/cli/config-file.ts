// Optional settings in <home>/config.json, for what a user would otherwise type every time:
// `{ "name": "laptop", "relay": "relay.example.org#FINGERPRINT" }`. Command-line flags and
// environment variables win over it. A malformed file is a usage error naming the file.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chatError, P2PChatError } from '../errors.js';

export const CONFIG_FILE = 'config.json';

export interface ConfigFile {
  readonly name?: string;
  readonly relay?: string;
}

export function readConfigFile(home: string): ConfigFile {
  const path = join(home, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw P2PChatError.from(err, 'ERR_USAGE', `${path} is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw chatError('ERR_USAGE', `${path} must hold a JSON object`);
  const { name, relay } = raw as Record<string, unknown>;
  for (const [key, value] of [['name', name], ['relay', relay]] as const) {
    if (value !== undefined && typeof value !== 'string') throw chatError('ERR_USAGE', `"${key}" in ${path} must be a string`);
  }
  return { ...(typeof name === 'string' ? { name } : {}), ...(typeof relay === 'string' ? { relay } : {}) };
}
