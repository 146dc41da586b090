// Socket errno codes in the words a user reads after "cannot reach host:port: ", from the one
// errno table (src/errno-words.ts).

import { errnoWords } from '../errno-words.js';

export function describeSocketError(err: NodeJS.ErrnoException): string {
  return errnoWords(err);
}
