// What this end offers for the transport cipher: the speed probe's rule, its cost, its caching,
// and the user's override ($P2P_CHAT_CIPHER, parsed here; the CLI's error is in cipher-cli.test.ts).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import {
  AESGCM_TIME_RATIO,
  aesGcmIsFaster,
  CIPHER_OFFERS,
  offersAesGcm,
  parseCipherOffer,
  timeCiphers,
} from '../../../src/secure/cipher-offer.js';
import { throwsCode } from '../../helpers/assert-code.js';

const OFFER_MODULE = fileURLToPath(new URL('../../../src/secure/cipher-offer.js', import.meta.url));

describe('the cipher probe', () => {
  it('prefers AESGCM unless it takes more than 1.3 times as long as ChaChaPoly', () => {
    assert.equal(AESGCM_TIME_RATIO, 1.3);
    assert.equal(aesGcmIsFaster({ aesgcmMs: 1, chachapolyMs: 1 }), true);
    assert.equal(aesGcmIsFaster({ aesgcmMs: 0.5, chachapolyMs: 1 }), true);
    assert.equal(aesGcmIsFaster({ aesgcmMs: 1.11, chachapolyMs: 1 }), true, 'a probe of AES-NI at its noisiest');
    assert.equal(aesGcmIsFaster({ aesgcmMs: 1.3, chachapolyMs: 1 }), true);
    assert.equal(aesGcmIsFaster({ aesgcmMs: 1.31, chachapolyMs: 1 }), false);
    assert.equal(aesGcmIsFaster({ aesgcmMs: 1.64, chachapolyMs: 1 }), false, 'AES-NI without PCLMULQDQ: table GHASH');
    assert.equal(aesGcmIsFaster({ aesgcmMs: 3.3, chachapolyMs: 1 }), false, 'AES-GCM in software');
  });

  it('takes the fastest of its rounds for each cipher, timing them alternately', () => {
    // A clock where every reading is 1 ms after the last but the 3rd round's AESGCM, which a GC slowed.
    const readings: number[] = [];
    let t = 0;
    const now = () => {
      t += readings.length === 9 ? 50 : 1;
      readings.push(t);
      return t;
    };
    const times = timeCiphers(now);
    assert.equal(readings.length, 2 * 2 * 3, 'start and end of 3 rounds of each cipher');
    assert.deepEqual(times, { aesgcmMs: 1, chachapolyMs: 1 });
  });

  it('costs a few milliseconds, runs once per process and then answers from memory', () => {
    const start = performance.now();
    const first = offersAesGcm();
    const probeMs = performance.now() - start;
    // The budget is ~5 ms (about 3 ms here); the bound leaves room for a loaded test machine.
    assert.ok(probeMs < 50, `the probe took ${probeMs.toFixed(1)} ms`);
    const again = performance.now();
    for (let i = 0; i < 100; i++) assert.equal(offersAesGcm(), first);
    assert.ok(performance.now() - again < probeMs, 'later calls do not probe again');
  });

  it('tells a CPU with AES instructions from one without', { skip: process.arch !== 'x64' && 'OPENSSL_ia32cap only masks x86-64 CPU features' }, () => {
    // The same probe in a child whose OpenSSL is told the CPU has no AES-NI and no PCLMULQDQ.
    const probe = `import('${pathToFileURL(OFFER_MODULE).href}').then((m) => console.log(m.offersAesGcm()))`;
    const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, ['-e', probe], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
    // Software AES-GCM is 3.3x slower; on a loaded machine a probe whose ChaCha rounds were all
    // preempted could still say yes, so it gets three tries, as do the two below.
    const software = [run({ OPENSSL_ia32cap: '~0x200000200000000' })];
    while (software.at(-1) === 'true' && software.length < 3) software.push(run({ OPENSSL_ia32cap: '~0x200000200000000' }));
    assert.equal(software.at(-1), 'false', `software AES-GCM is several times slower (answers: ${software.join(', ')})`);
    // AES-NI without carry-less multiply (1.6-1.8x: GHASH by tables) must not be offered either.
    const noClmul = [run({ OPENSSL_ia32cap: '~0x200000000' })];
    while (noClmul.at(-1) === 'true' && noClmul.length < 3) noClmul.push(run({ OPENSSL_ia32cap: '~0x200000000' }));
    assert.equal(noClmul.at(-1), 'false', `AES-NI without PCLMULQDQ (answers: ${noClmul.join(', ')})`);
    const hardware = /\baes\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    // With AES-NI the ratio is 0.76-1.11 against the 1.3 cut-off; a probe whose AES rounds were
    // all preempted on a loaded machine may still say no, so it gets three tries (a CPU without
    // AES-NI is 3.3x slower and says no every time).
    const answers = [run({})];
    while (hardware && answers.at(-1) === 'false' && answers.length < 3) answers.push(run({}));
    assert.equal(answers.at(-1), String(hardware), `this CPU ${hardware ? 'has' : 'lacks'} AES instructions (answers: ${answers.join(', ')})`);
  });

  it("the user's choice wins over the probe", () => {
    assert.equal(offersAesGcm('aesgcm'), true);
    assert.equal(offersAesGcm('chachapoly'), false);
  });
});

describe('P2P_CHAT_CIPHER', () => {
  it('takes aesgcm or chachapoly; unset or empty leaves it to the probe', () => {
    assert.deepEqual([...CIPHER_OFFERS], ['aesgcm', 'chachapoly']);
    assert.equal(parseCipherOffer('aesgcm', 'P2P_CHAT_CIPHER'), 'aesgcm');
    assert.equal(parseCipherOffer('chachapoly', 'P2P_CHAT_CIPHER'), 'chachapoly');
    assert.equal(parseCipherOffer(undefined, 'P2P_CHAT_CIPHER'), undefined);
    assert.equal(parseCipherOffer('', 'P2P_CHAT_CIPHER'), undefined);
  });

  it('refuses anything else with ERR_USAGE, naming the variable and the choices on one line', () => {
    for (const bad of ['AESGCM', 'aes', 'chacha', ' aesgcm', 'none']) {
      const err = throwsCode(() => parseCipherOffer(bad, 'P2P_CHAT_CIPHER'), 'ERR_USAGE');
      assert.match(err.message, /^P2P_CHAT_CIPHER=".*" is not a cipher; use aesgcm or chachapoly/);
      assert.doesNotMatch(err.message, /\n/);
    }
  });
});
