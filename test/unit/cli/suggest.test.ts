// "Did you mean": the edit distance (a swap of neighbours is one edit) and which word is offered
// for a mistyped command or option, and when none is.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance, suggest } from '../../../src/cli/suggest.js';

const COMMANDS = ['listen', 'connect', 'send', 'discover', 'relay', 'id'];
const CONNECT_OPTIONS = ['--name', '--no-mdns', '--relay', '--expect', '--direct-only', '--relay-only', '--accept-files', '--download-dir'];

describe('editDistance', () => {
  const cases: Array<[string, string, number]> = [
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['send', 'send', 0],
    ['conect', 'connect', 1], // a letter left out
    ['connnect', 'connect', 1], // one too many
    ['cannect', 'connect', 1], // one changed
    ['sned', 'send', 1], // two swapped
    ['realy', 'relay', 1],
    ['ca', 'abc', 3], // a swap is not also an edit in between (optimal string alignment)
    ['kitten', 'sitting', 3],
  ];
  for (const [a, b, expected] of cases) {
    it(`${JSON.stringify(a)} → ${JSON.stringify(b)}: ${expected}`, () => {
      assert.equal(editDistance(a, b), expected);
      assert.equal(editDistance(b, a), expected, 'the same both ways');
    });
  }
});

describe('suggest', () => {
  const cases: Array<[string, readonly string[], string | undefined]> = [
    ['conect', COMMANDS, 'connect'],
    ['lisen', COMMANDS, 'listen'],
    ['sned', COMMANDS, 'send'],
    ['realy', COMMANDS, 'relay'],
    ['dicsover', COMMANDS, 'discover'],
    ['CONNECT', COMMANDS, 'connect'],
    ['if', COMMANDS, 'id'], // short words: one edit still counts
    ['disc', COMMANDS, 'discover'], // the only command it begins
    ['con', COMMANDS, 'connect'],
    ['help', COMMANDS, undefined],
    ['chat', COMMANDS, undefined],
    ['se', COMMANDS, undefined], // two characters begin too much to guess from
    ['sedn', COMMANDS, 'send'],
    ['xyzzy', COMMANDS, undefined],
    ['--nmae', CONNECT_OPTIONS, '--name'],
    ['--expct', CONNECT_OPTIONS, '--expect'],
    ['--no-mnds', CONNECT_OPTIONS, '--no-mdns'],
    ['--download-dri', CONNECT_OPTIONS, '--download-dir'],
    ['--rela', CONNECT_OPTIONS, '--relay'], // nearest wins over what it begins ('--relay-only' too)
    ['--direct', CONNECT_OPTIONS, '--direct-only'],
    ['--accept', CONNECT_OPTIONS, '--accept-files'],
    ['--port', CONNECT_OPTIONS, undefined],
    ['-x', CONNECT_OPTIONS, undefined],
    ['conect', [], undefined],
  ];
  for (const [input, candidates, expected] of cases) {
    it(`${input} → ${expected ?? 'no suggestion'}`, () => {
      assert.equal(suggest(input, candidates), expected);
    });
  }

  it('prefers the nearer candidate, and the earlier of two as near', () => {
    assert.equal(suggest('sent', ['send', 'rent']), 'send');
    assert.equal(suggest('sent', ['rent', 'send']), 'rent');
    assert.equal(suggest('abcdef', ['abcxyz', 'abcdxf']), 'abcdxf');
  });
});
