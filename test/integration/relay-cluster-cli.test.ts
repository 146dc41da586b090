// A cluster as operators and users run it: three `p2p-chat relay --cluster` processes sharing one
// key and one redis-server; a listener registered on one relay is found by name from another and
// chats and receives a file (--relay-only, so through the relays); its relay is SIGKILLed, it
// registers on the next relay it was given (--relay a,b) and is reachable again, and a peer given
// only the dead relay drops out of the cluster's lookups within the TTL.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupPeers, PeerProcess, tempHome, type PeerEvent } from '../helpers/peer-process.js';
import { RedisServer, redisServerSkip } from '../helpers/redis-server.js';
import { eventually } from '../helpers/cluster-suite.js';
import { cleanupRelayTestnet, ControlClient } from '../helpers/relay-testnet.js';

const TTL_MS = 3_000;
const registered = (e: PeerEvent) => e.type === 'relay' && e.state === 'registered';

describe('p2p-chat relay --cluster from the command line', { skip: await redisServerSkip(), timeout: 120_000 }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await cleanupRelayTestnet();
    await cleanupPeers();
  });
  after(async () => {
    await cleanupRelayTestnet();
    await cleanupPeers();
    await redis?.stop();
  });

  /** Three relays of one cluster, one key (one home), each on its own port. */
  async function cluster(): Promise<{ relays: PeerProcess[]; ports: number[]; fingerprint: string }> {
    const home = tempHome();
    const prefix = `cli${process.pid}-${randomBytes(4).toString('hex')}:`;
    const relays: PeerProcess[] = [];
    const ports: number[] = [];
    let fingerprint = '';
    for (let i = 0; i < 3; i++) {
      const args = ['relay', '--json', '--host', '127.0.0.1', '--port', '0', '--stats-interval-ms', '0'];
      const relay = new PeerProcess([...args, '--cluster', redis.url, '--public-address', '127.0.0.1', '--cluster-prefix', prefix, '--cluster-ttl-ms', String(TTL_MS)], { home });
      const started = await relay.waitForEvent('started');
      await relay.waitForEvent('cluster-joined');
      relays.push(relay);
      ports.push(Number(started.port));
      fingerprint = String(started.fingerprint);
    }
    return { relays, ports, fingerprint };
  }

  it('a peer on one relay is found, chatted with and sent a file from another; after its relay dies it is reachable again', async () => {
    const { relays, ports, fingerprint } = await cluster();
    const at = (i: number) => `127.0.0.1:${ports[i]}#${fingerprint}`;
    const downloads = tempHome();
    const alice = new PeerProcess([
      'listen', '--json', '--port', '0', '--host', '127.0.0.1', '--name', 'alice', '--no-upgrade',
      '--accept-files=any', '--download-dir', downloads, '--relay', `${at(0)},${at(1)}`,
    ]);
    await alice.waitFor(() => alice.events.find(registered), 'alice registered');
    // Erin was given relay A alone: when A dies, her registration must expire within the TTL.
    const erin = new PeerProcess(['listen', '--json', '--port', '0', '--host', '127.0.0.1', '--name', 'erin', '--no-upgrade', '--relay', at(0)]);
    await erin.waitFor(() => erin.events.find(registered), 'erin registered');
    const asker = await ControlClient.connect(ports[2]!, 'asker', fingerprint);
    assert.equal(await lookup(asker, 'erin'), 1, 'erin is found from relay C');

    // Found by name through relay C, and relayed through relay A, where alice is.
    const bob = new PeerProcess(['connect', 'alice', '--relay-only', '--json', '--name', 'bob', '--relay', at(2)]);
    const connected = await bob.waitForEvent('connected');
    assert.equal(connected.path, 'relayed');
    assert.equal(connected.via, `127.0.0.1:${ports[0]}`, 'the session is spliced on alice\'s relay');
    bob.send('across the cluster');
    await alice.waitForEvent('message', (e) => e.text === 'across the cluster');
    alice.send('and back');
    await bob.waitForEvent('message', (e) => e.text === 'and back');
    bob.kill('SIGTERM');

    const file = join(tempHome(), 'notes.bin');
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(file, bytes);
    const carol = new PeerProcess(['send', 'alice', file, '--relay-only', '--json', '--name', 'carol', '--relay', at(1)]);
    assert.equal(await carol.exitCode(60_000), 0, carol.stderr);
    await alice.waitForEvent('file-done');
    assert.equal(sha256(readFileSync(join(downloads, 'notes.bin'))), sha256(bytes), 'the file arrives whole');

    // Relay A dies without a word: alice registers on B, the next relay she was given.
    relays[0]!.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(async () => (await lookup(asker, 'erin')) === 0, 'erin\'s registration to expire', TTL_MS + 3_000, 250);
    assert.ok(Date.now() - killedAt <= TTL_MS + 1_000, `expired ${Date.now() - killedAt} ms after the relay died (TTL ${TTL_MS} ms)`);
    await alice.waitForEvent('relay', (e) => registered(e) && e.relay === `127.0.0.1:${ports[1]}`, 30_000);
    const dave = new PeerProcess(['connect', 'alice', '--relay-only', '--json', '--name', 'dave', '--relay', at(2)]);
    const again = await dave.waitForEvent('connected', () => true, 30_000);
    assert.equal(again.via, `127.0.0.1:${ports[1]}`);
    dave.send('still here?');
    await alice.waitForEvent('message', (e) => e.text === 'still here?');
  });
});

async function lookup(client: ControlClient, query: string): Promise<number> {
  const answer = await client.request({ type: 'lookup', query });
  return answer.type === 'lookup-result' ? answer.peers.length : -1;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
