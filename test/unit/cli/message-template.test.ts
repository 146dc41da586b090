// --format for pipe mode: templates are read once (an unknown placeholder or a stray brace is a
// usage error), then filled per message with every peer-supplied field sanitised. Times are read
// in UTC here so that the local-time fields are the same on every machine.

process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AppEvent } from '../../../src/app/app-events.js';
import { fillMessageTemplate, parseMessageTemplate, TEMPLATE_FIELDS } from '../../../src/cli/message-template.js';
import { REPO_ROOT } from '../../helpers/repo-root.js';

const FP = 'ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX';
const AT = Date.UTC(2030, 0, 31, 9, 5, 7, 123);
const MESSAGE: Extract<AppEvent, { type: 'message' }> = { type: 'message', from: 'piper', fingerprint: FP, text: 'hello', id: 'm1', time: 0, receivedAt: AT };

const fill = (template: string, message = MESSAGE) => fillMessageTemplate(parseMessageTemplate(template), message, AT);

describe('--format templates', () => {
  it('fills every placeholder', () => {
    assert.equal(fill('{time} {name}: {text}'), '09:05:07 piper: hello');
    assert.equal(fill('{date}T{time} {iso}'), '2030-01-31T09:05:07 2030-01-31T09:05:07.123Z');
    assert.equal(fill('{short} {fingerprint}'), `ABCDEFG ${FP}`);
    assert.equal(fill('{kind} {id} [{via}]'), 'message m1 []');
    assert.equal(fill('{kind} {name} {text} (via {via})', { ...MESSAGE, action: true, text: 'waves', via: 'host' }), 'action piper waves (via host)');
  });

  it('keeps literal text, and {{ and }} as braces', () => {
    assert.equal(fill('{{"from":"{name}"}}'), '{"from":"piper"}');
    assert.equal(fill('plain'), 'plain');
    assert.equal(fill(''), '');
  });

  it('sanitises what the peer supplied: no escapes or line breaks reach stdout', () => {
    const hostile = { ...MESSAGE, from: 'evil\x1b[2Jname', text: 'line\x1b]0;title\x07 one\nline two', via: 'h\u202eost' };
    const line = fill('{name}|{text}|{via}', hostile);
    assert.doesNotMatch(line, /[\x00-\x1f\x7f\u202e]/);
    assert.ok(line.startsWith('evilname|'), line);
  });

  it('refuses an unknown placeholder or a stray brace with ERR_USAGE, naming the known ones', () => {
    assert.throws(() => parseMessageTemplate('{time} {nick}: {text}'), {
      code: 'ERR_USAGE',
      message: `--format: unknown placeholder {nick} (known: ${Object.keys(TEMPLATE_FIELDS).map((f) => `{${f}}`).join(' ')})`,
    });
    assert.throws(() => parseMessageTemplate('{name: {text}'), { code: 'ERR_USAGE', message: /unknown placeholder \{name: \{text\}/ });
    assert.throws(() => parseMessageTemplate('{text'), { code: 'ERR_USAGE', message: "--format: '{' at character 1 is not closed (write {{ for a literal brace)" });
    assert.throws(() => parseMessageTemplate('a } b'), { code: 'ERR_USAGE', message: "--format: '}' at character 3 closes nothing (write }} for a literal brace)" });
    assert.throws(() => parseMessageTemplate('{constructor}'), { code: 'ERR_USAGE' });
  });

  it('README lists every placeholder as the code describes it, and only those', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^\| `\{([a-z]+)\}` \| (.*) \|$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(listed, Object.entries(TEMPLATE_FIELDS).map(([field, { help }]) => [field, help]));
  });
});
