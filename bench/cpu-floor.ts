// file-transfer-direct's CPU floor: the least CPU any program could spend per GiB doing what our two
// ends must do, measured in the same run. socat's two processes give the kernel's copies (read the
// file, both TCP legs, write the file); node:crypto gives SHA-256 twice (both ends hash the file)
// and the cheaper AEAD of the two a session may use once sealing and once opening. Ours ÷ this
// floor is the ratio that counts.

import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { reapedChildrenCpuTimeMs, spawnNode } from './children.js';
import type { CryptoFloorReport, FloorAead } from './crypto-floor-child.js';
import { withTimeout } from './deadline.js';
import { round, summarize } from './stats.js';

const CRYPTO_SCRIPT = fileURLToPath(new URL('./crypto-floor-child.js', import.meta.url));
/** Five passes over 1 GiB take 3-8 s on one core; only a hang reaches this. */
const CRYPTO_TIMEOUT_MS = 120_000;

/** Ours: each end's CPU ms for one GiB, from its exit report. */
export interface OursCpu {
  readonly senderMs: number;
  readonly receiverMs: number;
}

export class CpuFloor {
  readonly #socatSeconds: number[] = [];
  readonly #crypto: CryptoFloorReport[] = [];

  /** Runs `copy` (the socat baseline, whose children all exit within it) and keeps their CPU per GiB. */
  async timeSocat<T>(gib: number, copy: () => Promise<T>): Promise<T> {
    const before = reapedChildrenCpuTimeMs();
    const result = await copy();
    const after = reapedChildrenCpuTimeMs();
    this.#socatSeconds.push((after.user + after.system - before.user - before.system) / 1000 / gib);
    return result;
  }

  /** One measurement of the crypto parts, in a child process; call it between transfers, never during one. */
  async measureCrypto(): Promise<void> {
    const child = spawnNode(CRYPTO_SCRIPT, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (err = (err + text).slice(-2_000)));
    const [code] = (await withTimeout(once(child, 'exit'), CRYPTO_TIMEOUT_MS, 'the crypto floor measurement')) as [number | null];
    if (code !== 0) throw new Error(`the crypto floor measurement exited with status ${String(code)}: ${err.trim() || 'no output'}`);
    this.#crypto.push(JSON.parse(out) as CryptoFloorReport);
  }

  /** The result's floor fields, in CPU seconds per GiB (medians over the runs), against `ours`. */
  result(ours: readonly OursCpu[]): Record<string, unknown> {
    if (this.#crypto.length === 0 || this.#socatSeconds.length === 0 || ours.length === 0) {
      return { cpuFloorError: 'no run measured both socat and ours' };
    }
    const median = (values: readonly number[]) => round(summarize(values).median, 3);
    const aeadSeconds = (aead: FloorAead, pass: 'sealSeconds' | 'openSeconds') => median(this.#crypto.map((c) => c.aead[aead][pass]));
    const aeadCost = (aead: FloorAead) => aeadSeconds(aead, 'sealSeconds') + aeadSeconds(aead, 'openSeconds');
    // Any program doing our work could pick the cheaper AEAD on this CPU, as our peers' probe does.
    const aead: FloorAead = aeadCost('AESGCM') < aeadCost('ChaChaPoly') ? 'AESGCM' : 'ChaChaPoly';
    const parts = {
      socatKernelCopies: median(this.#socatSeconds),
      sha256: median(this.#crypto.map((c) => c.sha256Seconds)),
      aeadSeal: aeadSeconds(aead, 'sealSeconds'),
      aeadOpen: aeadSeconds(aead, 'openSeconds'),
    };
    const floor = parts.socatKernelCopies + 2 * parts.sha256 + parts.aeadSeal + parts.aeadOpen;
    const oursSeconds = median(ours.map((o) => (o.senderMs + o.receiverMs) / 1000));
    const aeadRuns = (name: FloorAead, pass: 'sealSeconds' | 'openSeconds') => this.#crypto.map((c) => round(c.aead[name][pass], 3));
    return {
      cpuFloorSetup:
        'socat: CPU of both socat processes per GiB (cutime + cstime of the benchmark, around the copy); node:crypto in a child process between rounds, one core: SHA-256 of 1 GiB in 64 KiB chunks, ChaCha20-Poly1305 and AES-256-GCM each sealing and opening 1 GiB in 64 KiB records; floor = socat + 2 x SHA-256 + seal + open of the cheaper AEAD (cpuFloorAead)',
      cpuFloorSecondsPerGiB: round(floor, 3),
      cpuFloorAead: aead,
      cpuFloorPartsSecondsPerGiB: parts,
      cpuFloorRunsSecondsPerGiB: {
        socatKernelCopies: this.#socatSeconds.map((s) => round(s, 3)),
        sha256: this.#crypto.map((c) => round(c.sha256Seconds, 3)),
        chaChaPolySeal: aeadRuns('ChaChaPoly', 'sealSeconds'),
        chaChaPolyOpen: aeadRuns('ChaChaPoly', 'openSeconds'),
        aesGcmSeal: aeadRuns('AESGCM', 'sealSeconds'),
        aesGcmOpen: aeadRuns('AESGCM', 'openSeconds'),
      },
      oursCpuSecondsPerGiB: oursSeconds,
      cpuRatioToFloor: round(oursSeconds / floor, 3),
    };
  }
}
