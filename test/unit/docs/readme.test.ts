// The README is the user's reference: it must list every error code a user can see.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../src/errors.js';
import { REPO_ROOT } from '../../helpers/repo-root.js';

describe('README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('documents every error code', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !readme.includes(`| \`${code}\` |`));
    assert.deepEqual(missing, []);
  });

  it('documents no error code that does not exist', () => {
    const listed = [...readme.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(listed.filter((code) => !(code! in ERROR_CODES)), []);
  });
});

describe('README and the relay options', () => {
  it('documents every relay flag with the default the code uses', async () => {
    const { RELAY_OPTIONS } = await import('../../../src/cli/relay-command.js');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const option of RELAY_OPTIONS) {
      const flag = option.flag.split(' ')[0]!;
      const shown = option.default === '::' ? '`::`' : String(option.default);
      assert.ok(readme.includes(`| \`${flag}\` | ${shown} |`), `${flag} (default ${option.default}) is not in README`);
    }
  });
});

describe('README and the listener options', () => {
  it('documents every setting `listen` takes as a flag, with the default the code uses', async () => {
    const { LISTENER_OPTIONS } = await import('../../../src/cli/listener-options.js');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const option of LISTENER_OPTIONS) {
      const [flag, arg] = option.flag.split(' ');
      const row = `| \`${flag} ${arg!.slice(1, -1).toUpperCase()}\` | \`${option.default}\` |`;
      assert.ok(readme.includes(row), `README has no row ${row}`);
    }
  });
});

/** The wait (s) before try `tries` of a backoff from `initialMs` to `maxMs`, its random source fixed at `random`. */
async function backoffSeconds(initialMs: number, maxMs: number, random: number, tries: number): Promise<number> {
  const { RelayBackoff } = await import('../../../src/app/relay-backoff.js');
  const backoff = new RelayBackoff(initialMs, maxMs, () => random);
  let wait = 0;
  for (let i = 0; i < tries; i++) wait = backoff.next();
  return wait / 1000;
}

describe('README and the relay behaviour', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');

  it('states the reconnect backoff the code uses', async () => {
    const { DEFAULTS } = await import('../../../src/defaults.js');
    const seconds = (random: number, tries: number) => backoffSeconds(DEFAULTS.relayBackoffInitialMs, DEFAULTS.relayBackoffMaxMs, random, tries);
    const first = `the first retry comes after ${await seconds(0, 1)}–${await seconds(1, 1)} s`;
    const last = `up to ${await seconds(0, 50)}–${await seconds(1, 50)} s`;
    assert.ok(readme.includes(first), `README does not say "${first}"`);
    assert.ok(readme.includes(last), `README does not say "${last}"`);
  });

  it('states how often a relay that keeps failing is said to be still retrying', async () => {
    const { STILL_RETRYING_EVERY_MS } = await import('../../../src/cli/notice-lines.js');
    assert.equal(STILL_RETRYING_EVERY_MS, 60_000);
    assert.ok(readme.includes('at most once a minute `relay …: still retrying after N tries'), 'README describes the still-retrying line');
  });

  it('states the budgets the relay answers endpoint probes within', async () => {
    const { REFLECTOR_LIMITS } = await import('../../../src/relay/endpoint-reflector.js');
    const text = `at most ${REFLECTOR_LIMITS.perAddressPerSec} a second to one address (${REFLECTOR_LIMITS.totalPerSec.toLocaleString('en-US')} a second in all)`;
    assert.ok(readme.includes(text), `README does not say "${text}"`);
  });

  it('states how often a peer asks the relay for its UDP endpoint', async () => {
    const { DEFAULTS } = await import('../../../src/defaults.js');
    const text = `asks again every ${DEFAULTS.endpointRefreshMs / 1000} s (\`endpointRefreshMs\`)`;
    assert.ok(readme.includes(text), `README does not say "${text}"`);
  });

  it('states how many relays --relay takes and how a list is tried, with the times the code uses', async () => {
    const { MAX_RELAYS } = await import('../../../src/net/relay-address.js');
    const { DEFAULTS } = await import('../../../src/defaults.js');
    const s = (ms: number) => `${ms / 1000} s`;
    for (const text of [
      `Up to ${MAX_RELAYS} relays, comma-separated`,
      `takes up to ${MAX_RELAYS} relays, comma-separated`,
      `does not take the connection within ${s(DEFAULTS.relayFailoverMs)} (the last of the list gets the connect timeout, ${s(DEFAULTS.connectTimeoutMs)})`,
      `a dead relay tried before the next costs ${s(DEFAULTS.relayFailoverMs)}`,
      `when the keepalive times out (${s(DEFAULTS.keepaliveTimeoutMs)})`,
      `A \`connect\` waits ${s(DEFAULTS.relayRegisterTimeoutMs)} in all`,
      `its share of the connect timeout (${s(DEFAULTS.connectTimeoutMs)} split evenly)`,
    ]) {
      assert.ok(readme.includes(text), `README does not say "${text}"`);
    }
  });

  it('says plainly that lookups list registered peers to anyone', () => {
    assert.match(readme, /anyone can list the registered peers' nicknames, fingerprints, public addresses/);
  });
});

describe('README and the protocol limits', () => {
  it('lists every byte limit on what a peer sends, with the value the code enforces', async () => {
    const { TEXT_LIMITS } = await import('../../../src/session/message-fields.js');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const [limit, bytes] of Object.entries(TEXT_LIMITS)) {
      const row = `| ${limit} | ${bytes.toLocaleString('en-US')} |`;
      assert.ok(readme.includes(row), `README does not have the row "${row}"`);
    }
  });
});

describe('README and the progress rates', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');

  it('states how often a pipe and --json show a transfer\'s progress, as the front ends ask for it', async () => {
    const { JSON_PROGRESS_INTERVAL_MS, PIPE_PROGRESS_INTERVAL_MS } = await import('../../../src/cli/frontends.js');
    assert.equal(JSON_PROGRESS_INTERVAL_MS, 1_000, 'README says file-progress comes at most once a second');
    assert.ok(readme.includes('at most once a second per transfer'));
    const pipe = `in pipe mode a line every ${PIPE_PROGRESS_INTERVAL_MS / 1000} s on stderr`;
    assert.ok(readme.includes(pipe), `README does not say "${pipe}"`);
  });
});

describe('README and the listener\'s forwarding shares', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');

  it('states the rate, burst, hold mark and stall time the code uses', async () => {
    const { DEFAULTS } = await import('../../../src/defaults.js');
    const mib = (bytes: number) => `${bytes / (1024 * 1024)} MiB`;
    const rate = `at most ${mib(DEFAULTS.forwardRateBytesPerSec)} a second of one peer's chat to the others (every copy counted, envelope and all), after a burst of ${mib(DEFAULTS.forwardBurstBytes)}`;
    const hold = `While ${mib(DEFAULTS.forwardHoldBytes)} waits to be sent to one peer`;
    const letGo = `for up to ${DEFAULTS.keepaliveIntervalMs / 2 / 1000} s at a time`;
    const stall = `takes nothing of its queue for ${DEFAULTS.keepaliveTimeoutMs / 1000} s (the keepalive timeout)`;
    for (const text of [rate, hold, letGo, stall]) assert.ok(readme.includes(text), `README does not say "${text}"`);
  });
});

describe('README and resumable conversations', () => {
  const raw = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const readme = raw.replace(/\s+/g, ' ');

  it('documents --resume-window and --keepalive with the defaults the code uses', async () => {
    const { DEFAULTS } = await import('../../../src/defaults.js');
    for (const row of [`| \`--resume-window SECONDS\` | \`${DEFAULTS.resumeWindowMs / 1000}\` |`, `| \`--keepalive SECONDS\` | \`${DEFAULTS.keepaliveIntervalMs / 1000}\` |`]) {
      assert.ok(raw.includes(row), `README has no row ${row}`);
    }
    assert.equal(DEFAULTS.keepaliveTimeoutMs, 3 * DEFAULTS.keepaliveIntervalMs, 'README says a peer silent three times as long is dropped');
  });

  it('states the backoff a dialler reconnects with, as the code uses it', async () => {
    const { DEFAULTS } = await import('../../../src/defaults.js');
    const seconds = (random: number, tries: number) => backoffSeconds(DEFAULTS.reconnectInitialMs, DEFAULTS.reconnectMaxMs, random, tries);
    const first =
      `The first try comes after ${await seconds(0, 1)}–${await seconds(1, 1)} s, ` +
      `and each failed try doubles that window up to ${await seconds(0, 50)}–${await seconds(1, 50)} s`;
    assert.ok(readme.includes(first), `README does not say "${first}"`);
  });

  it('lists the events of acknowledged delivery and resuming in the JSON events table', () => {
    for (const row of [
      '| `delivered` | `id`, `peer`, `fingerprint`, `via?` |',
      '| `reconnecting` | `peer`, `fingerprint`, `code`, `message`, `attempt`, `retryInMs` |',
      '| `reconnected` | `peer`, `fingerprint`, `path`, `address`, `cipher`, `resent`, `downtimeMs` |',
      '| `left` | `name`, `fingerprint`, `reason`, `via?`, `unacknowledged?` |',
      '| `lost` | `name`, `fingerprint`, `code`, `message`, `via?`, `unacknowledged?` |',
    ]) {
      assert.ok(raw.includes(row), `README has no row ${row}`);
    }
  });
});
