/**
 * `lhs = rhs` for setVariable/setExpression, with C's conversion rules for scalars (integers,
 * _Bool, enums, float/double, pointers). The evaluator is read-only by design (it never writes
 * or calls into the target), so the one write path of the DAP session lives here; it belongs
 * beside the evaluator in eval/ if the CLI ever grows assignment.
 *
 * Only the bytes of the left-hand object are written, in one write through the session's
 * memory (which refuses unless the user opted in with allowWrites).
 */
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import type { MemoryReader } from '../memory/reader';
import { resolve, type Type } from '../symbols/types';
import { bigintToBytes, bytesToBigint, fetchBytes, type TargetObject } from '../value/object';

type Scalar = { kind: 'int'; v: bigint } | { kind: 'float'; v: number };

function cannot(cause: string, fix: string): PidscopeError {
  return new PidscopeError('TYPE', cause, fix, 'user');
}

function scalarOf(program: Program, obj: TargetObject, what: string): Scalar {
  if (obj.kind === 'absent' || !obj.type) throw cannot(`${what} has no value (${obj.kind === 'absent' ? obj.reason : 'unknown type'})`, 'Use a value that can be read');
  const t = resolve(obj.type);
  const bytes = fetchBytes(program.byteSource(), obj);
  switch (t.kind) {
    case 'int':
      return { kind: 'int', v: bytesToBigint(bytes, t.signed) };
    case 'bool':
      return { kind: 'int', v: bytesToBigint(bytes, false) };
    case 'enum':
      return { kind: 'int', v: bytesToBigint(bytes, t.compatible?.signed ?? (t.enumerators ?? []).some((e) => e.value < 0n)) };
    case 'pointer':
      return { kind: 'int', v: bytesToBigint(bytes, false) };
    case 'float':
      if (!t.complex && t.size === 4) return { kind: 'float', v: bytes.readFloatLE(0) };
      if (!t.complex && t.size === 8) return { kind: 'float', v: bytes.readDoubleLE(0) };
      throw cannot(`pidscope cannot convert a ${t.name} value yet`, 'Assign an integer or a double');
    default:
      throw cannot(`${what} is a ${t.kind}, not a number`, 'Assign members or elements one at a time');
  }
}

function encode(target: Type, value: Scalar, lhs: string): Buffer {
  const t = resolve(target);
  const toInt = (): bigint => {
    if (value.kind === 'int') return value.v;
    if (!Number.isFinite(value.v)) throw cannot(`${value.v} cannot be stored in the integer ${lhs}`, 'Assign a finite number');
    return BigInt(Math.trunc(value.v));
  };
  switch (t.kind) {
    case 'int':
      return bigintToBytes(toInt(), t.size);
    case 'enum': {
      const size = t.size ?? t.compatible?.size ?? 4;
      return bigintToBytes(toInt(), size);
    }
    case 'bool':
      return bigintToBytes((value.kind === 'int' ? value.v !== 0n : value.v !== 0) ? 1n : 0n, t.size);
    case 'pointer':
      if (value.kind === 'float') throw cannot(`a floating-point value cannot be stored in the pointer ${lhs}`, 'Assign an address or another pointer');
      return bigintToBytes(value.v, t.size);
    case 'float': {
      const n = value.kind === 'int' ? Number(value.v) : value.v;
      const b = Buffer.alloc(t.size);
      if (!t.complex && t.size === 4) b.writeFloatLE(n, 0);
      else if (!t.complex && t.size === 8) b.writeDoubleLE(n, 0);
      else throw cannot(`pidscope cannot store into a ${t.name} yet`, 'Assign to float or double variables');
      return b;
    }
    default:
      throw cannot(`${lhs} is a ${t.kind}: pidscope assigns numbers, enums and pointers only`, 'Assign its members or elements one at a time');
  }
}

/** Evaluates both sides, converts, writes. Returns the left-hand object (re-read it to show the new value). */
export function assign(program: Program, memory: MemoryReader, lhs: string, rhs: string): TargetObject {
  const target = program.evaluate(lhs);
  if (target.kind !== 'reference') {
    throw cannot(`'${lhs}' is not an lvalue, so it cannot be assigned`, 'Assign to a variable, a member or an element');
  }
  if (target.bitSize !== undefined || target.bitOffset !== 0) {
    throw cannot(`'${lhs}' is a bit field: pidscope does not write bit fields`, 'Write the containing bytes with writeMemory');
  }
  const bytes = encode(target.type, scalarOf(program, program.evaluate(rhs), `'${rhs}'`), lhs);
  memory.write(target.address, bytes);
  return target;
}
