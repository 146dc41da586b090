// What a suite of tests of relay clusters shares: its own redis-server and one relay key (every
// relay of a cluster has the same), started before its tests and stopped after them, with the
// relay testnet cleaned up after each test.

import { after, afterEach, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadOrCreateIdentity, type Identity } from '../../src/secure/identity-store.js';
import { tempHome } from './peer-process.js';
import { RedisServer } from './redis-server.js';
import { cleanupRelayTestnet } from './relay-testnet.js';

export interface ClusterSuite {
  readonly redis: RedisServer;
  readonly key: Identity;
}

/** Registers the suite's hooks (call it inside describe()); its fields are there once the tests run. */
export function clusterSuite(): ClusterSuite {
  let redis: RedisServer | undefined;
  let key: Identity | undefined;
  before(async () => {
    redis = await RedisServer.start();
    key = loadOrCreateIdentity(join(tempHome(), 'relay'));
  });
  after(async () => {
    await cleanupRelayTestnet();
    await redis?.stop();
  });
  afterEach(async () => {
    await cleanupRelayTestnet();
  });
  return {
    get redis() {
      return redis!;
    },
    get key() {
      return key!;
    },
  };
}

/**
 * Poll `condition` every `everyMs` until it holds; fail after `ms`. Polling a relay with requests,
 * keep `everyMs` at 250 or more: it answers 5 a second to a connection.
 */
export async function eventually(condition: () => Promise<boolean>, what: string, ms = 5_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
