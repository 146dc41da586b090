// Assert that a call throws a P2PChatError with a given code, and return it for further checks.

import assert from 'node:assert/strict';
import { type ErrorCode, P2PChatError } from '../../src/errors.js';

export function throwsCode(fn: () => unknown, code: ErrorCode): P2PChatError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, nothing was thrown`);
  assert.ok(P2PChatError.is(caught), `expected a P2PChatError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** The same for a promise: it must reject with a one-line P2PChatError of `code`. */
export async function rejectsCode(promise: Promise<unknown>, code: ErrorCode | string): Promise<P2PChatError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}, it resolved`),
    (err: unknown) => {
      caught = err;
    },
  );
  assert.ok(P2PChatError.is(caught), `expected a P2PChatError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.doesNotMatch(caught.message, /\n/, 'one line');
  return caught;
}
