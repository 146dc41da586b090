// What a typed line means: plain messages, each slash command and its aliases, "//" escapes,
// commands missing their argument, unknown commands and blank lines.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMAND_HELP, parseInput } from '../../../src/cli/input-commands.js';

describe('parseInput', () => {
  it('sends an ordinary line as it was typed', () => {
    assert.deepEqual(parseInput('hello there'), { kind: 'say', text: 'hello there' });
    assert.deepEqual(parseInput('  indented  '), { kind: 'say', text: '  indented  ' });
    assert.deepEqual(parseInput('a / b'), { kind: 'say', text: 'a / b' });
    assert.deepEqual(parseInput('http://example.com'), { kind: 'say', text: 'http://example.com' });
  });

  it('treats an empty or blank line as empty', () => {
    for (const line of ['', ' ', '\t', '   \t  ']) assert.deepEqual(parseInput(line), { kind: 'empty' }, JSON.stringify(line));
  });

  it('sends "//text" as "/text"', () => {
    assert.deepEqual(parseInput('//x'), { kind: 'say', text: '/x' });
    assert.deepEqual(parseInput('//quit now'), { kind: 'say', text: '/quit now' });
    assert.deepEqual(parseInput('//'), { kind: 'say', text: '/' });
    assert.deepEqual(parseInput('///'), { kind: 'say', text: '//' });
  });

  it('/quit and /exit, with or without a reason', () => {
    assert.deepEqual(parseInput('/quit'), { kind: 'quit', reason: '' });
    assert.deepEqual(parseInput('/quit  off to bed  '), { kind: 'quit', reason: 'off to bed' });
    assert.deepEqual(parseInput('/exit'), { kind: 'quit', reason: '' });
    assert.deepEqual(parseInput('/exit bye all'), { kind: 'quit', reason: 'bye all' });
  });

  it('/nick NAME', () => {
    assert.deepEqual(parseInput('/nick alice'), { kind: 'nick', name: 'alice' });
    assert.deepEqual(parseInput('/nick   Alice Smith  '), { kind: 'nick', name: 'Alice Smith' });
  });

  it('/nick without a name is invalid, with the usage', () => {
    assert.deepEqual(parseInput('/nick'), { kind: 'invalid', message: 'usage: /nick NAME' });
    assert.deepEqual(parseInput('/nick    '), { kind: 'invalid', message: 'usage: /nick NAME' });
  });

  it('/me ACTION, and /me without one is invalid', () => {
    assert.deepEqual(parseInput('/me waves'), { kind: 'me', text: 'waves' });
    assert.deepEqual(parseInput('/me  dances a jig '), { kind: 'me', text: 'dances a jig' });
    assert.deepEqual(parseInput('/me'), { kind: 'invalid', message: 'usage: /me ACTION' });
  });

  it('/who, /help and /?', () => {
    assert.deepEqual(parseInput('/who'), { kind: 'who' });
    assert.deepEqual(parseInput('/who ignored'), { kind: 'who' });
    assert.deepEqual(parseInput('/help'), { kind: 'help' });
    assert.deepEqual(parseInput('/?'), { kind: 'help' });
  });

  it('ignores the case of command names', () => {
    assert.deepEqual(parseInput('/QUIT Later'), { kind: 'quit', reason: 'Later' });
    assert.deepEqual(parseInput('/Nick Bob'), { kind: 'nick', name: 'Bob' });
    assert.deepEqual(parseInput('/WHO'), { kind: 'who' });
  });

  it('keeps the text after a command across lines and tabs', () => {
    assert.deepEqual(parseInput('/me\tjumps'), { kind: 'me', text: 'jumps' });
    assert.deepEqual(parseInput('/quit line one\nline two'), { kind: 'quit', reason: 'line one\nline two' });
  });

  it('calls an unknown command invalid, naming it and the // escape', () => {
    const result = parseInput('/frobnicate now');
    assert.equal(result.kind, 'invalid');
    assert.ok(result.kind === 'invalid');
    assert.match(result.message, /unknown command \/frobnicate/);
    assert.match(result.message, /\/help/);
    assert.match(result.message, /\/\/text/);
    assert.deepEqual(parseInput('/Shrug'), {
      kind: 'invalid',
      message: 'unknown command /shrug; type /help (or //text to send it as a message)',
    });
  });

  it('parses /peers and /connect TARGET', () => {
    assert.deepEqual(parseInput('/peers'), { kind: 'peers' });
    assert.deepEqual(parseInput('/connect laptop'), { kind: 'connect', target: 'laptop' });
    assert.deepEqual(parseInput('/CONNECT  192.0.2.7:5050 '), { kind: 'connect', target: '192.0.2.7:5050' });
    assert.equal(parseInput('/connect').kind, 'invalid');
  });

  it('/transfers, and /transfers ID for the files of one', () => {
    assert.deepEqual(parseInput('/transfers'), { kind: 'transfers' });
    assert.deepEqual(parseInput('/transfers 3f2a '), { kind: 'transfers', id: '3f2a' });
    assert.deepEqual(parseInput('/transfers 3f2a 9c0d'), { kind: 'invalid', message: 'usage: /transfers [ID]' });
  });

  // Regression: these used to throw a TypeError (the command regex did not match).
  it('calls a lone slash or a slash before a space invalid, never a crash', () => {
    for (const line of ['/', '/ hello', '/   ', '/\tx']) {
      const result = parseInput(line);
      assert.equal(result.kind, 'invalid', JSON.stringify(line));
      assert.ok(result.kind === 'invalid');
      assert.match(result.message, /\/help/);
    }
  });
});

describe('COMMAND_HELP', () => {
  it('documents every command parseInput knows', () => {
    const documented = COMMAND_HELP.map(([usage]) => usage.split(' ')[0]);
    assert.deepEqual(documented, ['/help', '/who', '/peers', '/connect', '/send', '/accept', '/decline', '/cancel', '/transfers', '/me', '/nick', '/quit', '//text']);
    for (const [usage, text] of COMMAND_HELP) {
      assert.ok(text.length > 0, usage);
      const line = usage.split(' ')[0]!;
      if (line !== '//text') assert.notEqual(parseInput(`${line} x`).kind, 'invalid', line);
    }
  });
});
