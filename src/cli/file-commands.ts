// The chat's file commands: /send, /accept, /decline, /cancel and /transfers, carried out by the
// conversation, its answers rendered and every failure shown as one coded line; `p2p-chat send`
// offers its files the way /send does.

import { homedir } from 'node:os';
import pc from 'picocolors';
import type { TransferSummary } from '../app/app-events.js';
import type { Conversation } from '../app/conversation.js';
import { listFiles, type FileList } from '../app/files/file-list.js';
import { chatError, P2PChatError } from '../errors.js';
import { sanitizeText } from '../session/sanitize.js';
import { formatSize } from './byte-format.js';
import { colourName, describeFiles, shortId } from './event-format.js';
import type { Frontend } from './frontends.js';
import type { InputCommand } from './input-commands.js';

export type FileCommand = Extract<InputCommand, { kind: 'send' | 'accept' | 'decline' | 'cancel' | 'transfers' }>;

export function runFileCommand(conversation: Conversation, command: FileCommand, frontend: Frontend): void {
  const fail = (err: unknown) => {
    if (!(err instanceof P2PChatError)) throw err;
    frontend.show({ type: 'error', code: err.code, message: err.message });
  };
  try {
    switch (command.kind) {
      case 'send':
        listFiles(command.paths.map(expandHome))
          .then((list) => offerFiles(conversation, list, frontend))
          .catch(fail);
        return;
      case 'accept':
        conversation.acceptFile(command.id);
        return;
      case 'decline':
        conversation.declineFile(command.id);
        return;
      case 'cancel':
        conversation.cancelFile(command.id);
        return;
      case 'transfers':
        showTransfers(conversation.transfers(), frontend, command.id);
        return;
    }
  } catch (err) {
    fail(err);
  }
}

/** Offer what listFiles found (/send and `p2p-chat send`), saying first what it left out. */
export function offerFiles(conversation: Conversation, list: FileList, frontend: Frontend): TransferSummary[] {
  const skipped = skippedLine(list);
  if (skipped !== undefined) frontend.info(skipped);
  return conversation.offerList(list).transfers;
}

/** e.g. `skipped 2 symlinks or special files under photos (not sent)`, or undefined for none. */
export function skippedLine(list: FileList): string | undefined {
  if (list.skipped === 0) return undefined;
  const what = list.skipped === 1 ? 'symlink or special file' : 'symlinks or special files';
  return pc.yellow(`skipped ${list.skipped} ${what} under ${list.skippedUnder.map(sanitizeText).join(', ')} (not sent)`);
}

/**
 * /transfers: one line per offer or transfer; /transfers ID: those whose id starts with ID, each
 * with every one of its files (and where a received file will be saved when its name is taken).
 */
export function showTransfers(transfers: readonly TransferSummary[], frontend: Pick<Frontend, 'info'>, id?: string): void {
  const shown = id === undefined ? transfers : transfers.filter((t) => t.id.startsWith(id.toLowerCase()));
  if (shown.length === 0) {
    if (id !== undefined) throw chatError('ERR_NO_SUCH_TRANSFER', `no file offer or transfer with id ${sanitizeText(id)}`);
    frontend.info(pc.dim('no file offers or transfers'));
    return;
  }
  for (const t of shown) {
    const arrow = t.direction === 'send' ? `to ${colourName(t.peer)}` : `from ${colourName(t.peer)}`;
    const state = t.state === 'offered' ? (t.direction === 'send' ? 'waiting for an answer' : 'offered: /accept or /decline') : `${formatSize(t.bytes)} of ${formatSize(t.total)}`;
    frontend.info(`  ${pc.bold(shortId(t.id))} ${describeFiles(t.files)} ${arrow}: ${state}`);
    if (id === undefined) continue;
    for (const f of t.files) {
      // Its name is taken in the download directory: where it goes instead.
      const saved = f.savedAs !== undefined ? pc.yellow(` → ${sanitizeText(f.savedAs)}`) : '';
      frontend.info(`    ${sanitizeText(f.path)} ${pc.dim(`(${formatSize(f.size)})`)}${saved}`);
    }
  }
}

/** `~/x` as the shell would read it (a /send path is typed, not globbed by a shell). */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}
