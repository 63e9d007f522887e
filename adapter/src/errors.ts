/**
 * Errors a user sees. Every one names the cause and the fix, and says who is to blame
 * (CodeLLDB's habit): 'user' for bad input or permissions, 'target' for what the target did
 * (exited, unmapped a page), 'internal' for our own bugs.
 */
export type Blame = 'user' | 'target' | 'internal';

export class PidscopeError extends Error {
  /** What went wrong, without the fix (not `cause`: Error.cause is the standard chained error). */
  readonly causeText: string;
  readonly fix: string;
  readonly blame: Blame;
  /** A short stable code for scripts and tests, e.g. 'ESRCH', 'EPERM', 'NO_SYMBOL'. */
  readonly code: string;

  constructor(code: string, cause: string, fix: string, blame: Blame = 'user') {
    super(fix ? `${cause}. ${fix}` : cause);
    this.name = 'PidscopeError';
    this.code = code;
    this.causeText = cause;
    this.fix = fix;
    this.blame = blame;
  }
}

export function isPidscopeError(e: unknown): e is PidscopeError {
  return e instanceof PidscopeError;
}

/** One line for a terminal or a DAP error response. */
export function describeError(e: unknown): string {
  if (e instanceof PidscopeError) return e.message;
  if (e instanceof Error) return `internal error: ${e.message}`;
  return `internal error: ${String(e)}`;
}
