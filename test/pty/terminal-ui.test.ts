// The interactive prompt in a real pseudo-terminal: tmux runs `p2p-chat connect` in a fixed 80x24
// pane while a --json listener sends messages into it, and we read the screen back with
// capture-pane. This is what unit tests cannot see: cursor moves, wrapped prompts, and escapes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupPeers, startListener, tempHome, type PeerProcess } from '../helpers/peer-process.js';
import { CLI_PATH } from '../helpers/repo-root.js';
import { COLUMNS, EXIT_MARK, lastNonEmpty, requireTmux, showingScreens, TMUX_SKIP, TmuxPane, trimmed } from '../helpers/tmux-pane.js';

const PROMPT = 'bob> ';

/** The redraw is complete: the bottom line is a prompt again (with or without typed text). */
function promptIsLast(rows: string[]): boolean {
  return rows[lastNonEmpty(rows)]?.startsWith(PROMPT.trimEnd()) ?? false;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Rows holding a chat line from alice with exactly this text (after the HH:MM clock). */
function messageRows(rows: string[], text: string): number[] {
  const out: number[] = [];
  trimmed(rows).forEach((row, i) => {
    if (/^\d\d:\d\d alice: /.test(row) && row.slice('00:00 alice: '.length) === text) out.push(i);
  });
  return out;
}

describe('terminal UI in a real pty (tmux)', { skip: TMUX_SKIP }, () => {
  const pane = new TmuxPane();
  let alice: PeerProcess;
  /** What bob has typed and not yet sent. */
  let typed = '';

  /** Run a step; if it fails, put the screen in the error so the failure shows what bob saw. */
  const step = (body: () => Promise<unknown>) => showingScreens({ bob: pane }, body);

  before(async () => {
    requireTmux();
    const listener = await startListener(['--name', 'alice']);
    alice = listener.peer;
    const home = tempHome();
    await pane.start([process.execPath, CLI_PATH, '--home', home, '--name', 'bob', 'connect', `127.0.0.1:${listener.port}`]);
    await step(() => pane.waitFor((r) => r.some((row) => row.includes('connected to alice')), '"connected to alice"'));
    await alice.waitForEvent('connected', (e) => e.name === 'bob');
  });

  after(async () => {
    try {
      await pane.kill();
    } finally {
      await cleanupPeers();
    }
  });

  it('prints an incoming message above a half-typed line and keeps the typed text', () =>
    step(async () => {
      typed = 'half typed words';
      await pane.type(typed);
      await pane.waitFor((rows) => trimmed(rows).includes(PROMPT + typed), 'the typed text');
      alice.send('incoming message from alice');
      const shown = (r: string[]) => messageRows(r, 'incoming message from alice').length > 0 && promptIsLast(r) && r;
      const rows = trimmed(await pane.waitFor(shown, 'the message and the prompt'));

      const last = lastNonEmpty(rows);
      assert.equal(rows[last], PROMPT + typed, 'the last line is the prompt with the typed text intact');
      assert.deepEqual(messageRows(rows, 'incoming message from alice'), [last - 1], 'printed once, right above the prompt');
      assert.equal(count(rows.join('\n'), typed), 1, 'the typed text is on screen once');
      assert.equal(count(rows.join('\n'), PROMPT.trim()), 1, 'one prompt on screen');
      assert.ok(rows.slice(0, last - 1).some((r) => r.includes('connected to alice')), 'earlier lines stay above');
    }));

  it('redraws a prompt that wraps over several rows, message after message', () =>
    step(async () => {
      // 30 numbered words: every fragment is unique, so a duplicate or a leftover is easy to spot.
      const words = Array.from({ length: 30 }, (_, i) => `w${String(i).padStart(3, '0')}`).join(' ');
      typed += ' ' + words;
      const promptRows = Math.ceil((PROMPT + typed).length / COLUMNS);
      assert.equal(promptRows, 3, 'test setup: the prompt line should wrap onto three rows');
      await pane.type(' ' + words);
      await pane.waitFor((rows) => trimmed(rows).some((r) => r.endsWith('w029')), 'the long typed text');

      // Two messages: the second redraw starts from a prompt that readline itself last drew.
      for (const text of ['first while wrapped', 'second while wrapped']) {
        alice.send(text);
        const shown = (r: string[]) => messageRows(r, text).length > 0 && r[lastNonEmpty(r)]!.trimEnd().endsWith('w029');
        await pane.waitFor(shown, `"${text}" and the prompt`);
      }
      const rows = await pane.rows();
      const clean = trimmed(rows);
      const last = lastNonEmpty(clean);
      const top = last - promptRows + 1;
      assert.ok(clean[top]!.startsWith(PROMPT), `the prompt starts ${promptRows} rows above the bottom`);
      assert.equal(rows.slice(top, last + 1).join('').trimEnd(), PROMPT + typed, 'the wrapped rows join back up');
      assert.deepEqual(messageRows(clean, 'first while wrapped'), [top - 2], 'first message once, above the second');
      assert.deepEqual(messageRows(clean, 'second while wrapped'), [top - 1], 'second message once, right above the prompt');
      assert.deepEqual(messageRows(clean, 'incoming message from alice'), [top - 3], 'the earlier message stays, once');
      const above = clean.slice(0, top).join('\n');
      assert.ok(!/w0\d\d|half typed|bob>/.test(above), 'no fragment of an old prompt is left above the messages');
      assert.equal(count(clean.join('\n'), PROMPT.trim()), 1, 'one prompt on screen');
      assert.equal(count(rows.join(''), typed), 1, 'the typed text is on screen once');
    }));

  it('sends exactly the typed text on Enter', () =>
    step(async () => {
      await pane.press('Enter');
      const received = await alice.waitForEvent('message', (e) => e.from === 'bob');
      assert.equal(received.text, typed);
      assert.equal(alice.events.filter((e) => e.type === 'message').length, 1, 'one message sent');
      await pane.waitFor((rows) => trimmed(rows)[lastNonEmpty(rows)] === PROMPT.trimEnd(), 'an empty prompt');
      typed = '';
    }));

  it('your own line reads like everyone else\'s: the typed echo becomes "HH:MM bob: text" (issue 12)', () =>
    step(async () => {
      const own = (text: string) => (r: string[]) => trimmed(r).filter((row) => /^\d\d:\d\d bob: /.test(row) && row.slice('00:00 bob: '.length) === text);
      await pane.enter('my own words');
      await alice.waitForEvent('message', (e) => e.text === 'my own words');
      let rows = trimmed(await pane.waitFor((r) => own('my own words')(r).length > 0 && promptIsLast(r) && r, 'our own line'));
      assert.equal(rows[lastNonEmpty(rows)], PROMPT.trimEnd(), 'an empty prompt below it');
      assert.equal(own('my own words')(rows).length, 1, 'shown once');
      assert.ok(!rows.some((row) => row.startsWith(PROMPT) && row.includes('my own words')), 'the typed echo is gone');

      // A line wrapped over two rows as typed: all of its echo goes, and its line is whole.
      const long = Array.from({ length: 18 }, (_, i) => `own${String(i).padStart(2, '0')}`).join(' ');
      assert.equal(Math.ceil((PROMPT + long).length / COLUMNS), 2, 'test setup: the typed line wraps');
      await pane.enter(long);
      await alice.waitForEvent('message', (e) => e.text === long);
      const shown = (r: string[]) => r.some((row) => /^\d\d:\d\d bob: own00/.test(row)) && promptIsLast(r) && r;
      rows = await pane.waitFor(shown, 'the long line of ours');
      const start = trimmed(rows).findIndex((row) => /^\d\d:\d\d bob: own00/.test(row));
      assert.equal(rows.slice(start, start + 2).join('').trimEnd(), `${rows[start]!.slice(0, 5)} bob: ${long}`, 'our line, whole');
      assert.equal(count(rows.join(''), 'own17'), 1, 'no leftover of the echo');
      assert.equal(trimmed(rows)[start + 2], PROMPT.trimEnd(), 'the prompt right below');
    }));

  it('strips escape sequences from peer text instead of letting them drive the terminal', () =>
    step(async () => {
      alice.send('evil\x1b[2J\x1b]0;pwned\x07 text');
      const shown = (r: string[]) => messageRows(r, 'evil text').length > 0 && promptIsLast(r) && r;
      const rows = trimmed(await pane.waitFor(shown, '"evil text" and the prompt'));
      const screen = rows.join('\n');
      assert.ok(screen.includes('connected to alice'), 'the screen was not cleared');
      assert.equal(messageRows(rows, 'evil text').length, 1, 'the message is shown once, escapes stripped');
      assert.equal(messageRows(rows, 'incoming message from alice').length, 1, 'earlier messages are still shown');
      assert.ok(!screen.includes('pwned'), 'the title text is not printed');
      const title = await pane.format('#{pane_title}');
      assert.ok(!title.includes('pwned'), 'the peer did not set the pane title');
      assert.equal(title, '(1) p2p-chat: bob with alice', 'the title is the chat\'s own (one message unread)');
      assert.equal(rows[lastNonEmpty(rows)], PROMPT.trimEnd(), 'the prompt is redrawn below');
    }));

  it('/me, /who and /nick work at the prompt', () =>
    step(async () => {
      await pane.type('/me waves');
      await pane.press('Enter');
      const action = await alice.waitForEvent('message', (e) => e.text === 'waves');
      assert.equal(action.action, true);
      assert.equal(action.from, 'bob');
      const acted = trimmed(await pane.waitFor((r) => r.some((row) => /^\d\d:\d\d \* bob waves$/.test(row.trimEnd())) && r, 'our action line'));
      assert.ok(!acted.some((row) => row.includes('/me waves')), 'the typed /me is replaced by the action line');

      const aliceFp = String(alice.events.find((e) => e.type === 'listening')!.fingerprint);
      await pane.type('/who');
      await pane.press('Enter');
      const rows = trimmed(await pane.waitFor((r) => r.some((row) => row.includes(aliceFp)) && r, 'the /who lines'));
      const fpRow = rows.findIndex((row) => row.includes(aliceFp));
      assert.equal(rows[fpRow], `    fingerprint ${aliceFp}`);
      assert.match(rows[fpRow - 1]!, /^ {2}alice \(direct 127\.0\.0\.1:\d+(, \d+ ms)?\)$/);

      await pane.type('/nick robert');
      await pane.press('Enter');
      const renamed = await alice.waitForEvent('renamed');
      assert.equal(renamed.oldName, 'bob');
      assert.equal(renamed.name, 'robert');
      await pane.waitFor((r) => trimmed(r)[lastNonEmpty(r)] === 'robert>', 'the prompt to show the new name');
    }));

  it('/quit tells the peer the reason and exits with status 0', () =>
    step(async () => {
      await pane.type('/quit see you');
      await pane.press('Enter');
      const left = await alice.waitForEvent('left', (e) => e.name === 'robert');
      assert.equal(left.reason, 'see you');
      const exitLine = await pane.waitFor((r) => r.find((row) => row.startsWith(EXIT_MARK)), 'the chat process to exit');
      assert.equal(exitLine.trimEnd(), `${EXIT_MARK}0]`, 'exit status');
    }));
});
