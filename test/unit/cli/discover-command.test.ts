// `discover`'s lines: the list as it stands, and with --watch each peer's arrival or departure after
// the time it was seen (issue 12, item 3). Without colours (on under CI=true).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { LanPeer } from '../../../src/app/app-events.js';
import { discoverLine, watchLine } from '../../../src/cli/discover-command.js';

const FP = 'ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX';
const DESK: LanPeer = { name: 'desk', fingerprint: FP, addresses: ['192.0.2.9'], port: 5050, lastSeen: '2030-01-01T00:00:00.000Z', known: true, keyChanged: false };
const AT = new Date(2030, 0, 2, 9, 5).getTime();

describe('discover lines', () => {
  it('the list names each peer; a watch puts the time first', () => {
    assert.equal(stripVTControlCharacters(discoverLine({ type: 'peer-up', ...DESK })), 'desk ABCDEFG  192.0.2.9 port 5050 [known]');
    assert.equal(stripVTControlCharacters(watchLine({ type: 'peer-up', ...DESK }, AT)), '09:05 desk ABCDEFG  192.0.2.9 port 5050 [known]');
    assert.equal(stripVTControlCharacters(watchLine({ type: 'peer-down', ...DESK }, AT)), '09:05 gone: desk ABCDEFG  192.0.2.9 port 5050 [known]');
  });
});
