// What irssi and weechat users expect of the prompt, in a real tmux pane: Tab completes commands,
// nicknames and /send paths, and a second Tab lists the choices.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupPeers, startListener, tempHome, type PeerProcess } from '../helpers/peer-process.js';
import { CLI_PATH } from '../helpers/repo-root.js';
import { lastNonEmpty, requireTmux, showingScreens, TMUX_SKIP, TmuxPane, trimmed } from '../helpers/tmux-pane.js';

/** The chat in `dir` (where /send paths are completed from). */
function chatCommand(dir: string, args: string[]): string[] {
  return ['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', dir, process.execPath, CLI_PATH, '--home', tempHome(), '--no-mdns', ...args];
}

/** The prompt row (the last non-empty one), trimmed. */
function promptRow(rows: string[]): string {
  return trimmed(rows)[lastNonEmpty(rows)] ?? '';
}

/** Index of the one row that shows `text`, or undefined. */
function rowWith(rows: string[], text: string): number | undefined {
  const i = rows.findIndex((row) => row.includes(text));
  return i < 0 ? undefined : i;
}

describe('terminal conveniences in a real pty (tmux)', { skip: TMUX_SKIP }, () => {
  const bob = new TmuxPane();
  let alice: PeerProcess;
  let files: string;

  const step = (body: () => Promise<unknown>) => showingScreens({ bob }, body);
  /** Type `text` and wait until the prompt row reads `expected`. */
  const typeUntil = async (pane: TmuxPane, text: string, expected: string) => {
    await pane.type(text);
    await pane.waitFor((rows) => promptRow(rows) === expected, `the prompt to read ${JSON.stringify(expected)}`);
  };
  const tabUntil = async (pane: TmuxPane, expected: string) => {
    await pane.press('Tab');
    await pane.waitFor((rows) => promptRow(rows) === expected, `Tab to make the prompt ${JSON.stringify(expected)}`);
  };

  before(async () => {
    requireTmux();
    files = mkdtempSync(join(tmpdir(), 'p2p-chat-tab-'));
    writeFileSync(join(files, 'notes one.txt'), 'one');
    writeFileSync(join(files, 'notes two.txt'), 'two');
    mkdirSync(join(files, 'sub'));
    writeFileSync(join(files, 'sub', 'inner.txt'), 'inner');

    const listener = await startListener(['--name', 'alice', '--accept-files=any', '--download-dir', join(files, 'received')]);
    alice = listener.peer;
    await bob.start(chatCommand(files, ['--name', 'bob', 'connect', `127.0.0.1:${listener.port}`]));
    await step(() => bob.waitFor((r) => r.some((row) => row.includes('connected to alice')), '"connected to alice"'));
  });

  after(async () => {
    try {
      await bob.kill();
    } finally {
      await cleanupPeers();
      rmSync(files, { recursive: true, force: true });
    }
  });

  it('Tab completes a slash command', () =>
    step(async () => {
      await typeUntil(bob, '/tra', 'bob> /tra');
      await tabUntil(bob, 'bob> /transfers');
      await bob.press('Enter');
      await bob.waitFor((r) => promptRow(r) === 'bob>' && rowWith(r, 'no file offers or transfers') !== undefined, 'the /transfers answer');
    }));

  it('Tab completes a nickname: "alice: " at the start of a line, "alice " inside it', () =>
    step(async () => {
      await typeUntil(bob, 'AL', 'bob> AL');
      await tabUntil(bob, 'bob> alice:');
      await typeUntil(bob, 'see al', 'bob> alice: see al');
      await tabUntil(bob, 'bob> alice: see alice');
      await typeUntil(bob, 'here', 'bob> alice: see alice here');
      await bob.press('Enter');
      const said = await alice.waitForEvent('message', (e) => e.from === 'bob');
      assert.equal(said.text, 'alice: see alice here');
    }));

  it('Tab completes /send paths, quoted, and a second Tab lists the choices', () =>
    step(async () => {
      await typeUntil(bob, '/send no', 'bob> /send no');
      await tabUntil(bob, 'bob> /send "notes');
      await bob.press('Tab');
      const rows = await bob.waitFor((r) => rowWith(r, 'notes one.txt  notes two.txt') !== undefined && r, 'the listed choices');
      assert.equal(promptRow(rows), 'bob> /send "notes', 'the typed line stays below the list');
      await typeUntil(bob, 't', 'bob> /send "notes t');
      await tabUntil(bob, 'bob> /send "notes two.txt"');
      await typeUntil(bob, 'su', 'bob> /send "notes two.txt" su');
      await tabUntil(bob, 'bob> /send "notes two.txt" sub/');
      await tabUntil(bob, 'bob> /send "notes two.txt" sub/inner.txt');
      await bob.press('Enter');
      const done = await alice.waitForEvent('file-done', (e) => e.direction === 'receive');
      assert.deepEqual((done.files as { path: string }[]).map((f) => f.path).sort(), ['inner.txt', 'notes two.txt']);
    }));
});
