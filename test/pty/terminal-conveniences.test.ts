// What irssi and weechat users expect of the prompt, in real tmux panes: Tab completes commands,
// nicknames and /send paths; a mention of your nickname is highlighted and rings the bell (not with
// --no-bell); the window title names the conversation, counts what came while you were away, and
// is given back on exit. tmux reports what it saw: pane_title, window_bell_flag, capture-pane -e.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupPeers, PeerProcess, startListener, tempHome, type PeerProcess as Peer } from '../helpers/peer-process.js';
import { CLI_PATH } from '../helpers/repo-root.js';
import { EXIT_MARK, lastNonEmpty, requireTmux, showingScreens, TMUX_SKIP, TmuxPane, trimmed } from '../helpers/tmux-pane.js';

const SHELL_TITLE = 'shell title';

/**
 * The chat in `dir`, after the shell set a title of its own (to see it given back), with NO_COLOR
 * unset when `colour` (the highlight is an attribute, and NO_COLOR turns every attribute off).
 */
function chatCommand(dir: string, colour: boolean, args: string[]): string[] {
  const script = `printf '\\033]2;${SHELL_TITLE}\\007'; cd "$1" && shift && exec env ${colour ? '-u NO_COLOR' : ''} "$@"`;
  return ['sh', '-c', script, 'sh', dir, process.execPath, CLI_PATH, '--home', tempHome(), '--no-mdns', ...args];
}

/** The prompt row (the last non-empty one), trimmed. */
function promptRow(rows: string[]): string {
  return trimmed(rows)[lastNonEmpty(rows)] ?? '';
}

/** Type `text` and wait until the prompt row reads `expected`. */
async function typeUntil(pane: TmuxPane, text: string, expected: string): Promise<void> {
  await pane.type(text);
  await pane.waitFor((rows) => promptRow(rows) === expected, `the prompt to read ${JSON.stringify(expected)}`);
}

/** Index of the one row that shows `text`, or undefined. */
function rowWith(rows: string[], text: string): number | undefined {
  const i = rows.findIndex((row) => row.includes(text));
  return i < 0 ? undefined : i;
}

/**
 * Whether every character of `text` in a capture-pane -e row is drawn in reverse video: SGR 7
 * turns it on, 27 and 0 (or an empty SGR) off; other escapes are skipped.
 */
function inReverse(styledRow: string, text: string): boolean {
  let plain = '';
  const reverse: boolean[] = [];
  let on = false;
  for (let i = 0; i < styledRow.length; ) {
    const sgr = /^\x1b\[([\d;]*)m/.exec(styledRow.slice(i));
    if (sgr) {
      for (const p of sgr[1]!.split(';')) {
        if (p === '7') on = true;
        else if (p === '27' || p === '0' || p === '') on = false;
      }
      i += sgr[0].length;
      continue;
    }
    plain += styledRow[i];
    reverse.push(on);
    i++;
  }
  const at = plain.indexOf(text);
  assert.ok(at >= 0, `"${text}" is in the row ${JSON.stringify(plain)}`);
  return reverse.slice(at, at + text.length).every(Boolean);
}

describe('terminal conveniences in a real pty (tmux)', { skip: TMUX_SKIP }, () => {
  /** bob: colours on, the bell on, no focus reports (tmux's focus-events off, as by default). */
  const bob = new TmuxPane();
  /** carol: NO_COLOR, --no-bell, and tmux passing focus changes on. */
  const carol = new TmuxPane();
  let alice: Peer;
  /** dave: carol's peer, in pipe mode. */
  let dave: PeerProcess;
  let files: string;

  const step = (body: () => Promise<unknown>) => showingScreens({ bob, carol }, body);
  const title = (pane: TmuxPane) => pane.format('#{pane_title}');
  const bell = (pane: TmuxPane) => pane.format('#{window_bell_flag}');
  const waitTitle = (pane: TmuxPane, expected: string) =>
    step(async () => {
      const deadline = Date.now() + 10_000;
      while ((await title(pane)) !== expected) {
        if (Date.now() > deadline) assert.equal(await title(pane), expected, 'the window title');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  const tabUntil = async (pane: TmuxPane, expected: string) => {
    await pane.press('Tab');
    await pane.waitFor((rows) => promptRow(rows) === expected, `Tab to make the prompt ${JSON.stringify(expected)}`);
  };
  /** Clear the typed line (Ctrl-U) and wait for the empty prompt. */
  const clearLine = async (pane: TmuxPane, prompt: string) => {
    await pane.press('C-u');
    await pane.waitFor((rows) => promptRow(rows) === prompt, 'an empty prompt');
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
    await bob.start(chatCommand(files, true, ['--name', 'bob', 'connect', `127.0.0.1:${listener.port}`]));
    await step(() => bob.waitFor((r) => r.some((row) => row.includes('connected to alice')), '"connected to alice"'));

    dave = new PeerProcess(['--name', 'dave', 'listen', '--port', '0', '--host', '127.0.0.1']);
    const port = (await dave.waitForStderr(/listening on port \d+/)).replace(/\D+/, '');
    await carol.start(chatCommand(files, false, ['--name', 'carol', '--no-bell', 'connect', `127.0.0.1:${port}`]), { focusEvents: true });
    await step(() => carol.waitFor((r) => r.some((row) => row.includes('connected to dave')), '"connected to dave"'));
  });

  after(async () => {
    try {
      await bob.kill();
      await carol.kill();
    } finally {
      await cleanupPeers();
      rmSync(files, { recursive: true, force: true });
    }
  });

  it('titles the window with you and who is here, over the shell title', () =>
    step(async () => {
      await waitTitle(bob, 'p2p-chat: bob with alice');
      await waitTitle(carol, 'p2p-chat: carol with dave');
    }));

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

  it('a mention is highlighted and rings the bell; other messages do neither', () =>
    step(async () => {
      assert.equal(await bell(bob), '0', 'no bell so far');
      alice.send('no names in this one');
      const plain = await bob.waitFor((r) => rowWith(r, 'no names in this one'), 'the plain message');
      assert.equal(await bell(bob), '0', 'a message without your nickname does not ring');
      assert.equal(inReverse((await bob.styledRows())[plain]!, 'no names in this one'), false, 'and is not highlighted');

      alice.send('hey BOB, look');
      const mention = await bob.waitFor((r) => rowWith(r, 'hey BOB, look'), 'the mention');
      assert.equal(await bell(bob), '1', 'a mention rings the bell');
      assert.equal(inReverse((await bob.styledRows())[mention]!, 'hey BOB, look'), true, 'a mention is in reverse video');
    }));

  it('counts messages in the title until you type', () =>
    step(async () => {
      await waitTitle(bob, '(2) p2p-chat: bob with alice');
      await bob.type('x');
      await waitTitle(bob, 'p2p-chat: bob with alice');
      await clearLine(bob, 'bob>');
      alice.send('while bob reads');
      await bob.waitFor((r) => rowWith(r, 'while bob reads'), 'the message');
      assert.equal(await title(bob), '(1) p2p-chat: bob with alice');
    }));

  it('with --no-bell and NO_COLOR a mention neither rings nor is styled; the title still counts it', () =>
    step(async () => {
      dave.send('carol, are you there?');
      const row = await carol.waitFor((r) => rowWith(r, 'carol, are you there?'), 'the mention');
      assert.equal(await bell(carol), '0', '--no-bell: no bell');
      assert.doesNotMatch((await carol.styledRows())[row]!, /\x1b\[[\d;]*m/, 'NO_COLOR: no attributes at all');
      // tmux told carol her window was unfocused (no client is attached): she is away.
      assert.equal(await title(carol), '(1) p2p-chat: carol with dave');
    }));

  it('where the terminal reports focus, coming back clears the count and a message seen is not counted', () =>
    step(async () => {
      carol.attachClient(); // tmux reports focus in
      await waitTitle(carol, 'p2p-chat: carol with dave');
      dave.send('seen as it comes');
      await carol.waitFor((r) => rowWith(r, 'seen as it comes'), 'the message');
      assert.equal(await title(carol), 'p2p-chat: carol with dave', 'not counted while the window has focus');
    }));

  it('pipe mode has no bell, highlight or title: stdout is the text alone', () =>
    step(async () => {
      await typeUntil(carol, 'da', 'carol> da');
      await tabUntil(carol, 'carol> dave:');
      await typeUntil(carol, 'hi', 'carol> dave: hi');
      await carol.press('Enter');
      const line = await dave.waitForLine((l) => l.includes('dave: hi'), 'the mention on dave’s stdout');
      assert.equal(line, 'dave: hi');
      assert.doesNotMatch(dave.stdoutLines.join('\n'), /[\x07\x1b]/);
    }));

  it('/nick retitles; /quit gives the shell its title back', () =>
    step(async () => {
      await typeUntil(bob, '/nick robert', 'bob> /nick robert');
      await bob.press('Enter');
      await waitTitle(bob, 'p2p-chat: robert with alice');
      await typeUntil(bob, '/quit', 'robert> /quit');
      await bob.press('Enter');
      const exit = await bob.waitFor((r) => r.find((row) => row.startsWith(EXIT_MARK)), 'the chat to exit');
      assert.equal(exit.trimEnd(), `${EXIT_MARK}0]`);
      assert.equal(await title(bob), SHELL_TITLE);
    }));
});

describe('Ctrl-Z and fg at the prompt (tmux, bash job control)', { skip: TMUX_SKIP }, () => {
  const pane = new TmuxPane();
  const step = (body: () => Promise<unknown>) => showingScreens({ shell: pane }, body);
  const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

  before(async () => {
    requireTmux();
    await pane.start(['env', 'PS1=$ ', 'bash', '--norc', '--noprofile', '-i'], { focusEvents: true });
    pane.attachClient(); // a focused client: tmux reports focus changes to whoever asked for them
    await step(async () => {
      await pane.waitFor((rows) => promptRow(rows) === '$', 'the shell prompt');
      const chat = [process.execPath, CLI_PATH, '--home', tempHome(), '--name', 'bob', '--no-mdns', 'listen', '--port', '0', '--host', '127.0.0.1'];
      await pane.enter(chat.map(quote).join(' '));
      await pane.waitFor((rows) => promptRow(rows) === 'bob>', 'the chat prompt');
    });
  });

  after(async () => {
    try {
      await pane.kill();
    } finally {
      await cleanupPeers();
    }
  });

  it('stops without passing focus reports to the shell, and takes keys again after fg', () =>
    step(async () => {
      await typeUntil(pane, 'half', 'bob> half');
      await pane.press('C-z');
      await pane.waitFor((rows) => promptRow(rows) === '$' && rows.some((r) => r.includes('Stopped')), 'the job to stop');
      // `cat -v` shows any escape it reads; switching windows away and back makes tmux report focus
      // to a program that asked for reports.
      await pane.enter('cat -v');
      await pane.tmux('new-window', '-d', 'sleep 600', ';', 'select-window', '-t', ':1', ';', 'select-window', '-t', ':0');
      await pane.enter('typed');
      const rows = trimmed(await pane.waitFor((r) => trimmed(r).filter((row) => row === 'typed').length === 2 && r, 'cat to echo "typed"'));
      assert.ok(!rows.some((row) => row.includes('^[')), 'no focus report reached the shell');
      await pane.press('C-d');
      await pane.waitFor((r) => promptRow(r) === '$', 'the shell prompt after cat');
      await pane.enter('fg');
      await pane.waitFor((r) => promptRow(r) === 'bob> half', 'the chat prompt with the half-typed line');
      await typeUntil(pane, ' more', 'bob> half more');
      await pane.press('C-u');
      await typeUntil(pane, '/quit', 'bob> /quit');
      await pane.press('Enter');
      await pane.waitFor((r) => promptRow(r) === '$', 'the shell prompt after /quit');
    }));
});
