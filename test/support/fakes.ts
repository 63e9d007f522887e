/**
 * In-memory stand-ins for unit tests of value/ and eval/ (the e2e oracle uses real processes):
 * a sparse memory image and a tiny symbol table.
 */
import type { AddressRange, MemoryReader, ReadRequest, ReadResult } from '../../adapter/src/memory/reader';
import type { FunctionSymbol, LookupScope, SymbolizedAddress, SymbolLookup, VariableSymbol } from '../../adapter/src/symbols/provider';
import { BUILTIN } from '../../adapter/src/lang/c/builtins';
import { sizeOf, type CompoundType, type Type } from '../../adapter/src/symbols/types';

/** `struct point { int x, y; }`: the small struct the value, eval and watch unit tests share. */
export const POINT: CompoundType = {
  kind: 'struct',
  name: 'point',
  size: 8,
  members: [
    { name: 'x', type: BUILTIN.int, bitOffset: 0 },
    { name: 'y', type: BUILTIN.int, bitOffset: 32 },
  ],
};

export class FakeMemory implements MemoryReader {
  readonly kind = 'proc-mem' as const;
  readonly writable = false;
  private readonly regions: Array<{ start: bigint; data: Buffer }> = [];

  map(start: bigint, data: Buffer): void {
    this.regions.push({ start, data });
  }

  read(address: bigint, length: number): ReadResult {
    const data = Buffer.alloc(length);
    const unreadable: AddressRange[] = [];
    let badStart: bigint | undefined;
    for (let i = 0; i < length; i++) {
      const a = address + BigInt(i);
      const reg = this.regions.find((r) => a >= r.start && a < r.start + BigInt(r.data.length));
      if (reg) {
        data[i] = reg.data[Number(a - reg.start)];
        if (badStart !== undefined) {
          unreadable.push({ start: badStart, end: a });
          badStart = undefined;
        }
      } else if (badStart === undefined) badStart = a;
    }
    if (badStart !== undefined) unreadable.push({ start: badStart, end: address + BigInt(length) });
    return { address, data, unreadable };
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    return requests.map((r) => this.read(r.address, r.length));
  }

  write(): number {
    throw new Error('read-only');
  }

  close(): void {}
}

export class FakeSymbols implements SymbolLookup {
  readonly pointerSize = 8;
  readonly vars: VariableSymbol[] = [];
  readonly fns: FunctionSymbol[] = [];
  readonly types = new Map<string, Type>();
  /** ELF-like symbols for <sym+off>: name, address, size. */
  readonly elf: Array<{ name: string; address: bigint; size: number }> = [];

  addVar(name: string, type: Type | undefined, address: bigint, extra: Partial<VariableSymbol> = {}): void {
    this.vars.push({ name, type, address, module: '/bin/fake', compileUnit: 'fake.c', scope: 'global', ...extra });
    const size = type ? (sizeOf(type) ?? 0) : (extra.size ?? 0);
    this.elf.push({ name, address, size });
  }

  findVariables(name: string, scope?: LookupScope): VariableSymbol[] {
    return this.vars.filter(
      (v) =>
        v.name === name && (!scope?.file || v.compileUnit === scope.file) && (!scope?.function ? v.scope !== 'function-static' : v.function === scope.function),
    );
  }

  findFunctions(name: string): FunctionSymbol[] {
    return this.fns.filter((f) => f.name === name);
  }

  findType(name: string): Type | undefined {
    return this.types.get(name);
  }

  symbolize(address: bigint): SymbolizedAddress | undefined {
    for (const s of this.elf) {
      if (address >= s.address && address < s.address + BigInt(Math.max(s.size, 1))) {
        return { symbol: s.name, offset: address - s.address, module: '/bin/fake' };
      }
    }
    return undefined;
  }

  sourceLocation(): undefined {
    return undefined;
  }

  allVariables(): Iterable<VariableSymbol> {
    return this.vars;
  }
}
