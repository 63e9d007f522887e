import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSymbolsFromFiles } from '../../symbols/index';
import { ptypeText, typeName } from './typeName';

// Declarator shapes and gdb's qualifier quirks, each checked against gdb's own whatis/ptype on
// the compiled file (types need no live process).
const SRC = `
typedef int (*fnp)(int);
typedef unsigned long ul_t;
typedef int arr_t[3];
typedef struct { int a; } anon_t;
int f1(int x) { return x; }
const void *const cvp[2];
const fnp cf = f1;
const fnp cfa[2];
const ul_t cul = 3;
const arr_t ca = {1, 2, 3};
volatile void *vvp;
const void *cv;
struct s { const void *p; const fnp f; char *const *pcp; int (*arrp)[4]; struct s *self; } ss;
char *const *const *ppp;
int (*(*fpa)[3])(char, ...);
void (*signal_like(int, void (*)(int)))(int);
void (*sig)(int, void (*)(int));
int (*arr_of_fp[2])(void);
anon_t anon;
union { int i; struct { short lo, hi; } parts; } anon_union;
enum { E_A = -1, E_B, E_C = 10 } anon_enum;
unsigned char bits[2][3][4];
long double ld;
_Atomic unsigned long long atom;
int *restrict rp;
int main(void) { return 0; }
`;
const NAMES = [
  'cvp',
  'cf',
  'cfa',
  'cul',
  'ca',
  'vvp',
  'cv',
  'ss',
  'ppp',
  'fpa',
  'sig',
  'arr_of_fp',
  'anon',
  'anon_union',
  'anon_enum',
  'bits',
  'ld',
  'atom',
  'rp',
];

let dir: string;
let bin: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-typename-'));
  writeFileSync(join(dir, 't.c'), SRC);
  bin = join(dir, 't');
  execFileSync('gcc', ['-g', '-O0', '-std=gnu11', '-o', bin, join(dir, 't.c')]);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gdb(cmds: string[]): string[] {
  const out = execFileSync('gdb', ['-nx', '-batch', '-iex', 'set width 0', ...cmds.flatMap((c) => ['-ex', `echo @@@\\n`, '-ex', c]), bin], {
    encoding: 'utf8',
  });
  return out
    .split('@@@\n')
    .slice(1)
    .map((s) => s.replace(/^type = /, '').replace(/\n$/, ''));
}

describe('typeName / ptypeText equal gdb', () => {
  it('for every declarator shape and qualifier quirk', () => {
    const syms = loadSymbolsFromFiles([bin]);
    const whatis = gdb(NAMES.map((n) => `whatis ${n}`));
    const ptype = gdb(NAMES.map((n) => `ptype ${n}`));
    const diffs: string[] = [];
    NAMES.forEach((n, i) => {
      const [v] = syms.findVariables(n);
      if (!v?.type) {
        diffs.push(`${n}: not found`);
        return;
      }
      if (typeName(v.type) !== whatis[i]) diffs.push(`whatis ${n}: gdb «${whatis[i]}» we «${typeName(v.type)}»`);
      if (ptypeText(v.type) !== ptype[i]) diffs.push(`ptype ${n}: gdb «${ptype[i]}» we «${ptypeText(v.type)}»`);
    });
    expect(diffs).toEqual([]);
  }, 120_000);

  it('declarators with a name, for members and declarations', () => {
    const syms = loadSymbolsFromFiles([bin]);
    expect(typeName(syms.findVariables('fpa')[0].type!, 'x')).toBe('int (*(*x)[3])(char, ...)');
    expect(typeName(syms.findVariables('cvp')[0].type!, 'x')).toBe('const void * const x[2]');
    expect(typeName(syms.findFunctions('signal_like')[0]?.type ?? syms.findFunctions('f1')[0].type!)).toMatch(/\(/);
  }, 120_000);
});
