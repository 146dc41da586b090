// How pipe mode writes a received message on stdout: its text alone by default, or with --format
// a template such as '{time} {name}: {text}'. Pure: a template is read once at start (an unknown
// placeholder is a usage error, before anything runs), then filled for each message, every field
// a peer supplied sanitised as for the terminal. README "Pipes" lists the fields from this table.

import type { AppEvent } from '../app/app-events.js';
import { chatError } from '../errors.js';
import { shortFingerprint } from '../secure/fingerprint.js';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';

type Message = Extract<AppEvent, { type: 'message' }>;

interface Field {
  readonly help: string;
  /** The field's text for `message`, received at `receivedAt` (ms since the epoch). */
  readonly value: (message: Message, receivedAt: number) => string;
}

const two = (n: number) => String(n).padStart(2, '0');

/** Every placeholder a template may use, in the order README lists them. */
export const TEMPLATE_FIELDS: Readonly<Record<string, Field>> = Object.freeze({
  time: {
    help: 'when the message arrived, local time, `HH:MM:SS`',
    value: (_, at) => {
      const d = new Date(at);
      return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    },
  },
  date: {
    help: 'the local date it arrived, `YYYY-MM-DD`',
    value: (_, at) => {
      const d = new Date(at);
      return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
    },
  },
  iso: { help: 'when it arrived, ISO 8601 in UTC (`2030-01-31T09:05:07.123Z`)', value: (_, at) => new Date(at).toISOString() },
  name: { help: "the sender's nickname", value: (m) => sanitizeName(m.from) },
  fingerprint: { help: "the sender's full fingerprint (its key, proved by the handshake or vouched for by the host)", value: (m) => sanitizeText(m.fingerprint) },
  short: { help: "the sender's short fingerprint (first 7 characters)", value: (m) => sanitizeText(shortFingerprint(m.fingerprint)) },
  text: { help: 'the message', value: (m) => sanitizeText(m.text) },
  kind: { help: '`message`, or `action` for a `/me` action', value: (m) => (m.action ? 'action' : 'message') },
  via: { help: 'the nickname of the host that passed the message on; empty when it came from its sender directly', value: (m) => (m.via === undefined ? '' : sanitizeName(m.via)) },
  id: { help: "the message's id", value: (m) => sanitizeText(m.id) },
});

/** A parsed template: literal text and the names of the fields between. */
export type MessageTemplate = readonly (string | { readonly field: string })[];

/**
 * Read a --format template: `{field}` placeholders from TEMPLATE_FIELDS, `{{` and `}}` for
 * literal braces. Anything else in braces, or a brace left open, is ERR_USAGE.
 */
export function parseMessageTemplate(text: string): MessageTemplate {
  const parts: (string | { field: string })[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if ((ch === '{' || ch === '}') && text[i + 1] === ch) {
      literal += ch;
      i++;
    } else if (ch === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) throw usage(`--format: '{' at character ${i + 1} is not closed (write {{ for a literal brace)`);
      const field = text.slice(i + 1, end);
      if (!Object.hasOwn(TEMPLATE_FIELDS, field)) throw usage(`--format: unknown placeholder {${field}} (known: ${fieldList()})`);
      if (literal) parts.push(literal);
      parts.push({ field });
      literal = '';
      i = end;
    } else if (ch === '}') {
      throw usage(`--format: '}' at character ${i + 1} closes nothing (write }} for a literal brace)`);
    } else {
      literal += ch;
    }
  }
  if (literal) parts.push(literal);
  return parts;
}

/** The line for `message` under `template`, received at `receivedAt` (ms since the epoch). */
export function fillMessageTemplate(template: MessageTemplate, message: Message, receivedAt: number): string {
  return template.map((part) => (typeof part === 'string' ? part : TEMPLATE_FIELDS[part.field]!.value(message, receivedAt))).join('');
}

function fieldList(): string {
  return Object.keys(TEMPLATE_FIELDS).map((f) => `{${f}}`).join(' ');
}

function usage(message: string) {
  return chatError('ERR_USAGE', message);
}
