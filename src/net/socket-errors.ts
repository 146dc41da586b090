// Socket errno codes in the words a user reads after "cannot reach host:port: ".

export function describeSocketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by peer';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ENOTFOUND':
      return 'unknown host';
    case 'EADDRNOTAVAIL':
      return 'no usable local address to reach it from';
    case 'EPIPE':
      return 'connection closed by peer';
    default:
      return err.message;
  }
}
