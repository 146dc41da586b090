// A receiver must not be believed about what it has: the sender counts a file delivered only once
// it has sent all of it and its file-end, and the receiver's file-verified repeats that file-end's
// SHA-256. A confirmation, resend, resume point or acknowledgement that does not fit what was sent
// ends the transfer with ERR_BAD_MESSAGE (and the receiver is told). Regression tests for a
// receiver that answered file-verified after 320 KiB of 3 MiB and made `p2p-chat send` exit 0.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import type { OutgoingTransfer } from '../../src/app/files/outgoing-transfer.js';
import type { PeerConnection } from '../../src/session/peer-connection.js';
import { cleanupPeers, PeerProcess } from '../helpers/peer-process.js';
import { RawFileReceiver } from '../helpers/raw-file-receiver.js';
import { newIdentity, TestPeer } from '../helpers/relay-testnet.js';
import { failure, fileSha256, MiB, offer, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';
import type { Pair } from '../helpers/transfer-pair.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

const KiB = 1024;
const OTHER_SHA = 'ab'.repeat(32);
/** Per test, not per suite: a sender that believes a lie may wait for ever, and only that test should fail. */
const TIMEOUT = { timeout: 30_000 };

interface Lie {
  readonly p: Pair;
  readonly raw: RawFileReceiver;
  readonly id: string;
  readonly transfer: OutgoingTransfer;
  /** Each offered file's SHA-256, by index. */
  readonly sha256: readonly string[];
}

/** Random files of `sizes` (f0.bin, f1.bin, ...) offered by a real sender to a receiver spoken by hand. */
async function offeredTo(sizes: readonly number[]): Promise<Lie> {
  const source = await fx.tempDir('src');
  const paths = sizes.map((_, i) => join(source, `f${i}.bin`));
  for (const [i, size] of sizes.entries()) await writeRandomFile(paths[i]!, size);
  const p = await fx.pair(await fx.tempDir('dl'), { rawReceiver: true });
  const raw = new RawFileReceiver(p.receiver.conn);
  const transfer = await offer(p.sender, paths);
  await raw.next('file-offer', transfer.id);
  const sha256 = await Promise.all(transfer.files.map((f) => fileSha256(join(source, f.path))));
  return { p, raw, id: transfer.id, transfer, sha256 };
}

/** Accept with no resume points; resolves once `bytes` of file data have arrived (and been acknowledged). */
async function acceptUntil(lie: Lie, bytes: number): Promise<void> {
  lie.raw.send({ type: 'file-accept', id: lie.id, resume: [] });
  await lie.raw.next('file-data', lie.id, () => lie.raw.bytes(lie.id) >= bytes);
}

/** Accept; resolves once file 0 (small) has ended, with file 1 (large) not yet sent whole. */
async function acceptUntilFirstEnd(lie: Lie): Promise<void> {
  lie.raw.send({ type: 'file-accept', id: lie.id, resume: [] });
  await lie.raw.next('file-end', lie.id, (m) => m.index === 0);
}

/**
 * The sender ended the transfer with ERR_BAD_MESSAGE saying `why`, told the receiver so with a
 * file-cancel carrying that code, and never counted it done.
 */
async function refused(lie: Lie, why: RegExp): Promise<void> {
  const done = lie.p.sender.next('done').then(() => assert.fail('the sender counted the transfer delivered'));
  const failed = await Promise.race([failure(lie.p.sender), done]);
  assert.equal(failed.error.code, 'ERR_BAD_MESSAGE', failed.error.message);
  assert.match(failed.error.message, why);
  assert.equal(failed.byPeer, false);
  const cancel = await lie.raw.next('file-cancel', lie.id);
  assert.equal(cancel.code, 'ERR_BAD_MESSAGE');
  assert.equal(lie.transfer.state, 'failed');
  assert.equal(lie.p.sender.events.some((e) => e.type === 'done'), false, 'never done');
}

describe('a receiver that confirms what it was not sent', () => {
  it('file-verified before file-end, even with the right SHA-256, is refused', TIMEOUT, async () => {
    const lie = await offeredTo([3 * MiB]);
    await acceptUntil(lie, 320 * KiB);
    lie.raw.send({ type: 'file-verified', id: lie.id, index: 0, sha256: lie.sha256[0]! });
    await refused(lie, /^file transfer: receiver confirmed f0\.bin before it was sent in full$/);
    assert.equal(lie.raw.received.some((m) => m.type === 'file-end'), false, 'the sender stopped before the end');
  });

  it('file-verified with a SHA-256 other than the one in file-end is refused', TIMEOUT, async () => {
    const lie = await offeredTo([100 * KiB]);
    lie.raw.send({ type: 'file-accept', id: lie.id, resume: [] });
    const end = await lie.raw.next('file-end', lie.id);
    assert.equal(end.sha256, lie.sha256[0]);
    lie.raw.send({ type: 'file-verified', id: lie.id, index: 0, sha256: OTHER_SHA });
    await refused(lie, /confirmed f0\.bin with a SHA-256 other than the one sent/);
  });

  it('file-verified for a file not yet sent is refused, though the one before it was confirmed rightly', TIMEOUT, async () => {
    const lie = await offeredTo([1000, 3 * MiB]);
    await acceptUntilFirstEnd(lie);
    lie.raw.send({ type: 'file-verified', id: lie.id, index: 0, sha256: lie.sha256[0]! });
    lie.raw.send({ type: 'file-verified', id: lie.id, index: 1, sha256: lie.sha256[1]! });
    await refused(lie, /confirmed f1\.bin before it was sent in full/);
  });

  it('file-verified for a file not in the offer is refused', TIMEOUT, async () => {
    const lie = await offeredTo([1000]);
    lie.raw.send({ type: 'file-accept', id: lie.id, resume: [] });
    await lie.raw.next('file-end', lie.id);
    lie.raw.send({ type: 'file-verified', id: lie.id, index: 1, sha256: lie.sha256[0]! });
    await refused(lie, /no such file in the transfer/);
  });

  it('file-verified twice for one file is refused', TIMEOUT, async () => {
    const lie = await offeredTo([1000, 3 * MiB]);
    await acceptUntilFirstEnd(lie);
    for (let i = 0; i < 2; i++) lie.raw.send({ type: 'file-verified', id: lie.id, index: 0, sha256: lie.sha256[0]! });
    await refused(lie, /confirmed f0\.bin twice/);
  });
});

describe('a receiver that asks, acknowledges or resumes what it cannot have', () => {
  it('file-resend for a file not yet ended is refused', TIMEOUT, async () => {
    const lie = await offeredTo([3 * MiB]);
    await acceptUntil(lie, 320 * KiB);
    lie.raw.send({ type: 'file-resend', id: lie.id, index: 0, reason: 'SHA-256 mismatch' });
    await refused(lie, /asked for f0\.bin again before it was sent in full/);
  });

  it('file-resend for a file it confirmed is refused', TIMEOUT, async () => {
    const lie = await offeredTo([1000, 3 * MiB]);
    await acceptUntilFirstEnd(lie);
    lie.raw.send({ type: 'file-verified', id: lie.id, index: 0, sha256: lie.sha256[0]! });
    lie.raw.send({ type: 'file-resend', id: lie.id, index: 0, reason: 'SHA-256 mismatch' });
    await refused(lie, /asked for f0\.bin again after confirming it/);
  });

  it('file-ack for more bytes than were sent, or fewer than before, is refused', TIMEOUT, async () => {
    for (const bytes of [(lie: Lie) => lie.raw.bytes(lie.id) + 100 * MiB, () => 1]) {
      const lie = await offeredTo([3 * MiB]);
      await acceptUntil(lie, 320 * KiB);
      lie.raw.send({ type: 'file-ack', id: lie.id, bytes: bytes(lie) });
      await refused(lie, /acknowledged more bytes than were sent, or fewer than before/);
    }
  });

  const resumes = [
    { what: 'past the end of a file', point: { index: 0, have: 1001 }, why: /resume point past the end of f0\.bin/ },
    { what: 'for a file not offered', point: { index: 1, have: 10 }, why: /resume point for a file not offered/ },
  ];
  for (const { what, point, why } of resumes) {
    it(`file-accept with a resume point ${what} is refused`, TIMEOUT, async () => {
      const lie = await offeredTo([1000]);
      lie.raw.send({ type: 'file-accept', id: lie.id, resume: [{ ...point, sha256: OTHER_SHA }] });
      await refused(lie, why);
      assert.equal(lie.p.sender.fileData.sent, 0, 'nothing was sent');
    });
  }

  it('file-accept with two resume points for one file is refused', TIMEOUT, async () => {
    const lie = await offeredTo([1000]);
    const point = { index: 0, have: 10, sha256: OTHER_SHA };
    lie.raw.send({ type: 'file-accept', id: lie.id, resume: [point, point] });
    await refused(lie, /two resume points for f0\.bin/);
  });
});

describe('p2p-chat send to a receiver that lies', () => {
  const servers: Server[] = [];
  const connections: PeerConnection[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) c.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await cleanupPeers();
  });
  after(cleanupPeers);

  /** A listener on loopback whose first caller is answered by a receiver spoken by hand, called mallory. */
  async function hostileListener(): Promise<{ port: number; receiver: Promise<RawFileReceiver> }> {
    const server = createServer();
    servers.push(server);
    const receiver = new Promise<RawFileReceiver>((resolve) =>
      server.once('connection', (socket) => {
        const peer = new TestPeer(socket, newIdentity(), 'mallory', false);
        connections.push(peer.connection);
        resolve(new RawFileReceiver(peer.connection));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, receiver };
  }

  it('exits 1 naming the lie when the receiver confirms a file after 320 KiB of 3 MiB, and never says verified', TIMEOUT, async () => {
    const path = join(await fx.tempDir('src'), 'big.bin');
    await writeRandomFile(path, 3 * MiB);
    const sha256 = await fileSha256(path); // now: the lie must follow the 320 KiB at once
    const { port, receiver } = await hostileListener();
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, path, '--name', 'bob']);
    const raw = await receiver;
    const { id } = await raw.next('file-offer');
    raw.send({ type: 'file-accept', id, resume: [] });
    await raw.next('file-data', id, () => raw.bytes(id) >= 320 * KiB);
    raw.send({ type: 'file-verified', id, index: 0, sha256 });

    assert.equal(await bob.exitCode(), 1, bob.stderr);
    assert.match(bob.stderr, /file transfer: mallory confirmed big\.bin before it was sent in full/);
    assert.doesNotMatch(bob.stderr + bob.stdoutLines.join('\n'), /SHA-256 verified/);
    assert.doesNotMatch(bob.stderr, /send it again to resume/, 'a peer that lied is not offered the rest again');
    assert.doesNotMatch(bob.stderr, /^\s+at /m, 'no stack trace');
    assert.equal((await raw.next('file-cancel', id)).code, 'ERR_BAD_MESSAGE', 'mallory is told why');
  });
});
