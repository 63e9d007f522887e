/**
 * What a memory backend needs from the target: its pid (for syscalls that take one), its pidfd
 * (the identity), and a liveness check that turns "exited" into the one error every caller gets.
 * engine/Target implements it; tests may hand in their own.
 */
export interface TargetHandle {
  readonly pid: number;
  readonly pidfd: number;
  /** True until the process exits (pidfd readable). One poll(2). */
  isAlive(): boolean;
  /** Throws PidscopeError ESRCH (and lets the target emit 'exited') if the process has exited. */
  assertAlive(during?: string): void;
}
