// The direct file transfer's scp baselines: the same file copied tmpfs to tmpfs by `scp` over
// loopback to the benchmark's own sshd (ssh-server.ts), once with chacha20-poly1305 (the cipher
// our sessions use) and once with aes128-gcm (what OpenSSH prefers where the CPU has AES), each
// timed from scp's start to its exit, in the same rounds as ours and socat.

import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MEGABYTE as MB, type Log } from './bench-result.js';
import { checkScp, SshServer } from './ssh-server.js';
import { round, summarize } from './stats.js';

/** Result field → cipher. */
const CIPHERS = {
  scpChacha20: 'chacha20-poly1305@openssh.com',
  scpAesGcm: 'aes128-gcm@openssh.com',
} as const;
type ScpField = keyof typeof CIPHERS;
/** 1 GiB at a crawling 10 MB/s is 107 s; only a hang reaches this. */
const RUN_TIMEOUT_MS = 180_000;

export class ScpBaselines {
  readonly #server: SshServer | undefined;
  readonly #reason: string | undefined;
  readonly #version: string | undefined;
  readonly #runs: Record<ScpField, number[]> = { scpChacha20: [], scpAesGcm: [] };
  readonly #last: Partial<Record<ScpField, number>> = {};

  private constructor(server: SshServer | undefined, reason: string | undefined, version: string | undefined) {
    this.#server = server;
    this.#reason = reason;
    this.#version = version;
  }

  /** Start sshd; when it or scp cannot run, the baselines carry an `error` and measure nothing. */
  static async start(log: Log): Promise<ScpBaselines> {
    const check = checkScp();
    if (!check.ok) {
      log(`  scp baselines: ${check.reason}; skipped`);
      return new ScpBaselines(undefined, check.reason, undefined);
    }
    try {
      return new ScpBaselines(await SshServer.start(), undefined, check.version);
    } catch (err) {
      const reason = `cannot start sshd: ${(err as Error).message}`;
      log(`  scp baselines: ${reason}; skipped`);
      return new ScpBaselines(undefined, reason, check.version);
    }
  }

  /** One copy per cipher of `source` into `downloads`, to run among a round's contenders; `measured` false for a warm-up. */
  contenders(source: string, downloads: string, measured: boolean): (() => Promise<void>)[] {
    const server = this.#server;
    if (!server) return [];
    return (Object.keys(CIPHERS) as ScpField[]).map((field) => async () => {
      const destination = join(downloads, `${field}.bin`);
      try {
        const start = performance.now();
        await server.copy(source, destination, CIPHERS[field], RUN_TIMEOUT_MS);
        const mbps = statSync(source).size / MB / ((performance.now() - start) / 1000);
        this.#last[field] = mbps;
        if (measured) this.#runs[field].push(mbps);
      } finally {
        rmSync(destination, { force: true });
      }
    });
  }

  /** `, scp-chacha20 N MB/s, scp-aes-gcm M MB/s` for the round just run. */
  lastRunText(): string {
    if (!this.#server) return '';
    return `, scp-chacha20 ${(this.#last.scpChacha20 ?? NaN).toFixed(0)} MB/s, scp-aes-gcm ${(this.#last.scpAesGcm ?? NaN).toFixed(0)} MB/s`;
  }

  /** The result's scp fields: per cipher the median, every run, and ours ÷ the median (`ours` in MB/s). */
  result(ours: number): Record<string, unknown> {
    const fields: Record<string, unknown> = {
      scpSetup:
        'scp -c CIPHER -i KEY -P PORT src 127.0.0.1:dest (SFTP mode) to an sshd of our own on 127.0.0.1 with throwaway ed25519 keys; scp start -> scp exit',
      ...(this.#version ? { scpVersion: this.#version } : {}),
    };
    for (const field of Object.keys(CIPHERS) as ScpField[]) {
      const runs = this.#runs[field];
      if (this.#reason !== undefined || runs.length === 0) {
        fields[field] = { cipher: CIPHERS[field], error: this.#reason ?? 'no run measured' };
        continue;
      }
      const median = round(summarize(runs).median, 1);
      fields[field] = { cipher: CIPHERS[field], mbps: median, runsMBps: runs.map((r) => round(r, 1)), ratio: round(ours / median, 3) };
    }
    return fields;
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
  }
}
