// File transfer on a real terminal (tmux). Two interactive prompts: bob types /send, alice is
// asked and types /accept (or /decline); a progress bar row stands above each prompt while the
// data flows, the chat keeps working under it, and at the end both sides say the file was
// verified and the bars are gone. Then `p2p-chat send` alone: its bar on stderr, the verified
// line, exit 0. A TcpProxy slows the sender's uplink so bars can be seen, and stalls it while the
// chat is tried, so nothing depends on how fast the machine is.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupPeers, startListener, tempHome } from '../helpers/peer-process.js';
import { CLI_PATH } from '../helpers/repo-root.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { EXIT_MARK, lastNonEmpty, requireTmux, showingScreens, TMUX_SKIP, TmuxPane, trimmed } from '../helpers/tmux-pane.js';

/** Bob's uplink while the bars are watched: an 8 MiB file takes about 8 s at this rate. */
const SLOW_UPLINK_BYTES_PER_SECOND = 1_000_000;
const BIG_FILE_BYTES = 8 * 1024 * 1024;
/** A cli-progress row (progress-bars.ts): label, 20-cell bar, percentage, sizes, speed. */
const BAR = /^(?<label>.+?) [█░]{20} +\d{1,3}% /;

/** One interactive peer in its own pane. */
class ChatPane {
  readonly pane = new TmuxPane();
  readonly prompt: string;

  constructor(readonly name: string) {
    this.prompt = `${name}>`;
  }

  start(args: string[]): Promise<void> {
    return this.pane.start([process.execPath, CLI_PATH, '--home', tempHome(), '--name', this.name, '--no-mdns', ...args]);
  }

  /** Wait for a row matching `pattern` (trimmed); resolves with its match. */
  row(pattern: RegExp, what: string): Promise<RegExpExecArray> {
    return this.pane.waitFor((rows) => trimmed(rows).map((r) => pattern.exec(r)).find((m) => m !== null) ?? undefined, `${this.name}: ${what}`);
  }

  /** Wait until the screen satisfies `probe` with the prompt on its last line (a redraw is complete). */
  settled(probe: (rows: string[]) => boolean, what: string): Promise<string[]> {
    return this.pane.waitFor((raw) => {
      const rows = trimmed(raw);
      return rows[lastNonEmpty(rows)]!.startsWith(this.prompt) && probe(rows) && rows;
    }, `${this.name}: ${what}`);
  }
}

/** Rows that are progress bars (with their row numbers). */
function bars(rows: string[]): { row: number; label: string }[] {
  return rows.flatMap((text, row) => {
    const match = BAR.exec(text);
    return match ? [{ row, label: match.groups!.label! }] : [];
  });
}

/** Exactly one bar, labelled `label`, in the row right above the prompt. */
function barAbovePrompt(rows: string[], label: string): boolean {
  const shown = bars(rows);
  return shown.length === 1 && shown[0]!.label === label && shown[0]!.row === lastNonEmpty(rows) - 1;
}

describe('file transfer at the interactive prompt (tmux)', { skip: TMUX_SKIP, timeout: 120_000 }, () => {
  const alice = new ChatPane('alice');
  const bob = new ChatPane('bob');
  const downloads = tempHome();
  const sources = tempHome();
  let proxy: TcpProxy | undefined;

  const step = (body: () => Promise<unknown>) => showingScreens({ alice: alice.pane, bob: bob.pane }, body);

  before(() =>
    step(async () => {
      requireTmux();
      await alice.start(['listen', '--port', '0', '--host', '127.0.0.1', '--download-dir', downloads]);
      const port = Number((await alice.row(/listening on port (\d+)/, 'listening'))[1]);
      proxy = new TcpProxy(port, '127.0.0.1', SLOW_UPLINK_BYTES_PER_SECOND);
      await bob.start(['connect', `127.0.0.1:${await proxy.start()}`, '--download-dir', tempHome()]);
      await bob.row(/connected to alice/, 'connected');
      await alice.row(/bob \S+ joined/, 'bob joined');
    }),
  );

  after(async () => {
    try {
      await Promise.all([alice.pane.kill(), bob.pane.kill()]);
      await proxy?.close();
    } finally {
      await cleanupPeers();
    }
  });

  it('/send, /accept: bars above both prompts, chat while they show, verified lines, then no bars', () =>
    step(async () => {
      const content = randomBytes(BIG_FILE_BYTES);
      const file = join(sources, 'big.bin');
      writeFileSync(file, content);

      await bob.pane.enter(`/send ${file}`);
      const offer = await alice.row(/bob offers big\.bin \(8\.0 MiB\) \[([0-9a-f]{6})\]: \/accept or \/decline$/, 'the offer');
      const id = offer[1]!;
      await bob.row(new RegExp(`offered big\\.bin \\(8\\.0 MiB\\) to alice \\[${id}\\]; waiting for an answer$`), 'offered');
      await alice.pane.enter('/transfers');
      await alice.row(new RegExp(`^ {2}${id} big\\.bin \\(8\\.0 MiB\\) from bob: offered: /accept or /decline$`), '/transfers lists the offer');

      await alice.pane.enter('/accept');
      await alice.row(new RegExp(`receiving \\[${id}\\] from bob into ${downloads}$`), 'receiving');
      await alice.settled((rows) => barAbovePrompt(rows, 'big.bin ← bob'), 'a bar above the prompt');
      proxy!.pauseUplink(); // the transfer stalls here, bars and all, until resumeUplink()
      await bob.settled((rows) => barAbovePrompt(rows, 'big.bin → alice'), 'a bar above the prompt');

      // Alice chats under her bar; bob sees it above his, and his bar stays.
      await alice.pane.enter('hello from under the bar');
      const atBob = await bob.settled((rows) => rows.some((r) => /^\d\d:\d\d alice: hello from under the bar$/.test(r)), "alice's message");
      assert.ok(barAbovePrompt(atBob, 'big.bin → alice'), "bob's bar is still right above his prompt");
      await alice.settled(
        (rows) => rows.some((r) => /^\d\d:\d\d alice: hello from under the bar$/.test(r)) && !rows.includes('alice> hello from under the bar') && bars(rows).length === 1,
        'her sent line stays on screen (as her own chat line, in place of what she typed), one bar',
      );
      // Bob answers while his uplink is stalled: it arrives once the link recovers.
      await bob.pane.enter('and back from bob');
      proxy!.resumeUplink(0);
      await alice.row(/^\d\d:\d\d bob: and back from bob$/, "bob's message");

      const verified = 'big\\.bin \\(8\\.0 MiB\\)';
      const doneAtAlice = await alice.settled(
        (rows) => rows.some((r) => new RegExp(`-- ${verified} received, SHA-256 verified \\(`).test(r)),
        'the verified line',
      );
      const doneAtBob = await bob.settled(
        (rows) => rows.some((r) => new RegExp(`-- ${verified} sent to alice, SHA-256 verified \\(`).test(r)),
        'the verified line',
      );
      assert.deepEqual(bars(doneAtAlice), [], "no bar left on alice's screen");
      assert.deepEqual(bars(doneAtBob), [], "no bar left on bob's screen");
      // What each typed under a bar stays on their screen, once (it used to be erased by the next
      // redraw), as their own chat line.
      const once = (rows: string[], line: string) => rows.filter((r) => r === line || r.endsWith(` ${line}`)).length === 1;
      assert.ok(once(doneAtAlice, 'alice: hello from under the bar') && once(doneAtAlice, 'bob: and back from bob'), 'alice: both lines');
      assert.ok(once(doneAtBob, 'bob: and back from bob') && once(doneAtBob, 'alice: hello from under the bar'), 'bob: both lines');
      assert.ok(readFileSync(join(downloads, 'big.bin')).equals(content), 'byte-identical');

      for (const peer of [alice, bob]) {
        await peer.pane.enter('/transfers');
        await peer.settled((rows) => rows.at(lastNonEmpty(rows) - 1) === 'no file offers or transfers', '/transfers: nothing');
      }
    }));

  it('/decline ID: both sides say so, nothing is written, no bar is drawn', () =>
    step(async () => {
      writeFileSync(join(sources, 'notes.txt'), 'not wanted');
      await bob.pane.enter(`/send ${join(sources, 'notes.txt')}`);
      const offer = await alice.row(/bob offers notes\.txt \(10 B\) \[([0-9a-f]{6})\]: \/accept or \/decline$/, 'the offer');
      const id = offer[1]!;
      await alice.pane.enter(`/decline ${id}`);
      const atAlice = await alice.settled((rows) => rows.some((r) => r.endsWith(`-- [${id}] declined notes.txt from bob`)), 'declined');
      const atBob = await bob.settled((rows) => rows.some((r) => r.endsWith(`-- [${id}] alice declined notes.txt`)), 'declined');
      assert.deepEqual([bars(atAlice), bars(atBob)], [[], []]);
      assert.deepEqual(readdirSync(downloads), ['big.bin'], 'nothing new in the download directory');

      await alice.pane.enter('/accept');
      await alice.settled((rows) => rows.at(lastNonEmpty(rows) - 1) === 'error: no pending file offer', 'nothing left to accept');
    }));
});

describe('p2p-chat send on a terminal (tmux)', { skip: TMUX_SKIP, timeout: 60_000 }, () => {
  const pane = new TmuxPane();
  let proxy: TcpProxy | undefined;

  after(async () => {
    try {
      await pane.kill();
      await proxy?.close();
    } finally {
      await cleanupPeers();
    }
  });

  it('draws a cli-progress bar on stderr, then prints the verified line and exits 0', () =>
    showingScreens({ send: pane }, async () => {
      requireTmux();
      const downloads = tempHome();
      const { peer: carol, port } = await startListener(['--name', 'carol', '--accept-files=any', '--download-dir', downloads]);
      proxy = new TcpProxy(port, '127.0.0.1', SLOW_UPLINK_BYTES_PER_SECOND);
      const content = randomBytes(BIG_FILE_BYTES);
      const file = join(tempHome(), 'big.bin');
      writeFileSync(file, content);
      const command = ['send', `127.0.0.1:${await proxy.start()}`, file];
      await pane.start([process.execPath, CLI_PATH, '--home', tempHome(), '--name', 'bob', '--no-mdns', ...command]);

      const partway = (rows: string[]) => trimmed(rows).some((r) => /^big\.bin [█░]{20} +(\d|[1-9]\d)% /.test(r));
      await pane.waitFor(partway, 'a bar partway through');
      proxy.resumeUplink(0); // seen: let the rest through at full speed

      const rows = trimmed(await pane.waitFor((r) => r.some((row) => row.startsWith(EXIT_MARK)) && r, 'send to exit'));
      assert.ok(rows.includes(`${EXIT_MARK}0]`), 'exit status 0');
      // The last line logged above the bar used to be lost when the bar stopped.
      const verified = rows.findIndex((r) => /^\d\d:\d\d -- big\.bin \(8\.0 MiB\) sent to carol, SHA-256 verified \(/.test(r));
      const full = rows.findIndex((r) => /^big\.bin █{20} 100% 8\.0 MiB\/8\.0 MiB /.test(r));
      assert.ok(verified >= 0, 'the verified line');
      assert.ok(full >= 0, 'the bar ends full');
      // The bar is drawn for good before the verified line, which is the last thing printed.
      assert.equal(rows.filter((r) => /^big\.bin [█░]{20} /.test(r)).length, 1, 'one bar on the screen');
      assert.ok(full < verified, 'the full bar comes before the verified line');
      const exit = rows.findIndex((r) => r.startsWith(EXIT_MARK));
      assert.deepEqual(rows.slice(verified + 1, exit).filter((r) => r !== ''), [], 'nothing after the verified line');
      await carol.waitForEvent('file-done');
      assert.ok(readFileSync(join(downloads, 'big.bin')).equals(content), 'byte-identical');
    }));
});
