// What /who, /peers and /transfers print, rendered from the plain data the conversation returns:
// the rows README "In the chat" describes, and a line of its own when there is nothing to list.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { ForwardedPeer, LanPeer, PeerSummary, TransferSummary } from '../../../src/app/app-events.js';
import { showPeers, showWho } from '../../../src/cli/chat-commands.js';
import { showTransfers } from '../../../src/cli/file-commands.js';

const FP = 'ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX';

/** The lines a renderer gives the front end, without colours (on under CI=true). */
function lines(render: (frontend: { info(text: string): void }) => void): string[] {
  const out: string[] = [];
  render({ info: (text) => out.push(stripVTControlCharacters(text)) });
  return out;
}

describe('/who', () => {
  it('two rows per peer: name and path (a UDP one marked), then the full fingerprint', () => {
    const peers: PeerSummary[] = [
      { name: 'laptop', fingerprint: FP, address: '192.0.2.7:5050', path: 'direct', transport: 'tcp', direction: 'outgoing', rttMs: 3 },
      { name: 'far', fingerprint: FP, address: '203.0.113.1:5050', path: 'relayed', transport: 'tcp', via: 'relay.example:5050', direction: 'incoming' },
      { name: 'phone', fingerprint: FP, address: '192.0.2.8:5050', path: 'direct', transport: 'udp', direction: 'incoming', rttMs: 2 },
    ];
    assert.deepEqual(lines((f) => showWho(peers, f)), [
      '  laptop (direct 192.0.2.7:5050, 3 ms)',
      `    fingerprint ${FP}`,
      '  far (relayed via relay.example:5050)',
      `    fingerprint ${FP}`,
      '  phone (direct 192.0.2.8:5050, udp, 2 ms)',
      `    fingerprint ${FP}`,
    ]);
  });

  it("lists a host's members after it, reached through it", () => {
    const host: PeerSummary = { name: 'alice', fingerprint: FP, address: '192.0.2.7:5050', path: 'direct', transport: 'tcp', direction: 'outgoing' };
    const member: ForwardedPeer = { name: 'carol', fingerprint: FP, address: '192.0.2.7:5050', path: 'forwarded', via: 'alice', hostFingerprint: FP, direction: 'outgoing' };
    assert.deepEqual(lines((f) => showWho([host, member], f)), [
      '  alice (direct 192.0.2.7:5050)',
      `    fingerprint ${FP}`,
      '  carol (via alice)',
      `    fingerprint ${FP}`,
    ]);
  });

  it('marks a peer whose connection was lost and whose conversation waits to resume', () => {
    const away: PeerSummary = { name: 'laptop', fingerprint: FP, address: '192.0.2.7:5050', path: 'direct', transport: 'tcp', direction: 'outgoing', away: true };
    assert.deepEqual(lines((f) => showWho([away], f)), [
      '  laptop (direct 192.0.2.7:5050) — away: waiting for the conversation to resume',
      `    fingerprint ${FP}`,
    ]);
  });

  it('says when nobody is connected', () => {
    assert.deepEqual(lines((f) => showWho([], f)), ['nobody is connected']);
  });
});

describe('/peers', () => {
  const peer: LanPeer = { name: 'desk', fingerprint: FP, addresses: ['192.0.2.9', 'fe80::1'], port: 5050, lastSeen: '2030-01-01T00:00:00.000Z', known: true, keyChanged: false };

  it('one row per peer seen on the LAN, or why there is none', () => {
    assert.deepEqual(lines((f) => showPeers([peer], f)), ['  desk ABCDEFG  192.0.2.9, [fe80::1] port 5050 [known]']);
    assert.deepEqual(lines((f) => showPeers([], f)), ['no peers seen on the LAN yet (looking; try again in a few seconds)']);
    assert.deepEqual(lines((f) => showPeers(undefined, f)), ['LAN discovery is off (--no-mdns)']);
  });

  it('marks the peers this chat is already connected to', () => {
    const other: LanPeer = { ...peer, name: 'tower', fingerprint: FP.replace('ABCDEFG', 'ZYXWVUT'), addresses: ['192.0.2.10'], known: false };
    assert.deepEqual(lines((f) => showPeers([peer, other], f, new Set([FP]))), [
      '  desk ABCDEFG  192.0.2.9, [fe80::1] port 5050 [known] [connected]',
      '  tower ZYXWVUT  192.0.2.10 port 5050',
    ]);
  });
});

describe('/transfers', () => {
  it('each offer or transfer by its short id, with its peer and state', () => {
    const offered: TransferSummary = {
      id: '3f2a1b0000000000',
      direction: 'receive',
      peer: 'desk',
      fingerprint: FP,
      files: [{ path: 'trip.tar', size: 2048 }],
      total: 2048,
      bytes: 0,
      state: 'offered',
    };
    const sending: TransferSummary = { ...offered, id: '9c0d000000000000', direction: 'send', bytes: 1024, state: 'active' };
    assert.deepEqual(lines((f) => showTransfers([offered, sending], f)), [
      '  3f2a1b trip.tar (2.0 KiB) from desk: offered: /accept or /decline',
      '  9c0d00 trip.tar (2.0 KiB) to desk: 1.0 KiB of 2.0 KiB',
    ]);
    assert.deepEqual(lines((f) => showTransfers([], f)), ['no file offers or transfers']);
  });

  it('/transfers ID lists every file of that transfer, and where a taken name will be saved', () => {
    const files = [
      { path: 'photos/a.jpg', size: 1024, savedAs: 'photos (1)/a.jpg' },
      { path: 'photos/b\x1b[2J.jpg', size: 2048, savedAs: 'photos (1)/b\x1b[2J.jpg' },
    ];
    const offered: TransferSummary = { id: '3f2a1b0000000000', direction: 'receive', peer: 'desk', fingerprint: FP, files, total: 3072, bytes: 0, state: 'offered' };
    const other: TransferSummary = { ...offered, id: '9c0d000000000000', files: [{ path: 'x.bin', size: 1 }], total: 1 };
    assert.deepEqual(lines((f) => showTransfers([other, offered], f, '3F2A')), [
      '  3f2a1b photos/ (2 files, 3.0 KiB) from desk: offered: /accept or /decline',
      '    photos/a.jpg (1.0 KiB) → photos (1)/a.jpg',
      '    photos/b.jpg (2.0 KiB) → photos (1)/b.jpg',
    ]);
    assert.throws(() => showTransfers([other], { info: () => undefined }, 'ffff'), { code: 'ERR_NO_SUCH_TRANSFER', message: 'no file offer or transfer with id ffff' });
  });
});
