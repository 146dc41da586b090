// `p2p-chat send` and `listen --accept-files` as users run them: real processes over loopback, a
// multi-MiB file and a nested directory compared byte for byte, the lines and JSON events each
// side prints, the accept policies, and the failures a sender can meet. Every directory comes from
// tempHome(), which cleanupPeers removes whatever the outcome.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanupPeers, PeerProcess, startListener, tempHome } from '../helpers/peer-process.js';
import { REPO_ROOT } from '../helpers/repo-root.js';
import { assertReceived, writeSampleFiles } from '../helpers/sample-files.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

afterEach(cleanupPeers);
after(cleanupPeers);

/** A listener in pipe mode (text on stderr); resolves once it says its port. */
async function textListener(extra: string[]): Promise<{ peer: PeerProcess; port: number }> {
  const peer = new PeerProcess(['listen', '--port', '0', '--host', '127.0.0.1', '--name', 'alice', ...extra]);
  const port = Number(await peer.waitFor(() => /listening on port (\d+)/.exec(peer.stderr)?.[1], 'listening'));
  return { peer, port };
}

/** A failed command printed one line for it: the last on stderr, matching `pattern`, no stack trace. */
function assertLastLine(peer: PeerProcess, pattern: RegExp): void {
  const lines = peer.stderr.trimEnd().split('\n');
  assert.match(lines.at(-1)!, pattern, peer.stderr);
  assert.equal(lines.filter((line) => pattern.test(line)).length, 1, peer.stderr);
  assert.doesNotMatch(peer.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(peer.stderr, /internal error/);
}

const FILE_EVENTS = ['file-offer', 'file-accepted', 'file-progress', 'file-done', 'file-error'];
const fileEvents = (peer: PeerProcess) => peer.events.filter((e) => FILE_EVENTS.includes(e.type));

/** The README's JSON events table: type → the fields cell. */
function documentedFields(): Map<string, string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  return new Map([...readme.matchAll(/^\| `([a-z-]+)` \| (.*?) \| .* \|$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('p2p-chat send to a listener that accepts files', { timeout: 60_000 }, () => {
  it('delivers a file and a nested directory byte for byte; both sides say SHA-256 verified', async () => {
    const src = writeSampleFiles(tempHome());
    const downloads = join(tempHome(), 'inbox'); // does not exist yet: the listener creates it
    const { peer: alice, port } = await textListener(['--accept-files=any', '--download-dir', downloads]);
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, src.file, src.album, '--name', 'bob']);
    assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
    assertReceived(downloads, src);

    const what = String.raw`big\.bin, album/ \(4 files, 4\.1 MiB\)`;
    assert.match(bob.stderr, new RegExp(`^\\d\\d:\\d\\d -- offered ${what} to alice \\[[0-9a-f]{6}\\]; waiting for an answer$`, 'm'));
    assert.match(bob.stderr, /^\d\d:\d\d -- alice accepted \[[0-9a-f]{6}\]; sending$/m);
    assert.match(bob.stderr, new RegExp(`^\\d\\d:\\d\\d -- ${what} sent to alice, SHA-256 verified \\(`, 'm'));
    await alice.waitForStderr(new RegExp(`-- ${what} received, SHA-256 verified \\(`));
    assert.match(alice.stderr, new RegExp(`^\\d\\d:\\d\\d -- bob sends ${what} \\[[0-9a-f]{6}\\]; accepting$`, 'm'));
    assert.match(alice.stderr, new RegExp(`-- receiving \\[[0-9a-f]{6}\\] from bob into ${downloads}$`, 'm'));
    // Pipes get a plain progress line (the first at once, then one every 5 s).
    const progress = /^\d\d:\d\d -- \[[0-9a-f]{6}\] \d{1,3}% \(\d.* of 4\.1 MiB\), \d.*B\/s(, \d+:\d\d left)?$/m;
    assert.match(bob.stderr, progress);
    assert.match(alice.stderr, progress);
    assert.doesNotMatch(alice.stderr, /\/accept/, 'an offer accepted by policy asks nothing');
    assert.deepEqual(alice.stdoutLines, [], 'stdout carries chat text only');
    assert.deepEqual(bob.stdoutLines, []);
  });

  it('--json reports progress at most once a second per side, as the README says, over a slow link', async () => {
    const home = tempHome();
    const file = join(home, 'slow.bin');
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
    const { peer: alice, port } = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', tempHome()]);
    const proxy = new TcpProxy(port, '127.0.0.1', 1024 * 1024); // 1 MiB/s uplink: about 3 s
    try {
      const bob = new PeerProcess(['send', `127.0.0.1:${await proxy.start()}`, file, '--name', 'bob', '--json']);
      assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
      await alice.waitForEvent('file-done');
      for (const peer of [bob, alice]) {
        const events = fileEvents(peer);
        const seconds = Number(events.find((e) => e.type === 'file-done')!.seconds);
        const progress = events.filter((e) => e.type === 'file-progress').length;
        assert.ok(seconds >= 2, `a transfer slow enough to tell the rates apart (${seconds} s)`);
        // Once a second from the first report: at most one per whole second, plus the first.
        assert.ok(progress >= 2 && progress <= Math.floor(seconds) + 2, `${progress} file-progress events in ${seconds} s`);
      }
    } finally {
      await proxy.close();
    }
  });

  it('--json on both sides: file-offer, file-accepted, file-progress and file-done, with the documented fields', async () => {
    const src = writeSampleFiles(tempHome());
    const downloads = tempHome();
    const { peer: alice, port, fingerprint: aliceFp } = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', downloads]);
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, src.file, src.album, '--name', 'bob', '--json']);
    assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
    await alice.waitForEvent('file-done');
    assertReceived(downloads, src);
    const bobFp = String((await alice.waitForEvent('connected', (e) => e.name === 'bob')).fingerprint);

    const offered = [...src.contents].map(([path, bytes]) => ({ path, size: bytes.length }));
    const sides = [
      { peer: bob, direction: 'send', other: 'alice', otherFp: aliceFp, dir: {} },
      { peer: alice, direction: 'receive', other: 'bob', otherFp: bobFp, dir: { dir: downloads } },
    ];
    const ids = new Set<unknown>();
    for (const { peer, direction, other, otherFp, dir } of sides) {
      const events = fileEvents(peer);
      const types = events.map((e) => e.type);
      assert.deepEqual(
        [types[0], types[1], types.at(-1)],
        ['file-offer', 'file-accepted', 'file-done'],
        `${direction}: ${types.join(', ')}`,
      );
      const progress = events.slice(2, -1);
      assert.ok(progress.length >= 1, `${direction}: at least one file-progress for a 4 MiB transfer`);
      const ref = { id: events[0]!.id, direction, peer: other, fingerprint: otherFp };
      ids.add(ref.id);
      assert.match(String(ref.id), /^[0-9a-f]{16}$/);

      assert.deepEqual(events[0], { type: 'file-offer', ...ref, files: offered, total: src.total, autoAccept: direction === 'receive' });
      assert.deepEqual(events[1], { type: 'file-accepted', ...ref, ...dir });
      let last = 0;
      for (const p of progress) {
        const { bytes, total, bytesPerSecond, etaSeconds, ...rest } = p;
        assert.deepEqual(rest, { type: 'file-progress', ...ref });
        assert.equal(total, src.total);
        assert.ok(Number.isInteger(bytes) && (bytes as number) >= last && (bytes as number) <= src.total, `bytes ${String(bytes)}`);
        assert.ok(Number.isInteger(bytesPerSecond) && (bytesPerSecond as number) >= 0);
        assert.ok(etaSeconds === undefined || (Number.isInteger(etaSeconds) && (etaSeconds as number) >= 0));
        last = bytes as number;
      }
      const { seconds, ...done } = events.at(-1)!;
      assert.deepEqual(done, { type: 'file-done', ...ref, files: offered, total: src.total, resumed: 0, ...dir, sha256Verified: true });
      assert.ok(typeof seconds === 'number' && seconds >= 0);
    }
    assert.equal(ids.size, 1, 'both sides name the transfer by the same id');

    // Every field either side printed is listed for its type in the README's JSON events table.
    const documented = documentedFields();
    for (const event of [...fileEvents(bob), ...fileEvents(alice)]) {
      const cell = documented.get(event.type);
      assert.ok(cell, `README documents ${event.type}`);
      for (const key of Object.keys(event).filter((k) => k !== 'type')) {
        assert.ok(cell.includes(`\`${key}\``) || cell.includes(`\`${key}?\``), `README lists ${event.type}.${key}`);
      }
    }
  });
});

describe('what an offer tells the receiver before it is accepted', { timeout: 60_000 }, () => {
  it('names the first files of a directory, and says which name is taken and what it will be saved as', async () => {
    const src = writeSampleFiles(tempHome());
    const downloads = tempHome();
    writeFileSync(join(downloads, 'big.bin'), 'already here');
    const { peer: alice, port } = await textListener(['--accept-files=any', '--download-dir', downloads]);
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, src.file, src.album, '--name', 'bob']);
    assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
    await alice.waitForStderr(/received, SHA-256 verified/);

    const lines = alice.stderr.split('\n');
    const at = lines.findIndex((l) => /-- bob sends big\.bin, album\/ \(4 files, 4\.1 MiB\) \[[0-9a-f]{6}\]; accepting$/.test(l));
    assert.ok(at >= 0, alice.stderr);
    const id = /\[([0-9a-f]{6})\]/.exec(lines[at]!)![1]!;
    assert.deepEqual(lines.slice(at + 1, at + 3).map((l) => l.trim()), [
      `big.bin, album/cover.jpg, album/day 1/a.jpg and 1 more: /transfers ${id} lists them all`,
      'big.bin exists in the download directory: it will be saved as big (1).bin',
    ]);
    assert.match(alice.stderr, /received, SHA-256 verified \(.*\); saved as big \(1\)\.bin$/m);
    assert.equal(readFileSync(join(downloads, 'big.bin'), 'utf8'), 'already here', 'the file that was there is untouched');
    assert.ok(readFileSync(join(downloads, 'big (1).bin')).equals(src.contents.get('big.bin')!));
  });

  it('--json: the file-offer event carries savedAs for a taken name, and nothing for a free one', async () => {
    const home = tempHome();
    const downloads = tempHome();
    writeFileSync(join(home, 'notes.txt'), 'new');
    writeFileSync(join(home, 'free.txt'), 'free');
    writeFileSync(join(downloads, 'notes.txt'), 'old');
    const { peer: alice, port } = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', downloads]);
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, join(home, 'notes.txt'), join(home, 'free.txt'), '--name', 'bob']);
    assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
    const offer = await alice.waitForEvent('file-offer');
    assert.deepEqual(offer.files, [
      { path: 'notes.txt', size: 3, savedAs: 'notes (1).txt' },
      { path: 'free.txt', size: 4 },
    ]);
    const done = await alice.waitForEvent('file-done');
    assert.deepEqual(done.files, offer.files, 'saved where the offer said');
  });
});

describe('p2p-chat send and what it leaves out', { timeout: 60_000 }, () => {
  it('says in one line how many symlinks or special files under a sent directory were skipped, and sends the rest', async () => {
    const root = tempHome();
    const dir = join(root, 'notes');
    mkdirSync(dir);
    writeFileSync(join(dir, 'real.txt'), 'real');
    writeFileSync(join(root, 'secret.txt'), 'secret');
    symlinkSync(join(root, 'secret.txt'), join(dir, 'link.txt'));
    symlinkSync(join(root, 'missing'), join(dir, 'dangling'));
    const downloads = tempHome();
    const { peer: alice, port } = await textListener(['--accept-files=any', '--download-dir', downloads]);
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, dir, '--name', 'bob']);
    assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
    const said = bob.stderr.split('\n').filter((line) => line.includes('skipped'));
    assert.deepEqual(said, [`skipped 2 symlinks or special files under ${dir} (not sent)`], bob.stderr);
    await alice.waitForStderr(/notes\/ \(1 file, 4 B\) received, SHA-256 verified/);
    assert.deepEqual(readdirSync(join(downloads, 'notes')), ['real.txt']);
  });
});

describe('who may send: --accept-files policies', { timeout: 60_000 }, () => {
  it('--accept-files declines a first-contact sender (exit 1, nothing written) and accepts one known before it started', async () => {
    const src = writeSampleFiles(tempHome());
    const downloads = join(tempHome(), 'inbox');
    const aliceHome = tempHome();
    const first = await startListener(['--name', 'alice', '--accept-files', '--download-dir', downloads], aliceHome);
    const alice = first.peer;
    const address = `127.0.0.1:${first.port}`;

    const stranger = new PeerProcess(['send', address, src.file, '--name', 'mallory']);
    assert.equal(await stranger.exitCode(30_000), 1, stranger.stderr);
    assertLastLine(stranger, /alice declined big\.bin: only accepting files from known peers$/);
    const refused = await alice.waitForEvent('file-error');
    assert.deepEqual([refused.code, refused.direction, refused.peer], ['ERR_FILE_DECLINED', 'receive', 'mallory']);
    assert.equal(alice.events.some((e) => e.type === 'file-offer'), false, 'no offer is shown for the user to answer');
    assert.equal(existsSync(downloads), false, 'nothing written, not even the download directory');

    // Bob meets alice with a plain connect. That alone does not make him trusted with files by
    // this listener: a stranger could otherwise connect once and come back.
    const bobHome = tempHome();
    const hello = new PeerProcess(['connect', address, '--name', 'bob'], { home: bobHome });
    await alice.waitForEvent('connected', (e) => e.name === 'bob' && e.known === false);
    hello.send('hello first');
    hello.endInput();
    assert.equal(await hello.exitCode(), 0, hello.stderr);
    const early = new PeerProcess(['send', address, src.file, '--name', 'bob'], { home: bobHome });
    assert.equal(await early.exitCode(30_000), 1, early.stderr);
    assertLastLine(early, /only accepting files from known peers$/);
    alice.kill('SIGTERM');
    assert.equal(await alice.exitCode(), 0, alice.stderr);

    // Once alice starts again, bob was known before: his send is accepted without asking.
    const again = await startListener(['--name', 'alice', '--accept-files', '--download-dir', downloads], aliceHome);
    const bob = new PeerProcess(['send', `127.0.0.1:${again.port}`, src.file, src.album, '--name', 'bob'], { home: bobHome });
    assert.equal(await bob.exitCode(30_000), 0, bob.stderr);
    const offer = await again.peer.waitForEvent('file-offer');
    assert.deepEqual([offer.peer, offer.autoAccept], ['bob', true]);
    await again.peer.waitForEvent('file-done');
    assertReceived(downloads, src);
  });

  it('a listener in pipe mode without --accept-files declines at once and says how to accept', async () => {
    // Piped input is chat text (README: slash commands are not interpreted in pipe or JSON mode),
    // so such a listener can never answer /accept: the sender is told at once, not after 5 minutes.
    const src = writeSampleFiles(tempHome());
    const downloads = join(tempHome(), 'inbox');
    const { peer: alice, port } = await textListener(['--download-dir', downloads]);
    const bob = new PeerProcess(['send', `127.0.0.1:${port}`, src.file, '--name', 'bob']);
    assert.equal(await bob.exitCode(30_000), 1, bob.stderr);
    assertLastLine(bob, /alice declined big\.bin: files are accepted only with --accept-files when not at a prompt$/);
    await alice.waitForStderr(/declined big\.bin from bob: files are accepted only with --accept-files when not at a prompt/);
    assert.doesNotMatch(alice.stderr, /\/accept or \/decline/, 'the listener is not told to type a command it cannot');
    assert.equal(existsSync(downloads), false, 'nothing written');
  });

  it('--accept-files takes no value or =any: anything else is a usage error (exit 2)', async () => {
    for (const command of [['listen', '--accept-files=bogus'], ['connect', '127.0.0.1', '--accept-files=everyone']]) {
      const peer = new PeerProcess(command);
      assert.equal(await peer.exitCode(), 2, command.join(' '));
      assert.match(peer.stderr, /^p2p-chat: --accept-files takes no value or =any, not "(bogus|everyone)"\n$/);
    }
  });
});

describe('send: what fails before anything is offered', { timeout: 60_000 }, () => {
  it('a missing path: one line, exit 1, and the peer is not even contacted', async () => {
    const src = writeSampleFiles(tempHome());
    const downloads = tempHome();
    const { peer: alice, port } = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', downloads]);
    const missing = join(dirname(src.file), 'no-such-file.txt');
    for (const paths of [[missing], [src.file, missing, src.album]]) {
      const bob = new PeerProcess(['send', `127.0.0.1:${port}`, ...paths, '--name', 'bob']);
      assert.equal(await bob.exitCode(), 1, bob.stderr);
      assert.equal(bob.stderr, `p2p-chat: cannot send ${missing}: no such file or directory\n`);
    }
    // A later peer is the barrier: anything the failed sends had done would be in the log before it.
    const probe = new PeerProcess(['connect', `127.0.0.1:${port}`, '--name', 'probe', '--json']);
    await alice.waitForEvent('connected', (e) => e.name === 'probe');
    probe.kill('SIGTERM');
    assert.deepEqual(alice.events.filter((e) => e.type === 'connected').map((e) => e.name), ['probe']);
    assert.deepEqual(fileEvents(alice), []);
    assert.deepEqual(readdirSync(downloads), []);
  });

  it('no path at all is a usage error (exit 2)', async () => {
    const bob = new PeerProcess(['send', '127.0.0.1:5999']);
    assert.equal(await bob.exitCode(), 2);
    assert.equal(bob.stderr, 'p2p-chat: send needs at least one file or directory after the target\n');
  });
});
