// The chat's slash commands that only change or show local state: /nick, /who, /peers, /help, and
// the answer to a mistyped command, carried out by the conversation and its answers rendered.
// Messages, /quit and /connect stay with the chat run, which owns sending, exiting and dialling;
// file commands are in file-commands.ts.

import pc from 'picocolors';
import type { LanPeer, WhoEntry } from '../app/app-events.js';
import type { Conversation } from '../app/conversation.js';
import { RENAME_INTERVAL_MS } from '../app/room.js';
import { colourName, formatPeerLine, pathLabel } from './event-format.js';
import type { Frontend } from './frontends.js';
import { COMMAND_HELP, type InputCommand } from './input-commands.js';

export type ChatCommand = Extract<InputCommand, { kind: 'nick' | 'who' | 'peers' | 'help' | 'invalid' }>;

export function runChatCommand(conversation: Conversation, command: ChatCommand, frontend: Frontend): void {
  switch (command.kind) {
    case 'nick': {
      // Done at once, the conversation's `nick` event says so (and sets the prompt).
      const before = conversation.name;
      const { name, deferredMs } = conversation.nick(command.name);
      if (deferredMs !== undefined) {
        const wait = `${Math.ceil(deferredMs / 100) / 10} s`;
        frontend.info(pc.dim(`-- peers take one nickname change every ${RENAME_INTERVAL_MS / 1000} s: you become ${colourName(name)} in ${wait}`));
      } else if (name === before) {
        frontend.info(pc.dim(`-- you keep the nickname ${colourName(name)}`));
      }
      return;
    }
    case 'who':
      showWho(conversation.who(), frontend);
      return;
    case 'peers':
      // Connected means proven to us: a host's members are only its word (path 'forwarded').
      showPeers(conversation.peers(), frontend, new Set(conversation.who().filter((p) => p.path !== 'forwarded').map((p) => p.fingerprint)));
      return;
    case 'help':
      for (const [usage, what] of COMMAND_HELP) frontend.info(`  ${usage.padEnd(16)} ${what}`);
      return;
    case 'invalid':
      frontend.info(pc.yellow(command.message));
      return;
  }
}

/** Everyone in the conversation: peers connected to us, each host's members after it (`via` the host). */
export function showWho(peers: readonly WhoEntry[], frontend: Pick<Frontend, 'info'>): void {
  if (peers.length === 0) {
    frontend.info(pc.dim('nobody is connected'));
    return;
  }
  for (const peer of peers) {
    // Two rows per peer so the full fingerprint fits an 80-column terminal.
    const away = peer.path !== 'forwarded' && peer.away ? pc.yellow(' — away: waiting for the conversation to resume') : '';
    frontend.info(`  ${colourName(peer.name)} (${pathLabel(peer)})${away}`);
    frontend.info(pc.dim(`    fingerprint ${peer.fingerprint}`));
  }
}

/** `peers` is undefined when LAN discovery is off (--no-mdns); `connected`: fingerprints of peers in this chat. */
export function showPeers(peers: readonly LanPeer[] | undefined, frontend: Pick<Frontend, 'info'>, connected: ReadonlySet<string> = new Set()): void {
  if (!peers) {
    frontend.info(pc.dim('LAN discovery is off (--no-mdns)'));
    return;
  }
  if (peers.length === 0) frontend.info(pc.dim('no peers seen on the LAN yet (looking; try again in a few seconds)'));
  for (const peer of peers) frontend.info(`  ${formatPeerLine(peer, connected.has(peer.fingerprint))}`);
}
