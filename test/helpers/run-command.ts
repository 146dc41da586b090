// Run a short command with a time bound: resolve with its stdout, or reject with an error that
// carries the command line and its stderr, so a failed netlab step explains itself.

import { execFile } from 'node:child_process';

export const COMMAND_TIMEOUT_MS = 10_000;

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly code: number | string | null,
  ) {
    super(`\`${command}\` failed (${code ?? 'killed'}): ${stderr.trim() || '(no stderr)'}`);
  }
}

export function runCommand(command: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  const line = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const timedOut = error.killed && error.signal === 'SIGKILL';
      const code = timedOut ? `timed out after ${timeoutMs} ms` : (error.code ?? error.signal ?? null);
      reject(new CommandError(line, stderr || error.message, code));
    });
  });
}
