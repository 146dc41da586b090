// The chat's slash commands that only change or show local state: /nick, /who, /peers, /help, and
// the answer to a mistyped command. Messages, /quit and /connect stay with the chat run, which owns
// sending, exiting and dialling; file commands are in file-commands.ts.

import pc from 'picocolors';
import type { ChatNode } from '../app/chat-node.js';
import { toEvent, type PeerDirectory } from '../app/peer-directory.js';
import { colourName, formatPeerLine, pathLabel } from './event-format.js';
import type { Frontend } from './frontends.js';
import { COMMAND_HELP, type InputCommand } from './input-commands.js';

export type ChatCommand = Extract<InputCommand, { kind: 'nick' | 'who' | 'peers' | 'help' | 'invalid' }>;

/** `directory` is undefined when LAN discovery is off (--no-mdns). */
export function runChatCommand(node: ChatNode, directory: PeerDirectory | undefined, command: ChatCommand, frontend: Frontend): void {
  switch (command.kind) {
    case 'nick':
      node.rename(command.name);
      frontend.setPrompt(node.name);
      frontend.info(pc.dim(`-- you are now known as ${colourName(node.name)}`));
      return;
    case 'who':
      showWho(node, frontend);
      return;
    case 'peers':
      showPeers(directory, frontend);
      return;
    case 'help':
      for (const [usage, what] of COMMAND_HELP) frontend.info(`  ${usage.padEnd(16)} ${what}`);
      return;
    case 'invalid':
      frontend.info(pc.yellow(command.message));
      return;
  }
}

function showWho(node: ChatNode, frontend: Frontend): void {
  const peers = node.who();
  if (peers.length === 0) {
    frontend.info(pc.dim('nobody is connected'));
    return;
  }
  for (const peer of peers) {
    // Two rows per peer so the full fingerprint fits an 80-column terminal.
    frontend.info(`  ${colourName(peer.name)} (${pathLabel(peer)})`);
    frontend.info(pc.dim(`    fingerprint ${peer.fingerprint}`));
  }
}

function showPeers(directory: PeerDirectory | undefined, frontend: Frontend): void {
  if (!directory) {
    frontend.info(pc.dim('LAN discovery is off (--no-mdns)'));
    return;
  }
  directory.browse();
  const entries = directory.entries();
  if (entries.length === 0) frontend.info(pc.dim('no peers seen on the LAN yet (looking; try again in a few seconds)'));
  for (const entry of entries) frontend.info(`  ${formatPeerLine(toEvent('peer-up', entry))}`);
}
