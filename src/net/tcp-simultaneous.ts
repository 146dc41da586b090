// TCP simultaneous open, for hole punching: both peers dial each other's public endpoint at the
// same moment, each from the port its relay connection is bound to (so through the NAT mapping the
// relay saw), and the two SYNs cross into one connection. A SYN that reaches the other router before
// its own peer's SYN has left draws a reset, so a refused or reset try is made again after a short
// backoff until the deadline; the retry's SYN then finds the mapping open.

import type { Clock } from '../clock.js';
import { errnoCode } from '../errno-words.js';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort } from './address.js';
import type { ByteStream } from './byte-stream.js';
import { dialTcp } from './tcp-dialer.js';

/** The first retry waits this long, each next one twice as long, up to SIMULTANEOUS_RETRY.maxMs. */
export const SIMULTANEOUS_RETRY = Object.freeze({ firstMs: 50, maxMs: 400 });

/**
 * What may clear up on a later try: the peer's router or host answering with a reset before the
 * peer's own SYN opened the way, and the port or four-tuple still held by the try before.
 */
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EADDRINUSE', 'EADDRNOTAVAIL']);

export interface SimultaneousOptions {
  /** The whole attempt, every try included. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Each failed try that will be made again, with its error (for logs and measurements). */
  readonly onRetry?: (error: P2PChatError, tries: number) => void;
}

/**
 * A connection to `host`:`port` from our `localPort`, which another connection may still be using
 * (dialTcp binds with SO_REUSEADDR). Fails with one ERR_CONNECT_FAILED line: "cannot reach
 * 203.0.113.3:40000 from port 41000: connection refused (12 tries in 5 s)".
 */
export function openSimultaneous(host: string, port: number, localPort: number, options: SimultaneousOptions): Promise<ByteStream> {
  const { timeoutMs, clock, onRetry } = options;
  const deadline = clock.now() + timeoutMs;
  let tries = 0;
  let wait: number = SIMULTANEOUS_RETRY.firstMs;
  return new Promise((resolve, reject) => {
    const where = formatHostPort(host, port);
    const giveUp = (last: P2PChatError) => {
      const said = `cannot reach ${where}: `;
      const why = last.message.startsWith(said) ? last.message.slice(said.length) : last.message;
      const message = `cannot reach ${where} from port ${localPort}: ${why} (${tries} ${tries === 1 ? 'try' : 'tries'} in ${timeoutMs / 1000} s)`;
      reject(chatError('ERR_CONNECT_FAILED', message, last));
    };
    const attempt = () => {
      tries++;
      const left = deadline - clock.now();
      dialTcp(host, port, { timeoutMs: Math.max(left, 1), clock, localPort }).then(resolve, (err: unknown) => {
        const error = P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`);
        const code = errnoCode(error.cause);
        if (code === undefined || !RETRYABLE.has(code) || clock.now() + wait >= deadline) return giveUp(error);
        onRetry?.(error, tries);
        clock.setTimeout(attempt, wait);
        wait = Math.min(wait * 2, SIMULTANEOUS_RETRY.maxMs);
      });
    };
    attempt();
  });
}
