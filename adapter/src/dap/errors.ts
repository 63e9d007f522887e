/**
 * How a failure becomes a DAP error response. The session never lets an exception escape a
 * handler: everything ends here, as one message that names the cause and the fix, plus the
 * blame (CodeLLDB's habit) so a client can tell "you asked for something impossible" from "the
 * target went away" from "pidscope has a bug".
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { PidscopeError, type Blame } from '../errors';

/**
 * Stable numeric ids for DAP `Message.id`, grouped by blame: 1xxx user, 2xxx target, 3xxx
 * internal. Ids of codes not listed fall back to the group's base.
 */
const IDS: Record<string, number> = {
  // user
  BAD_ARGS: 1001,
  BAD_FRAME: 1015,
  UNKNOWN_COMMAND: 1002,
  NOT_ATTACHED: 1003,
  ALREADY_ATTACHED: 1004,
  NO_LAUNCH: 1005,
  NO_TERMINATE: 1006,
  WRITES_DISABLED: 1007,
  STALE_REFERENCE: 1008,
  BAD_MEMORY_REFERENCE: 1009,
  UNKNOWN_FRAME: 1010,
  UNKNOWN_THREAD: 1011,
  NO_PROCESS: 1012,
  AMBIGUOUS_PROCESS: 1013,
  NOT_SUPPORTED: 1014,
  SYNTAX: 1020,
  NO_SYMBOL: 1021,
  TYPE: 1022,
  EPERM: 1030,
  EACCES: 1031,
  // target
  ESRCH: 2001,
  EFAULT: 2002,
  ABSENT: 2003,
  EXITED: 2004,
  // internal
  INTERNAL: 3000,
};

const BASE: Record<Blame, number> = { user: 1000, target: 2000, internal: 3000 };

export function dapErrorId(e: PidscopeError): number {
  return IDS[e.code] ?? BASE[e.blame];
}

/** Whatever was thrown, as a PidscopeError; foreign exceptions are our bugs. */
export function asPidscopeError(e: unknown): PidscopeError {
  if (e instanceof PidscopeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const err = new PidscopeError(
    'INTERNAL',
    `internal error in pidscope: ${msg}`,
    'This is a bug in pidscope, not in your program: please report it with the adapter log (the target was not touched)',
    'internal',
  );
  if (e instanceof Error && e.stack) err.stack = e.stack;
  return err;
}

export interface ErrorPresentation {
  /** Pop up the message in the client (VS Code shows a notification / modal). */
  showUser: boolean;
}

/**
 * Fills a failed response. `format` carries the literal text with no `{var}` placeholders taken
 * from us: VS Code substitutes `{name}` only from `variables`, so braces inside C values (struct
 * literals) come through unchanged.
 */
/** Cause and fix as one text; gdb's sentences already end with a period. */
export function errorText(err: PidscopeError): string {
  const cause = err.causeText ?? err.message;
  if (!err.fix) return cause;
  return /[.!?)]$/.test(cause) ? `${cause} ${err.fix}` : `${cause}. ${err.fix}`;
}

export function fillErrorResponse(response: DebugProtocol.Response, e: unknown, how: ErrorPresentation = { showUser: false }): PidscopeError {
  const err = asPidscopeError(e);
  const text = errorText(err);
  response.success = false;
  response.message = text;
  const message: DebugProtocol.Message = {
    id: dapErrorId(err),
    format: text,
    showUser: how.showUser || err.blame === 'internal',
    sendTelemetry: false,
  };
  response.body = { error: message, code: err.code, blame: err.blame };
  return err;
}

// Shorthands for the errors the session raises itself.

export function badArgs(cause: string, fix = 'Check the request arguments against the Debug Adapter Protocol specification'): PidscopeError {
  return new PidscopeError('BAD_ARGS', cause, fix, 'user');
}

export function notAttached(command: string): PidscopeError {
  return new PidscopeError(
    'NOT_ATTACHED',
    `'${command}' needs an attached process, and this session has not attached yet`,
    "Send 'attach' (with a pid or processName) first and wait for its response",
    'user',
  );
}

export function staleReference(kind: string, ref: unknown): PidscopeError {
  return new PidscopeError(
    'STALE_REFERENCE',
    `${kind} ${String(ref)} is unknown or from an earlier refresh of the live view`,
    "Re-request 'scopes' for the live frame (pidscope refreshes references whenever it sends an 'invalidated' event)",
    'user',
  );
}

export function writesDisabled(what: string): PidscopeError {
  return new PidscopeError(
    'WRITES_DISABLED',
    `${what} would change the target's memory, and writing is off for this session`,
    'pidscope is read-only by default: set "allowWrites": true in the attach configuration (launch.json) and start the session again',
    'user',
  );
}

export function notSupported(what: string, fix: string): PidscopeError {
  return new PidscopeError('NOT_SUPPORTED', what, fix, 'user');
}
