// What a terminal or pipe says about a relay that keeps failing: a line when its state or error
// changes, and while the same failure repeats, at most one "still retrying" line a minute, on a
// manual clock. --json is not filtered (it prints every event; see the relay-cli tests).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { AppEvent } from '../../../src/app/app-events.js';
import { NoticeLines, STILL_RETRYING_EVERY_MS } from '../../../src/cli/notice-lines.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const RELAY = 'relay.example:5050';
const refused = { type: 'relay', state: 'disconnected', relay: RELAY, code: 'ERR_CONNECT_REFUSED', message: 'connection refused', retryInMs: 30_000 } as const;

/** Feed `events` at the given times (ms from the start); the lines printed, without colours or clock. */
function printed(events: readonly (readonly [number, AppEvent])[]): string[] {
  const clock = new ManualClock(0);
  const notices = new NoticeLines(clock);
  const lines: string[] = [];
  for (const [at, event] of events) {
    clock.advance(at - clock.now());
    const line = notices.line(event);
    if (line !== null) lines.push(stripVTControlCharacters(line).replace(/^\d\d:\d\d -- /, ''));
  }
  return lines;
}

describe('NoticeLines: relay retries', () => {
  it('eight tries that fail the same way in 45 s are one line', () => {
    const times = [0, 500, 1_500, 3_500, 7_500, 15_000, 30_000, 45_000];
    assert.deepEqual(printed(times.map((at) => [at, refused] as const)), [`relay ${RELAY}: connection refused; retrying in 30 s`]);
  });

  it('the same failure past a minute says it is still retrying, at most once a minute', () => {
    const times = [0, 30_000, STILL_RETRYING_EVERY_MS, 90_000, 2 * STILL_RETRYING_EVERY_MS - 1, 2 * STILL_RETRYING_EVERY_MS];
    assert.deepEqual(printed(times.map((at) => [at, refused] as const)), [
      `relay ${RELAY}: connection refused; retrying in 30 s`,
      `relay ${RELAY}: still retrying after 3 tries (connection refused); next in 30 s`,
      `relay ${RELAY}: still retrying after 6 tries (connection refused); next in 30 s`,
    ]);
  });

  it('a new error, going away or registering is a line of its own; a failure after registering is new again', () => {
    const full = { ...refused, code: 'ERR_RELAY_FULL', message: 'the relay is full' } as const;
    const away = { type: 'relay', state: 'going-away', relay: RELAY, code: 'ERR_RELAY_GOING_AWAY', message: 'going away (restart)', retryInMs: 500 } as const;
    const registered = { type: 'relay', state: 'registered', relay: RELAY, observed: '198.51.100.7:40000' } as const;
    assert.deepEqual(
      printed([[0, away], [1, refused], [2, refused], [3, full], [4, full], [5, registered], [6, refused]]),
      [
        `relay ${RELAY}: going away (restart); retrying in 1 s`,
        `relay ${RELAY}: connection refused; retrying in 30 s`,
        `relay ${RELAY}: the relay is full; retrying in 30 s`,
        `registered with relay ${RELAY} (seen as 198.51.100.7:40000)`,
        `relay ${RELAY}: connection refused; retrying in 30 s`,
      ],
    );
  });

  it('relays of a list, tried in turn, are counted apart: each failure is one line, then each says it is still retrying', () => {
    const OTHER = 'relay-b.example:5050';
    const moving = { ...refused, retryInMs: 0, next: OTHER } as const;
    const waiting = { ...refused, relay: OTHER, message: 'timed out after 10 s' } as const;
    const passes = [0, 30_000, STILL_RETRYING_EVERY_MS].flatMap((at) => [[at, moving], [at + 1, waiting]] as const);
    assert.deepEqual(printed(passes), [
      `relay ${RELAY}: connection refused; trying relay ${OTHER}`,
      `relay ${OTHER}: timed out after 10 s; retrying in 30 s`,
      `relay ${RELAY}: still retrying after 3 tries (connection refused); then relay ${OTHER}`,
      `relay ${OTHER}: still retrying after 3 tries (timed out after 10 s); next in 30 s`,
    ]);
  });

  it('other events read as formatNotice words them, and LAN peers not at all', () => {
    const peer = { name: 'desk', fingerprint: 'F'.repeat(64), addresses: ['192.0.2.9'], port: 5050, lastSeen: '2030-01-01T00:00:00.000Z', known: false, keyChanged: false };
    assert.deepEqual(printed([[0, { type: 'peer-up', ...peer }], [1, { type: 'peer-down', ...peer }], [2, { type: 'error', code: 'ERR_USAGE', message: 'x' }]]), ['error: x']);
  });
});
