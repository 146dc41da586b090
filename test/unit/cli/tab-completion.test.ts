// Tab at the prompt: which word is completed from what, what replaces it, what a second Tab
// lists, paths quoted so that /send reads them back, and the answer as real readline applies it.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { splitArguments } from '../../../src/cli/input-commands.js';
import {
  COMMAND_NAMES,
  completeInput,
  completePath,
  completeWord,
  completionTarget,
  quotePath,
  readDirectory,
  readlineAnswer,
  type Completion,
  type CompletionSources,
  type DirectoryEntry,
} from '../../../src/cli/tab-completion.js';

const file = (name: string): DirectoryEntry => ({ name, directory: false });
const dir = (name: string): DirectoryEntry => ({ name, directory: true });

/** Sources with fixed nicknames, LAN names and one directory listing for every path. */
function sources(entries: readonly DirectoryEntry[] = [], asked: string[] = []): CompletionSources {
  return {
    nicknames: () => ['alice', 'Alina', 'carol'],
    lanNames: () => ['desk', 'laptop'],
    listDirectory: async (d) => {
      asked.push(d);
      return entries;
    },
  };
}

const completion = (word: string, replacement: string, choices: readonly string[]): Completion => ({ word, replacement, choices });

describe('completionTarget', () => {
  it('a slash command at the start of the line', () => {
    assert.deepEqual(completionTarget('/'), { kind: 'command', word: '/' });
    assert.deepEqual(completionTarget('/tra'), { kind: 'command', word: '/tra' });
  });

  it('a nickname in a message, with ": " after one that starts it', () => {
    assert.deepEqual(completionTarget('al'), { kind: 'nickname', word: 'al', suffix: ': ' });
    assert.deepEqual(completionTarget('hi al'), { kind: 'nickname', word: 'al', suffix: ' ' });
    assert.deepEqual(completionTarget('//x al'), { kind: 'nickname', word: 'al', suffix: ' ' });
    assert.deepEqual(completionTarget('/me waves at ca'), { kind: 'nickname', word: 'ca', suffix: ' ' });
    assert.deepEqual(completionTarget('/me ca'), { kind: 'nickname', word: 'ca', suffix: ' ' });
    assert.deepEqual(completionTarget('/quit bye al'), { kind: 'nickname', word: 'al', suffix: ' ' });
  });

  it('a LAN name after /connect, a path after /send', () => {
    assert.deepEqual(completionTarget('/connect la'), { kind: 'lan-name', word: 'la' });
    assert.deepEqual(completionTarget('/CONNECT '), { kind: 'lan-name', word: '' });
    assert.deepEqual(completionTarget('/send '), { kind: 'path', word: '', value: '' });
    assert.deepEqual(completionTarget('/send a.txt src/ma'), { kind: 'path', word: 'src/ma', value: 'src/ma' });
    assert.deepEqual(completionTarget('/send a.txt '), { kind: 'path', word: '', value: '' });
    assert.deepEqual(completionTarget('/send "my no'), { kind: 'path', word: '"my no', value: 'my no', quote: '"' });
    assert.deepEqual(completionTarget("/send 'it''s"), { kind: 'path', word: "'it''s", value: 'its', quote: "'" });
    assert.deepEqual(completionTarget('/send my\\ no'), { kind: 'path', word: 'my\\ no', value: 'my no' });
  });

  it('nothing where no word is being typed, or the command takes none of these', () => {
    for (const line of ['', 'hello ', '/me ', '/nick al', '/accept 3f', '/connect desk now', '/who ']) {
      assert.deepEqual(completionTarget(line), { kind: 'none' }, JSON.stringify(line));
    }
  });
});

describe('completeWord', () => {
  it('completes a single match and adds the suffix', () => {
    assert.deepEqual(completeWord('car', ['alice', 'carol'], ': '), completion('car', 'carol: ', ['carol']));
    assert.deepEqual(completeWord('carol', ['carol'], ' '), completion('carol', 'carol ', ['carol']));
  });

  it('ignores case, and gives the nickname as it is spelt', () => {
    assert.deepEqual(completeWord('CAR', ['carol'], ' '), completion('CAR', 'carol ', ['carol']));
    assert.deepEqual(completeWord('Al', ['alice', 'Alina'], ' '), completion('Al', 'Ali', ['alice', 'Alina']), 'extends the word as typed');
  });

  it('several matches: their common beginning, or the word as it was when there is none longer', () => {
    assert.deepEqual(completeWord('a', ['alice', 'alina'], ' '), completion('a', 'ali', ['alice', 'alina']));
    assert.deepEqual(completeWord('ali', ['alice', 'alina', 'alice'], ' '), completion('ali', 'ali', ['alice', 'alina']));
  });

  it('no match: nothing changes and nothing is listed', () => {
    assert.deepEqual(completeWord('zed', ['alice'], ' '), completion('zed', 'zed', []));
  });

  it('knows every command /help lists, and no alias', () => {
    assert.ok(COMMAND_NAMES.includes('/send') && COMMAND_NAMES.includes('/transfers') && COMMAND_NAMES.includes('/quit'));
    assert.ok(!COMMAND_NAMES.some((c) => c.startsWith('//') || c.includes(' ')), COMMAND_NAMES.join(' '));
    assert.deepEqual(completeWord('/tr', COMMAND_NAMES, ' '), completion('/tr', '/transfers ', ['/transfers']));
    assert.deepEqual(completeWord('/c', COMMAND_NAMES, ' '), completion('/c', '/c', ['/cancel', '/connect']));
  });
});

describe('completePath', () => {
  const target = (line: string) => {
    const t = completionTarget(line);
    assert.equal(t.kind, 'path');
    return t as Extract<typeof t, { kind: 'path' }>;
  };

  it('a file is finished with a space, a directory with / for the next Tab', () => {
    assert.deepEqual(completePath(target('/send no'), [file('notes.txt'), file('a.txt')]), completion('no', 'notes.txt ', ['notes.txt']));
    assert.deepEqual(completePath(target('/send sr'), [dir('src'), file('a.txt')]), completion('sr', 'src/', ['src/']));
    assert.deepEqual(completePath(target('/send src/ma'), [file('main.ts')]), completion('src/ma', 'src/main.ts ', ['main.ts']));
  });

  it('quotes a name with spaces, and keeps a quote the user opened', () => {
    assert.deepEqual(completePath(target('/send my'), [file('my notes.txt')]), completion('my', '"my notes.txt" ', ['my notes.txt']));
    assert.deepEqual(completePath(target("/send 'my"), [file('my notes.txt')]), completion("'my", "'my notes.txt' ", ['my notes.txt']));
    assert.deepEqual(completePath(target('/send "my d'), [dir('my dir')]), completion('"my d', '"my dir/', ['my dir/']));
    assert.deepEqual(completePath(target('/send "my dir/'), [file('a b')]), completion('"my dir/', '"my dir/a b" ', ['a b']));
  });

  it('several matches: the common beginning, then the list', () => {
    const entries = [file('notes one.txt'), file('notes two.txt'), file('other')];
    assert.deepEqual(completePath(target('/send no'), entries), completion('no', '"notes ', ['notes one.txt', 'notes two.txt']));
    assert.deepEqual(completePath(target('/send "notes '), entries), completion('"notes ', '"notes ', ['notes one.txt', 'notes two.txt']));
  });

  it('case matters; dot files only when asked for; ~ becomes ~/', () => {
    const entries = [file('Notes'), file('.hidden'), file('.profile'), file('plain')];
    assert.deepEqual(completePath(target('/send no'), entries).choices, []);
    assert.deepEqual(completePath(target('/send '), entries).choices, ['Notes', 'plain']);
    assert.deepEqual(completePath(target('/send .p'), entries), completion('.p', '.profile ', ['.profile']));
    assert.deepEqual(completePath(target('/send ~'), []), completion('~', '~/', ['~/']));
  });

  it('never offers a name with control or invisible characters', () => {
    const entries = [file('evil\x1b]0;x\x07'), file('zero\u200bwidth'), file('fine')];
    assert.deepEqual(completePath(target('/send '), entries).choices, ['fine']);
  });

  it('reads the directory the path names, as typed', async () => {
    const asked: string[] = [];
    await completeInput('/send a.txt ~/docs/re', sources([], asked));
    await completeInput('/send "my dir/x', sources([], asked));
    await completeInput('/send x', sources([], asked));
    assert.deepEqual(asked, ['~/docs/', 'my dir/', '']);
  });
});

describe('quotePath', () => {
  it('is read back by /send as the same path', () => {
    const names = ['plain', 'my notes.txt', 'it\'s', 'say "hi"', 'back\\slash', 'tab\there', '~/My Docs/a b', 'ünï cødé'];
    for (const name of names) {
      for (const quote of [undefined, '"', "'"] as const) {
        const text = quotePath(name, quote, true);
        assert.deepEqual(splitArguments(text), [name], `${name} as ${text}`);
        assert.ok(text.endsWith(' '), 'a finished path is followed by a space');
      }
    }
  });
});

describe('completeInput', () => {
  it('takes nicknames from the conversation and names from the LAN', async () => {
    assert.deepEqual(await completeInput('ca', sources()), completion('ca', 'carol: ', ['carol']));
    assert.deepEqual(await completeInput('/connect la', sources()), completion('la', 'laptop', ['laptop']));
    assert.deepEqual(await completeInput('/he', sources()), completion('/he', '/help ', ['/help']));
    assert.deepEqual((await completeInput('/nick al', sources())).choices, []);
  });

  it('lists a real directory, a symlink to a directory counted as one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'p2p-chat-complete-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'sub dir'));
    writeFileSync(join(root, 'notes.txt'), 'x');
    symlinkSync(join(root, 'sub dir'), join(root, 'link'));
    const entries = (await readDirectory(root + '/')).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(entries, [dir('link'), file('notes.txt'), dir('sub dir')]);
    assert.deepEqual(await readDirectory(join(root, 'missing')), [], 'an unreadable directory offers nothing');
    const real = { ...sources(), listDirectory: readDirectory };
    assert.deepEqual(await completeInput(`/send ${root}/su`, real), completion(`${root}/su`, `"${root}/sub dir/`, ['sub dir/']));
  });
});

describe('readlineAnswer, as readline applies it', () => {
  /**
   * A terminal-mode readline fed keys, one chunk each (readline completes only on a Tab that ends
   * its chunk: a pasted Tab is text); returns its line after the completer has answered.
   */
  async function typeInto(keys: readonly string[], answer: Completion): Promise<string> {
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const rl = createInterface({
      input,
      output,
      terminal: true,
      completer: (_line: string, done: (err: null, result: [string[], string]) => void) => done(null, readlineAnswer(answer)),
    });
    for (const chunk of keys) {
      input.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const line = rl.line;
    rl.close();
    return line;
  }

  it('inserts what extends the word, replaces a word spelt otherwise, and leaves an undecided one', async () => {
    assert.equal(await typeInto(['hi ca', '\t'], completion('ca', 'carol ', ['carol'])), 'hi carol ');
    assert.equal(await typeInto(['hi CA', '\t'], completion('CA', 'carol ', ['carol'])), 'hi carol ');
    assert.equal(await typeInto(['/send my\\ no', '\t'], completion('my\\ no', '"my notes.txt" ', [])), '/send "my notes.txt" ');
    assert.equal(await typeInto(['al', '\t', '\t'], completion('al', 'al', ['alice', 'alina'])), 'al', 'no tab character, nothing listed by readline');
    assert.deepEqual(readlineAnswer(completion('ali', 'ali', ['alice', 'alina'])), [[], 'ali']);
  });
});
