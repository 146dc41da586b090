// The two ends of a benchmarked file transfer, as a user starts them: `p2p-chat listen` taking any
// offer into a download directory, and `p2p-chat send`, each in its own process with its own
// home, LAN discovery off, events as JSON, and the exit report preloaded (exit-report.ts).

import { CliProcess, type TimedEvent } from './cli-process.js';
import type { BenchHome } from './temp-homes.js';

export const HOST = '127.0.0.1';

/**
 * `p2p-chat listen --accept-files=any --download-dir DIR --port 0` on loopback, plus `extraArgs`;
 * `cli`: another checkout's bin/p2p-chat.js (ab-transfer.ts).
 */
export function startReceiver(home: BenchHome, downloads: string, extraArgs: readonly string[] = [], cli?: string): CliProcess {
  const args = ['--home', home.dir, 'listen', '--json', '--no-mdns', '--accept-files=any', '--download-dir', downloads, '--port', '0', '--host', HOST];
  return CliProcess.start('p2p-chat listen', [...args, ...extraArgs], { report: true, ...(cli ? { cli } : {}) });
}

/** `p2p-chat send TARGET FILE OPTIONS...` (the options after the file, where no flag can take it for its value). */
export function startSender(home: BenchHome, target: string, file: string, options: readonly string[] = [], cli?: string): CliProcess {
  return CliProcess.start('p2p-chat send', ['--home', home.dir, 'send', target, file, '--json', '--no-mdns', ...options], { report: true, ...(cli ? { cli } : {}) });
}

/**
 * The receiver's file-done, within `ms`. A sender that fails fails this at once, and one that
 * exits cleanly first (its last lines and the receiver's may cross) leaves the receiver a moment.
 */
export function receiverDone(receiver: CliProcess, sender: CliProcess, ms: number): Promise<TimedEvent> {
  const senderFirst = sender.succeeded(ms).then(() => receiver.waitFor('file-done', AFTER_SENDER_MS));
  return Promise.race([receiver.waitFor('file-done', ms), senderFirst]);
}

const AFTER_SENDER_MS = 10_000;
