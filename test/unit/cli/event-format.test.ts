// How file transfers read in the terminal: what was offered, the verified line with where a taken
// name was saved instead, and the hint after an error that the same files can resume.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { AppEvent } from '../../../src/app/app-events.js';
import { describeFiles, formatMessage, formatNotice } from '../../../src/cli/event-format.js';

const REF = { id: '0123456789abcdef', peer: 'bob', fingerprint: 'F' } as const;

/** The line as read, without colours (picocolors turns them on under CI=true) or its clock. */
function line(event: AppEvent): string {
  return stripVTControlCharacters(formatNotice(event, 0)!).replace(/^\d\d:\d\d -- /, '');
}

/** The notice's lines as read: the first without its clock, the rest as indented. */
function lines(event: AppEvent): string[] {
  return line(event).split('\n');
}

describe('describeFiles', () => {
  it('names a file, a directory (with a slash) or several top-level entries, with count and size', () => {
    assert.equal(describeFiles([{ path: 'trip.tar', size: 1536 }]), 'trip.tar (1.5 KiB)');
    assert.equal(describeFiles([{ path: 'photos/a.jpg', size: 3 }]), 'photos/ (1 file, 3 B)');
    assert.equal(describeFiles([{ path: 'photos/a.jpg', size: 1 }, { path: 'photos/b/c.jpg', size: 1 }]), 'photos/ (2 files, 2 B)');
    assert.equal(
      describeFiles([{ path: 'big.bin', size: 1 }, { path: 'album/a', size: 1 }, { path: 'album/b', size: 1 }]),
      'big.bin, album/ (3 files, 3 B)',
    );
    const many = ['a', 'b', 'c', 'd'].map((path) => ({ path, size: 0 }));
    assert.equal(describeFiles(many), 'a, b, c, … (4 files, 0 B)');
  });

  it('strips control characters and escapes from peer-supplied names', () => {
    assert.equal(describeFiles([{ path: 'evil\x1b[2Jname', size: 0 }]), 'evilname (0 B)');
  });
});

describe('file event lines', () => {
  it('a verified receive says where a name that was taken went instead', () => {
    const files = [
      { path: 'big.bin', size: 10, savedAs: 'big (1).bin' },
      { path: 'album/a', size: 5, savedAs: 'album (1)/a' },
      { path: 'album/b', size: 5, savedAs: 'album (1)/b' },
    ];
    const done = { type: 'file-done', ...REF, direction: 'receive', files, total: 20, resumed: 0, dir: '/in', sha256Verified: true, seconds: 2 } as const;
    assert.equal(line(done), 'big.bin, album/ (3 files, 20 B) received, SHA-256 verified (0:02, 10 B/s); saved as big (1).bin, album (1)/');
    assert.equal(line({ ...done, direction: 'send', files: files.map(({ path, size }) => ({ path, size })) }), 'big.bin, album/ (3 files, 20 B) sent to bob, SHA-256 verified (0:02, 10 B/s)');
  });

  it('a resumed transfer counts only the bytes it carried in its speed, and says it resumed', () => {
    const files = [{ path: 'trip.tar', size: 1000 }];
    const done = { type: 'file-done', ...REF, direction: 'send', files, total: 1000, resumed: 900, sha256Verified: true, seconds: 2 } as const;
    assert.equal(line(done), 'trip.tar (1000 B) sent to bob, SHA-256 verified (0:02, 50 B/s, resumed with 900 B already there)');
  });

  it('an offer of a directory names its first files and how many more, and where to see them all', () => {
    const files = Array.from({ length: 21 }, (_, i) => ({ path: `photos/IMG_${String(i).padStart(4, '0')}.jpg`, size: 1024 }));
    const offer = { type: 'file-offer', ...REF, direction: 'receive', files, total: 21 * 1024, autoAccept: false } as const;
    assert.deepEqual(lines(offer), [
      'bob offers photos/ (21 files, 21 KiB) [012345]: /accept or /decline',
      '         photos/IMG_0000.jpg, photos/IMG_0001.jpg, photos/IMG_0002.jpg and 18 more: /transfers 012345 lists them all',
    ]);
    const few = { ...offer, files: files.slice(0, 2), total: 2048 };
    assert.deepEqual(lines(few), ['bob offers photos/ (2 files, 2.0 KiB) [012345]: /accept or /decline', '         photos/IMG_0000.jpg, photos/IMG_0001.jpg']);
    const plain = { ...offer, files: [{ path: 'a.txt', size: 1 }, { path: 'b.txt', size: 1 }], total: 2 };
    assert.deepEqual(lines(plain), ['bob offers a.txt, b.txt (2 files, 2 B) [012345]: /accept or /decline'], 'every file already named');
    assert.deepEqual(lines({ ...plain, direction: 'send' }), ['offered a.txt, b.txt (2 files, 2 B) to bob [012345]; waiting for an answer']);
  });

  it('an offer says which names are taken in the download directory and what they will be saved as', () => {
    const files = [
      { path: 'trip.tar', size: 10, savedAs: 'trip (1).tar' },
      { path: 'notes.txt', size: 1 },
    ];
    const offer = { type: 'file-offer', ...REF, direction: 'receive', files, total: 11, autoAccept: true } as const;
    assert.deepEqual(lines(offer), [
      'bob sends trip.tar, notes.txt (2 files, 11 B) [012345]; accepting',
      '         trip.tar exists in the download directory: it will be saved as trip (1).tar',
    ]);
    const both = [...files.slice(0, 1), { path: 'album/a', size: 1, savedAs: 'album (2)/a' }, { path: 'album/b', size: 1, savedAs: 'album (2)/b' }];
    assert.deepEqual(lines({ ...offer, files: both, total: 12 }).slice(2), [
      '         trip.tar, album/ exist in the download directory: they will be saved as trip (1).tar, album (2)/',
    ]);
  });

  it('an error that can resume says how, from each side', () => {
    const error = { type: 'file-error', ...REF, code: 'ERR_FILE_CANCELLED', message: 'trip.tar cancelled', resumable: true } as const;
    assert.equal(line({ ...error, direction: 'send' }), '[012345] trip.tar cancelled (send it again to resume)');
    assert.equal(line({ ...error, direction: 'receive' }), '[012345] trip.tar cancelled (a new offer of it resumes)');
    assert.equal(line({ ...error, direction: 'receive', resumable: false }), '[012345] trip.tar cancelled');
  });
});

describe('presence lines (issue 12, item 2)', () => {
  const FP = 'MSFKLRL-Z7MYPHT-CXXITMX-23WIIDH-D2SETXU-SM2BV44-A6PTTCT-WKBEFQI';

  it('someone already in the host\'s conversation is here; someone arriving joined', () => {
    const joined = { type: 'joined', name: 'carol', fingerprint: FP, via: 'alice' } as const;
    assert.equal(line({ ...joined, present: true }), 'carol MSFKLRL is here (via alice)');
    assert.equal(line(joined), 'carol MSFKLRL joined (via alice)');
  });

  it('several conversations are named, with what that means', () => {
    assert.equal(
      line({ type: 'conversations', hosts: ['alice', 'eve'], hosting: false }),
      "you are in 2 conversations now, alice's and eve's: their members cannot see each other's messages (you see both, and yours reach both)",
    );
    assert.equal(
      line({ type: 'conversations', hosts: ['alice', 'eve'], hosting: true }),
      "you are in 3 conversations now, yours, alice's and eve's: their members cannot see each other's messages (you see all of them, and yours reach all of them)",
    );
  });
});

describe('one line format for every message, with its time (issue 12, item 3)', () => {
  /** 09:05 local time, as the chat shows it; the sender's clock says 07:30. */
  const HERE = new Date(2030, 0, 2, 9, 5, 59).getTime();
  const THERE = new Date(2030, 0, 2, 7, 30).getTime();
  const message = { type: 'message', from: 'carol', fingerprint: 'F', text: 'hello', id: 'm1', time: THERE, receivedAt: HERE } as const;
  const plain = (text: string | null) => stripVTControlCharacters(text!);

  it("a peer's message shows when it arrived here, not the sender's clock", () => {
    assert.equal(plain(formatMessage(message, 'bob')), '09:05 carol: hello');
  });

  it('our own line has the same form, our nickname and the time it went out', () => {
    const sent = { type: 'sent', id: 'm2', text: 'hi all', time: HERE, recipients: 2 } as const;
    assert.equal(plain(formatMessage(sent, 'bob')), '09:05 bob: hi all');
    assert.equal(plain(formatMessage({ ...sent, action: true }, 'bob')), '09:05 * bob hi all');
  });

  it('a line typed while a peer is away is marked pending', () => {
    const sent = { type: 'sent', id: 'm3', text: 'are you there', time: HERE, recipients: 1, pending: 1 } as const;
    assert.equal(plain(formatMessage(sent, 'bob')), '09:05 bob: are you there (pending)');
    assert.equal(plain(formatMessage({ ...sent, action: true }, 'bob')), '09:05 * bob are you there (pending)');
  });

  it('a connection over UDP says so; TCP is the unmarked default', () => {
    const line = (event: Parameters<typeof formatNotice>[0]) => plain(formatNotice(event, HERE));
    const bob = { type: 'connected', known: true, cipher: 'ChaChaPoly', name: 'bob', fingerprint: 'ABCDEFG-HIJKLMN', address: '127.0.0.1:5050', path: 'direct', direction: 'outgoing' } as const;
    assert.equal(line({ ...bob, transport: 'udp' }), '09:05 -- connected to bob ABCDEFG (direct 127.0.0.1:5050, udp)');
    assert.equal(line({ ...bob, transport: 'tcp', rttMs: 2 }), '09:05 -- connected to bob ABCDEFG (direct 127.0.0.1:5050, 2 ms)');
  });

  it('a lost connection and its resumption are one line each; later attempts only in --json', () => {
    const base = { peer: 'laptop', fingerprint: 'F', code: 'ERR_CONNECTION_LOST', message: 'connection reset by peer' } as const;
    const line = (event: Parameters<typeof formatNotice>[0]) => plain(formatNotice(event, HERE));
    assert.equal(line({ type: 'reconnecting', ...base, attempt: 1, retryInMs: 200 }), '09:05 -- connection to laptop lost (connection reset by peer); reconnecting…');
    assert.equal(line({ type: 'reconnecting', ...base, attempt: 0, retryInMs: 0 }), '09:05 -- connection to laptop lost (connection reset by peer); waiting for it to reconnect…');
    assert.equal(formatNotice({ type: 'reconnecting', ...base, attempt: 2, retryInMs: 400 }, HERE), null);
    const back = { type: 'reconnected', peer: 'laptop', fingerprint: 'F', path: 'direct', address: '192.0.2.7:5050', cipher: 'AESGCM', resent: 3, downtimeMs: 1_234 } as const;
    assert.equal(line(back), '09:05 -- reconnected to laptop (direct 192.0.2.7:5050) after 1.2 s; 3 messages resent');
    assert.equal(line({ ...back, resent: 0 }), '09:05 -- reconnected to laptop (direct 192.0.2.7:5050) after 1.2 s');
  });

  it('the (via host) marker follows the name in messages and actions alike', () => {
    const forwarded = { ...message, via: 'alice' };
    assert.equal(plain(formatMessage(forwarded, 'bob')), '09:05 carol (via alice): hello');
    assert.equal(plain(formatMessage({ ...forwarded, text: 'waves', action: true }, 'bob')), '09:05 * carol (via alice) waves');
  });

  it('is null for what is not a message', () => {
    assert.equal(formatMessage({ type: 'warning', code: 'ERR_X', message: 'm' }, 'bob'), null);
  });

  it('a notice shows the time it is shown at; a warning or an error stands without one', () => {
    assert.equal(plain(formatNotice({ type: 'nick', oldName: 'bob', name: 'robert' }, HERE)), '09:05 -- you are now known as robert');
    assert.equal(plain(formatNotice({ type: 'warning', code: 'ERR_X', message: 'careful' }, HERE)), 'WARNING: careful');
    assert.equal(plain(formatNotice({ type: 'error', code: 'ERR_X', message: 'failed' }, HERE)), 'error: failed');
  });
});
