// Waiting on a Conversation's event stream in the benchmarks that drive Conversations in-process.

import type { AppEvent } from '../src/app/app-events.js';
import type { Conversation } from '../src/app/conversation.js';

/** The next event of `conversation` that `match`es (unbounded: wrap it in withTimeout). */
export function nextEvent(conversation: Conversation, match: (e: AppEvent) => boolean): Promise<AppEvent> {
  return new Promise((resolve) => {
    const on = (event: AppEvent) => {
      if (!match(event)) return;
      conversation.off('event', on);
      resolve(event);
    };
    conversation.on('event', on);
  });
}
