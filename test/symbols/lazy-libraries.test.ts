/**
 * loadSymbols opens a live process's libraries on first need (the main program answers most
 * lookups alone: symbols/index.ts findVariables). Whatever opens them, and whenever, the answers
 * must be the ones the libraries-first order gives: main-program globals, libc's globals (one of
 * them copied into the executable), libc's functions, addresses inside libc and heap addresses.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSymbols, type ProcessSymbols } from '../../adapter/src/symbols/index';
import type { VariableSymbol } from '../../adapter/src/symbols/provider';
import { typeName } from '../../adapter/src/lang/c/typeName';
import { startFixture, type RunningFixture } from '../support/fixtures';

const NAMES = ['g_int', 'g_nested', 'g_point', 'stdout', 'stderr', 'environ', 'program_invocation_name', '__libc_single_threaded', 'no_such_global'];

function summary(vs: VariableSymbol[]): unknown[] {
  return vs.map((v) => ({
    name: v.name,
    module: v.module,
    scope: v.scope,
    address: v.address,
    absent: v.absentReason,
    type: v.type ? typeName(v.type) : undefined,
    declFile: v.declFile,
  }));
}

describe('libraries opened on first need', () => {
  let fx: RunningFixture;
  let eager: ProcessSymbols;
  let lazy: ProcessSymbols;

  beforeAll(async () => {
    fx = await startFixture('globals');
    eager = await loadSymbols(fx.pid);
    expect(eager.modules.length).toBeGreaterThan(1); // every library opened before any lookup
    lazy = await loadSymbols(fx.pid);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('variables: the same answers as with every library open', () => {
    for (const n of NAMES) expect(summary(lazy.findVariables(n)), n).toEqual(summary(eager.findVariables(n)));
  });

  it('functions, addresses and the module list: the same', async () => {
    const fresh = await loadSymbols(fx.pid); // nothing asked yet: only the main program is open
    const [malloc] = eager.findFunctions('malloc');
    expect(malloc).toBeDefined();
    const global = eager.findVariables('g_nested')[0].address!;
    const heap = BigInt(
      '0x' +
        readFileSync(`/proc/${fx.pid}/maps`, 'utf8')
          .split('\n')
          .find((l) => l.endsWith('[heap]'))!
          .split('-')[0],
    );
    for (const a of [heap + 16n, global, 0x10n, malloc.address + 1n, malloc.address]) {
      expect(fresh.moduleAt(a)?.path, `0x${a.toString(16)}`).toBe(eager.moduleAt(a)?.path);
      expect(fresh.symbolize(a), `0x${a.toString(16)}`).toEqual(eager.symbolize(a));
    }
    expect(fresh.findFunctions('malloc').map((f) => [f.address, f.module])).toEqual([[malloc.address, malloc.module]]);
    expect(fresh.modules.map((m) => m.path)).toEqual(eager.modules.map((m) => m.path));
    expect(fresh.warnings).toEqual(eager.warnings);
  });
});
