// Who decides whether a transfer happens and how it stops: decline, cancel from either side,
// the offer timeout, the auto-accept policies, and the limit on offers left waiting.

import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { FileEventReporter } from '../../src/app/files/file-events.js';
import { SYSTEM_CLOCK } from '../../src/clock.js';
import { MAX_PENDING_OFFERS_PER_PEER } from '../../src/app/files/transfers.js';
import { failure, MiB, offer, partialFiles, sendAndInterrupt, TransferFixture, writeRandomFile } from '../helpers/transfer-fixture.js';
import type { PairOptions } from '../helpers/transfer-pair.js';

const fx = new TransferFixture();
afterEach(() => fx.cleanup());

/** A pair, its download directory, and one small file to offer. */
async function setup(options: PairOptions = {}) {
  const source = await fx.tempDir('src');
  const downloads = await fx.tempDir('dl');
  const path = join(source, 'hello.txt');
  await writeFile(path, 'hello, peer\n');
  const p = await fx.pair(downloads, options);
  return { p, downloads, path };
}

describe('file transfer control', () => {
  it('a declined offer leaves nothing at all in the download directory', { timeout: 30_000 }, async () => {
    const { p, downloads, path } = await setup();
    await offer(p.sender, [path]);
    await p.receiver.next('offer');
    p.receiver.transfers.decline();
    const [sent, received] = await Promise.all([failure(p.sender), failure(p.receiver)]);
    assert.equal(sent.error.code, 'ERR_FILE_DECLINED');
    assert.equal(sent.byPeer, true);
    assert.equal(received.error.code, 'ERR_FILE_DECLINED');
    assert.deepEqual(await readdir(downloads), [], 'not even the partial folder');
  });

  for (const by of ['receiver', 'sender'] as const) {
    it(`a cancel by the ${by} mid-transfer leaves a resumable partial; both sides say ERR_FILE_CANCELLED`, { timeout: 60_000 }, async () => {
      const source = await fx.tempDir('src');
      const downloads = await fx.tempDir('dl');
      const size = 32 * MiB;
      const path = join(source, 'big.bin');
      await writeRandomFile(path, size);
      const p = await fx.pair(downloads);
      const failed = await sendAndInterrupt(p, [path], 1 * MiB, () => p[by].transfers.cancel());
      for (const side of ['sender', 'receiver'] as const) {
        assert.equal(failed[side].error.code, 'ERR_FILE_CANCELLED', failed[side].error.message);
        assert.equal(failed[side].byPeer, side !== by, `${side} learnt it ${side === by ? 'from itself' : 'from its peer'}`);
      }
      const reported = new FileEventReporter(SYSTEM_CLOCK).toAppEvent(failed.receiver);
      assert.equal(reported.type === 'file-error' && reported.resumable, true);
      const [partial, ...more] = await partialFiles(downloads);
      assert.equal(more.length, 0);
      assert.ok(partial && partial.size >= 1 * MiB && partial.size < size, `partial of ${partial?.size} bytes`);
    });
  }

  it('an offer not answered in time is ERR_FILE_DECLINED on the sender, and withdrawn at the receiver', { timeout: 30_000 }, async () => {
    const { p, downloads, path } = await setup({ sender: { offerTimeoutMs: 200 } });
    await offer(p.sender, [path]);
    await p.receiver.next('offer');
    const [sent, received] = await Promise.all([failure(p.sender), failure(p.receiver)]);
    assert.equal(sent.error.code, 'ERR_FILE_DECLINED');
    assert.match(sent.error.message, /did not answer/);
    assert.equal(received.error.code, 'ERR_FILE_DECLINED', 'the receiver is told the offer expired');
    assert.equal(p.receiver.transfers.list().length, 0);
    assert.deepEqual(await readdir(downloads), []);
  });

  for (const [policy, known] of [['any', false], ['known', true]] as const) {
    it(`auto-accept '${policy}' accepts from a${known ? ' known' : 'ny'} peer`, { timeout: 30_000 }, async () => {
      const { p, downloads, path } = await setup({ receiver: { acceptFiles: policy }, known });
      await offer(p.sender, [path]);
      const offered = await p.receiver.next('offer');
      assert.equal(offered.type === 'offer' && offered.autoAccept, true);
      await Promise.all([p.sender.next('done'), p.receiver.next('done')]);
      assert.equal(await readFile(join(downloads, 'hello.txt'), 'utf8'), 'hello, peer\n');
    });
  }

  it("auto-accept 'known' declines an unknown peer with a reason the sender sees", { timeout: 30_000 }, async () => {
    const { p, downloads, path } = await setup({ receiver: { acceptFiles: 'known' }, known: false });
    await offer(p.sender, [path]);
    const [sent, received] = await Promise.all([failure(p.sender), failure(p.receiver)]);
    assert.equal(sent.error.code, 'ERR_FILE_DECLINED');
    assert.match(sent.error.message, /only accepting files from known peers/);
    assert.equal(received.error.code, 'ERR_FILE_DECLINED');
    assert.ok(!p.receiver.events.some((e) => e.type === 'offer'), 'declined unasked: no offer inviting an /accept');
    assert.deepEqual(await readdir(downloads), []);
  });

  it(`declines offers past ${MAX_PENDING_OFFERS_PER_PEER} left waiting by one peer`, { timeout: 30_000 }, async () => {
    const { p, path } = await setup();
    const offers = [];
    for (let i = 0; i <= MAX_PENDING_OFFERS_PER_PEER; i++) offers.push(await offer(p.sender, [path]));
    const extra = offers.at(-1)!;
    const refused = await p.sender.next('failed', (e) => e.type === 'failed' && e.transfer === extra);
    assert.equal(refused.type === 'failed' && refused.error.code, 'ERR_FILE_DECLINED');
    assert.match(refused.type === 'failed' ? refused.error.message : '', /too many offers waiting/);
    // Each is listed once it is reported (after its names were looked up in the download directory).
    const reported = () => p.receiver.events.filter((e) => e.type === 'offer').length;
    await p.receiver.next('offer', () => reported() >= MAX_PENDING_OFFERS_PER_PEER);
    assert.equal(p.receiver.transfers.list().length, MAX_PENDING_OFFERS_PER_PEER, 'the first ones still wait for an answer');
    assert.deepEqual(
      p.sender.transfers.list().map((t) => t.id),
      offers.slice(0, -1).map((t) => t.id),
    );
  });
});
