/**
 * What a memory backend needs from the target: its pid (for syscalls that take one), its pidfd
 * (the identity), and a liveness check that turns "exited" into the one error every caller gets.
 * engine/Target implements it; tests may hand in their own.
 */
/**
 * What became of the process we attached to. `exec`: same pid, a new program (new address space);
 * what was read about the old one (symbols, addresses) no longer applies.
 */
export type TargetState =
  | { kind: 'alive' }
  | { kind: 'exited'; /** exit status, when the kernel still shows it (zombie) */ exitCode?: number; signal?: number }
  | { kind: 'exec'; /** the new executable, when visible */ exe?: string };

export interface TargetHandle {
  readonly pid: number;
  readonly pidfd: number;
  /** True until the process exits (pidfd readable). One poll(2). */
  isAlive(): boolean;
  /** Throws PidscopeError ESRCH (and lets the target emit 'exited') if the process has exited. */
  assertAlive(during?: string): void;
  /** Alive, exited or exec'd: the one rule (engine/target.ts) every reader, watch and front end asks. */
  state(): TargetState;
}
