/**
 * `lhs = rhs` for setVariable/setExpression. The value stored is `(type of lhs) rhs` with the
 * language's own conversion rules (the evaluator's cast: gdb's value_cast, float→int saturating
 * as gdb does), so what a write stores is what `print (T) rhs` shows. The evaluator is read-only
 * by design (it never writes or calls into the target), so the one write path of the DAP session
 * lives here.
 *
 * Only the bytes of the left-hand object are written, in one write through the session's
 * memory (which refuses unless the user opted in with allowWrites).
 */
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import type { MemoryReader } from '../memory/reader';
import { resolve } from '../symbols/types';
import { fetchBytes, type TargetObject } from '../value/object';

function cannot(cause: string, fix: string): PidscopeError {
  return new PidscopeError('TYPE', cause, fix, 'user');
}

const SCALARS = new Set(['int', 'bool', 'enum', 'pointer', 'float']);

/** Evaluates both sides, converts, writes. Returns the left-hand object (re-read it to show the new value). */
export function assign(program: Program, memory: MemoryReader, lhs: string, rhs: string): TargetObject {
  const target = program.evaluate(lhs);
  if (target.kind !== 'reference') {
    throw cannot(`'${lhs}' is not an lvalue, so it cannot be assigned`, 'Assign to a variable, a member or an element');
  }
  if (target.bitSize !== undefined || target.bitOffset !== 0) {
    throw cannot(`'${lhs}' is a bit field: pidscope does not write bit fields`, 'Write the containing bytes with writeMemory');
  }
  const t = resolve(target.type);
  if (!SCALARS.has(t.kind))
    throw cannot(`'${lhs}' is a ${t.kind}, not a number: pidscope assigns numbers, enums and pointers only`, 'Assign members or elements one at a time');
  const value = program.evaluate(rhs);
  if (value.kind === 'absent') throw cannot(`'${rhs}' has no value (${value.reason})`, 'Use a value that can be read');
  const converted = program.cast(target.type, value);
  const bytes = fetchBytes(program.byteSource(), converted);
  memory.write(target.address, bytes);
  return target;
}
