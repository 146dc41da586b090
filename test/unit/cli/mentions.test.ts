// Mentions (a nickname as a whole word, any case, as shown), the window title's text, and when a
// message counts as unread and rings the bell: with and without focus reports from the terminal.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Attention, mentions, windowTitle } from '../../../src/cli/mentions.js';

describe('mentions', () => {
  it('finds the nickname as a whole word, in any case', () => {
    for (const text of ['bob', 'hey bob', 'Bob: look', 'hi BOB!', "bob's idea", '@bob', '(bob)', 'ask bob.', 'x-bob-y']) {
      assert.equal(mentions(text, 'bob'), true, text);
    }
  });

  it('not inside a longer word', () => {
    for (const text of ['bobby', 'kebob', 'bob2', 'bob_x', 'jobs', 'b o b', 'bobé']) assert.equal(mentions(text, 'bob'), false, text);
  });

  it('reads the text as it is shown: invisible characters do not hide a mention', () => {
    assert.equal(mentions('hey b\u200bob', 'bob'), true);
    assert.equal(mentions('hey \x1b[1mbob\x1b[0m', 'bob'), true);
  });

  it('takes names with spaces, punctuation and other scripts literally', () => {
    assert.equal(mentions('ping Émile', 'émile'), true);
    assert.equal(mentions('ping Émilea', 'émile'), false);
    assert.equal(mentions('hi desk 2, hi', 'desk 2'), true);
    assert.equal(mentions('hi d.e (x)', 'd.e (x)'), true);
    assert.equal(mentions('hi dxe (x)', 'd.e (x)'), false, 'a dot in a name is no wildcard');
    assert.equal(mentions('a+b=c', 'a+b'), true);
    assert.equal(mentions('ask 李雷', '李雷'), true);
  });
});

describe('windowTitle', () => {
  it('names you and who is here, and leads with the unread count', () => {
    assert.equal(windowTitle('bob', [], 0), 'p2p-chat: bob (nobody connected)');
    assert.equal(windowTitle('bob', ['alice'], 0), 'p2p-chat: bob with alice');
    assert.equal(windowTitle('bob', ['alice', 'carol'], 3), '(3) p2p-chat: bob with alice, carol');
    assert.equal(windowTitle('bob', ['a', 'b', 'c', 'd', 'e'], 0), 'p2p-chat: bob with a, b, c and 2 more');
  });

  it('sanitises peer names: nothing can end the title escape or start another', () => {
    const title = windowTitle('bob', ['evil\x07\x1b]0;pwned\x07', 'x\x9c\x1b[2J'], 1);
    assert.doesNotMatch(title, /[\x00-\x1f\x7f-\x9f]/);
    assert.equal(title, '(1) p2p-chat: bob with evil, x');
  });
});

describe('Attention', () => {
  it('without focus reports: unread until you type, one bell until you are back', () => {
    const attention = new Attention();
    assert.equal(attention.message(false), false, 'no mention, no bell');
    assert.equal(attention.message(true), true, 'a mention rings');
    assert.equal(attention.message(true), false, 'another mention while away does not');
    assert.equal(attention.unread, 3);
    attention.note('typed');
    assert.equal(attention.unread, 0);
    assert.equal(attention.message(true), true, 'after typing, a mention rings again');
  });

  it('an unanswered focus-in proves nothing: still counted until you type', () => {
    const attention = new Attention();
    attention.note('focus-in');
    attention.message(false);
    assert.equal(attention.unread, 1);
  });

  it('once the terminal reports focus, away means unfocused', () => {
    const attention = new Attention();
    attention.note('focus-out');
    attention.message(false);
    assert.equal(attention.message(true), true);
    assert.equal(attention.unread, 2);
    attention.note('focus-in');
    assert.equal(attention.unread, 0, 'coming back reads them');
    attention.message(false);
    assert.equal(attention.unread, 0, 'a message while focused is seen');
    assert.equal(attention.message(true), true, 'a mention still rings');
    attention.note('focus-out');
    attention.message(false);
    attention.note('typed');
    assert.equal(attention.unread, 0);
  });
});
