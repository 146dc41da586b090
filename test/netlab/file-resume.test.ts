// A 200 MiB transfer between two hosts on a LAN, cut mid-way: the receiver's firewall answers the
// sender's packets with resets for a moment (like a link that fails and comes back). The
// conversation resumes by itself and the transfer goes on from what the receiver holds: it
// completes SHA-256 verified, `send` exits 0, and the wire carries fewer bytes than starting over
// would (counted by nft on the receiver's input).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Netlab, netlabSkip } from '../helpers/netlab.js';

const A = '198.51.100.1';
const B = '198.51.100.2';
const SIZE = 200 * 1024 * 1024;
/** The cut comes once this much has crossed. */
const CUT_AT = 40 * 1024 * 1024;
const COUNTER = ['table inet carried {', '  chain input {', '    type filter hook input priority -10; policy accept;', '    tcp dport 5050 counter', '  }', '}'].join('\n');
const CUT = ['table inet cut {', '  chain input {', '    type filter hook input priority -20; policy accept;', '    tcp dport 5050 reject with tcp reset', '  }', '}'].join('\n');

function writeRandomFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    const block = randomBytes(4 * 1024 * 1024);
    for (let written = 0; written < size; written += block.length) {
      block[0] = written / block.length; // no two blocks alike
      writeSync(fd, block, 0, Math.min(block.length, size - written));
    }
  } finally {
    closeSync(fd);
  }
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}

describe('netlab: a 200 MiB transfer cut mid-way completes by itself', { skip: await netlabSkip(), timeout: 180_000 }, () => {
  let lab: Netlab | undefined;

  before(async () => {
    lab = await Netlab.create();
    await lab.addLan('lan', '198.51.100.0/24');
    await lab.addHost('a', { lan: 'lan', address: `${A}/24` });
    await lab.addHost('b', { lan: 'lan', address: `${B}/24` });
    await lab.exec('a', 'nft', [COUNTER]);
  });

  after(async () => {
    if (lab) assert.deepEqual(await lab.destroyAndList(), [], `namespaces of run ${lab.prefix} left behind`);
  });

  const carried = async (): Promise<number> => {
    const table = await lab!.exec('a', 'nft', ['list', 'table', 'inet', 'carried']);
    const match = /counter packets \d+ bytes (\d+)/.exec(table);
    assert.ok(match, table);
    return Number(match[1]);
  };

  it('resumes over a new connection, SHA-256 verified, carrying less than a restart would', async (t) => {
    const file = join(lab!.tempHome(), 'big.bin');
    writeRandomFile(file, SIZE);
    const downloads = join(lab!.tempHome(), 'inbox');
    const alice = lab!.spawnPeer('a', [
      'listen', '--json', '--name', 'alice', '--host', '0.0.0.0', '--no-mdns', '--keepalive', '1',
      '--accept-files=any', '--download-dir', downloads,
    ]);
    await alice.waitForEvent('listening', undefined, 15_000);
    const bob = lab!.spawnPeer('b', ['send', A, file, '--json', '--name', 'bob', '--no-mdns', '--keepalive', '1']);
    try {
      await bob.waitForEvent('file-accepted', undefined, 15_000);
      const deadline = Date.now() + 60_000;
      while ((await carried()) < CUT_AT) {
        assert.ok(Date.now() < deadline, 'the transfer reached the cut point');
        assert.equal(bob.events.some((e) => e.type === 'file-done'), false, 'the transfer finished before it could be cut');
      }
      await lab!.exec('a', 'nft', [CUT]);
      const cut = await bob.waitForEvent('reconnecting', undefined, 15_000);
      const atCut = await carried();
      await lab!.exec('a', 'nft', ['delete', 'table', 'inet', 'cut']);
      t.diagnostic(`cut after ${atCut} bytes (${String(cut.code)})`);

      assert.equal(await bob.exitCode(120_000), 0, bob.stderr);
      const back = bob.events.find((e) => e.type === 'reconnected');
      assert.ok(back, 'the conversation resumed');
      const done = await alice.waitForEvent('file-done', undefined, 30_000);
      assert.equal(done.sha256Verified, true);
      assert.ok(Number(done.resumed) > 0, `the receiver kept what it had: resumed ${String(done.resumed)}`);
      const kinds = (events: readonly { type: string }[]) => events.filter((e) => e.type.startsWith('file-') && e.type !== 'file-progress').map((e) => e.type);
      assert.deepEqual(kinds(alice.events), ['file-offer', 'file-accepted', 'file-done'], 'one offer, no error, at the receiver');
      assert.deepEqual(kinds(bob.events), ['file-offer', 'file-accepted', 'file-done'], 'one offer, no error, at the sender');
      assert.equal(await sha256(join(downloads, 'big.bin')), await sha256(file), 'the received file is identical');
      const total = await carried();
      t.diagnostic(`carried ${total} bytes in all for a ${SIZE}-byte file; a restart would need ${atCut + SIZE}`);
      assert.ok(total < atCut + SIZE, `carried ${total} bytes; starting over after the cut would need ${atCut + SIZE}`);
    } finally {
      bob.kill('SIGTERM');
      alice.kill('SIGTERM');
      await Promise.all([bob.exitCode(10_000).catch(() => bob.kill()), alice.exitCode(10_000).catch(() => alice.kill())]);
    }
  });
});
