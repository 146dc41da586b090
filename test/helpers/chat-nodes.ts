// ChatNodes and Conversations inside the test process, each with its own temporary home, for
// integration tests that drive the app layer directly over real sockets. cleanupNodes() stops
// them all and removes their homes; call it from after()/afterEach().

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppEvent } from '../../src/app/app-events.js';
import { ChatNode } from '../../src/app/chat-node.js';
import { Conversation, type ConversationOptions } from '../../src/app/conversation.js';
import type { Settings } from '../../src/defaults.js';
import { loadOrCreateIdentity, type Identity } from '../../src/secure/identity-store.js';
import { KnownPeers } from '../../src/secure/known-peers.js';

const nodes: Array<ChatNode | Conversation> = [];
const homes: string[] = [];

/** A new identity and known-peers file in a temporary home (removed by cleanupNodes()). */
export function tempIdentity(): { home: string; identity: Identity; knownPeers: KnownPeers } {
  const home = mkdtempSync(join(tmpdir(), 'p2p-chat-node-'));
  homes.push(home);
  return { home, identity: loadOrCreateIdentity(home), knownPeers: KnownPeers.load(home) };
}

export function tempNode(name: string): ChatNode {
  return tempPeer(name).node;
}

/** A node and the identity it runs as (e.g. for its relay link); `timing` overrides its settings. */
export function tempPeer(name: string, timing?: Partial<Settings>): { node: ChatNode; identity: Identity } {
  const { identity, knownPeers } = tempIdentity();
  const node = new ChatNode({ identity, knownPeers, name, ...(timing ? { timing } : {}) });
  nodes.push(node);
  return { node, identity };
}

/**
 * A conversation of its own identity, not started; unless `options` say otherwise, with LAN
 * discovery off, not listening, and asking about file offers, which would go to `downloads`
 * in its home.
 */
export function tempConversation(name: string, options: Partial<ConversationOptions> = {}): Conversation {
  const { home, identity, knownPeers } = tempIdentity();
  const downloadDir = join(home, 'downloads');
  mkdirSync(downloadDir);
  const conversation = new Conversation({ identity, knownPeers, name, mdns: false, files: { downloadDir, acceptFiles: 'ask' }, ...options });
  nodes.push(conversation);
  return conversation;
}

export function cleanupNodes(): void {
  for (const node of nodes.splice(0)) node.abort();
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Every event a node reports, and a way to wait for one. */
export class EventLog {
  readonly events: AppEvent[] = [];
  #waiters: Array<() => boolean> = [];

  constructor(source: ChatNode | Conversation) {
    source.on('event', (event) => {
      this.events.push(event);
      this.#waiters = this.#waiters.filter((check) => !check());
    });
  }

  until(match: (event: AppEvent) => boolean): Promise<AppEvent> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.events.find(match);
        if (found) resolve(found);
        return found !== undefined;
      };
      if (!check()) this.#waiters.push(check);
    });
  }

  /** How many events of `type` there were (about `fingerprint`, if given). */
  count(type: AppEvent['type'], fingerprint?: string): number {
    return this.events.filter((e) => e.type === type && (fingerprint === undefined || ('fingerprint' in e && e.fingerprint === fingerprint))).length;
  }
}
