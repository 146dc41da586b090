// The words a user reads for a system error (file system, sockets, name lookup), one table for
// every place one can surface, so the same failure reads the same wherever it happens.
// P2PChatError.from puts them behind a coded error; nothing else should translate an errno.

/** Plain words for each errno a user can meet; any other errno is shown with Node's message. */
export const ERRNO_WORDS: Readonly<Record<string, string>> = Object.freeze({
  // files
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'disk full',
  EDQUOT: 'disk full',
  EFBIG: 'file too large for this file system',
  EIO: 'input/output error (a failing disk or device)',
  ELOOP: 'refusing to follow a symlink',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENAMETOOLONG: 'file name too long',
  EEXIST: 'already exists',
  EBUSY: 'device or resource busy',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  ENOMEM: 'out of memory',
  // sockets and name lookup
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed by peer',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENETDOWN: 'network is down',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'name lookup failed for now (no DNS server reachable?)',
  EADDRNOTAVAIL: 'no usable local address',
  EADDRINUSE: 'address already in use',
  EAFNOSUPPORT: 'address family not supported (no IPv6 on this machine?)',
});

/** The errno code (`ENOENT`...) an error carries, if it is one. */
export function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What went wrong, in one line: the table's words for a known errno, else the error's message
 * (never its stack), else the value as text.
 */
export function errnoWords(err: unknown): string {
  const code = errnoCode(err);
  if (code !== undefined && Object.hasOwn(ERRNO_WORDS, code)) return ERRNO_WORDS[code]!;
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.split('\n', 1)[0]!.trim();
}
