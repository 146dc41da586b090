// `p2p-chat discover`: list the p2p-chat peers on the LAN (mDNS), or with --watch stream them
// appearing and leaving, each line after its time, until Ctrl-C. With --json every line is a
// `peer-up` / `peer-down` event.

import pc from 'picocolors';
import type { AppEvent } from '../app/app-events.js';
import { PeerDirectory, toEvent } from '../app/peer-directory.js';
import { SYSTEM_CLOCK } from '../clock.js';
import type { P2PChatError } from '../errors.js';
import type { KnownPeers } from '../secure/known-peers.js';
import { clock, formatPeerLine } from './event-format.js';

type PeerEvent = Extract<AppEvent, { type: 'peer-up' | 'peer-down' }>;

/** A line of the list: the peer (`gone: …` once it left). */
export function discoverLine(event: PeerEvent): string {
  return event.type === 'peer-up' ? formatPeerLine(event) : pc.dim(`gone: ${formatPeerLine(event)}`);
}

/** A line of `--watch`: when it was seen, then the peer, as the chat's lines read (`14:05 …`). */
export function watchLine(event: PeerEvent, now: number): string {
  return `${pc.dim(clock(now))} ${discoverLine(event)}`;
}

export interface DiscoverOptions {
  readonly knownPeers: KnownPeers;
  readonly selfFingerprint: string;
  readonly timeoutMs: number;
  readonly watch: boolean;
  readonly json: boolean;
}

/** Resolves with the exit code; rejects when discovery cannot run at all. */
export function discover(options: DiscoverOptions): Promise<number> {
  const directory = new PeerDirectory(options.knownPeers, options.selfFingerprint);
  const print = (event: PeerEvent) => {
    if (options.json) process.stdout.write(JSON.stringify(event) + '\n');
    else process.stdout.write((options.watch ? watchLine(event, SYSTEM_CLOCK.now()) : discoverLine(event)) + '\n');
  };

  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = async (result: number | P2PChatError) => {
      if (finished) return;
      finished = true;
      SYSTEM_CLOCK.clearTimeout(timer);
      await directory.close();
      if (typeof result === 'number') resolve(result);
      else reject(result);
    };
    directory.on('error', (err) => void finish(err));
    if (options.watch) directory.on('event', print);
    directory.browse();

    const timer = options.watch
      ? undefined
      : SYSTEM_CLOCK.setTimeout(() => {
          const entries = directory.entries();
          for (const entry of entries) print(toEvent('peer-up', entry));
          if (entries.length === 0 && !options.json) {
            process.stderr.write(`no peers found on the LAN in ${options.timeoutMs / 1000} s\n`);
          }
          void finish(0);
        }, options.timeoutMs);
    process.once('SIGINT', () => void finish(0));
    process.once('SIGTERM', () => void finish(0));
  });
}
