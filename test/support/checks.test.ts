/**
 * Tests of the checks that keep the shape (`npm run lint`, `npm run typecheck`): each check is run
 * on a small tree that breaks its rule on purpose, and must fail naming the rule.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = join(__dirname, '..', '..');
const LINT = join(REPO, 'test', 'support', 'lint-boundaries.mjs');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A throw-away tree with the given files (path → text). */
function tree(files: Record<string, string>, parent = tmpdir()): string {
  const root = mkdtempSync(join(parent, 'pidscope-checks-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function lint(root: string, env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [LINT, root], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('npm run lint', () => {
  it('passes on this repository', () => {
    const r = lint(REPO);
    expect(r.out).toContain('module boundaries hold');
    expect(r.status).toBe(0);
  });

  it('fails on an upward import (engine/ importing dap/), naming the rule and ARCHITECTURE.md', () => {
    const root = tree({
      'adapter/src/dap/session.ts': 'export const x = 1;\n',
      'adapter/src/engine/program.ts': "import { x } from '../dap/session';\nexport const y = x;\n",
    });
    const r = lint(root);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(
      /adapter\/src\/engine\/program\.ts: imports adapter\/src\/dap\/session: breaks the rule "layers: engine\/ may import only .*nothing upward; see ARCHITECTURE\.md/,
    );
  });

  it('sees multi-line, type-only and dynamic imports', () => {
    const root = tree({
      'adapter/src/cli/x.ts': 'export type T = number;\nexport const f = 1;\n',
      'adapter/src/memory/a.ts': "import {\n  f,\n} from '../cli/x';\nexport const a = f;\n",
      'adapter/src/memory/b.ts': "import type { T } from '../cli/x';\nexport const b: T = 1;\n",
      'adapter/src/memory/c.ts': "export const c = () => import('../cli/x');\n",
    });
    const r = lint(root);
    expect(r.status).toBe(1);
    for (const f of ['a', 'b', 'c']) expect(r.out).toContain(`adapter/src/memory/${f}.ts: imports adapter/src/cli/x`);
  });

  it('fails on a folder that has no layer', () => {
    const root = tree({
      'adapter/src/newpart/a.ts': "import { e } from '../errors';\nexport const a = e;\n",
      'adapter/src/errors.ts': 'export const e = 1;\n',
    });
    expect(lint(root).out).toMatch(/adapter\/src\/newpart is not in the allowed-imports table: breaks the rule "every folder of adapter\/src has a layer"/);
  });

  it('fails on an import cycle between folders, naming the files that make it', () => {
    const root = tree({
      'adapter/src/value/a.ts': "import { b } from '../eval/b';\nexport const a = b;\n",
      'adapter/src/eval/b.ts': "import { a } from '../value/a';\nexport const b = () => a;\n",
    });
    // a table that (wrongly) lets both import each other: the cycle check still refuses
    const r = lint(root, { PIDSCOPE_LINT_LAYERS: JSON.stringify({ value: ['eval'], eval: ['value'] }) });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(
      /import cycle between folders (eval → value → eval|value → eval → value): breaks the rule "no import cycle between folders of adapter\/src"/,
    );
  });
});

describe('npm run typecheck', () => {
  it('covers every test file', () => {
    const r = spawnSync(process.execPath, [TSC, '-p', join(REPO, 'tsconfig.test.json'), '--listFilesOnly'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const listed = new Set(r.stdout.split('\n').map((l) => relative(REPO, l.trim())));
    const tests: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(REPO, dir), { withFileTypes: true })) {
        const p = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.test.ts')) tests.push(p);
      }
    };
    walk('adapter/src');
    for (const d of readdirSync(join(REPO, 'test'))) if (d !== 'extension' && !d.includes('.')) walk(`test/${d}`);
    expect(tests.length).toBeGreaterThan(20);
    expect(tests.filter((t) => !listed.has(t))).toEqual([]);
  }, 60_000);

  it('fails on a type error or an unused local in a test file, naming the rule', () => {
    const root = tree({
      'bad.test.ts': "const unused = 1;\nexport const n: number = 'not a number';\n",
    });
    writeFileSync(
      join(root, 'tsconfig.json'),
      JSON.stringify({ extends: join(REPO, 'tsconfig.test.json'), include: ['bad.test.ts'], compilerOptions: { types: [], rootDir: '.' } }),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', join(root, 'tsconfig.json')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/bad\.test\.ts\(2,14\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(r.stdout).toMatch(/bad\.test\.ts\(1,7\): error TS6133: 'unused' is declared but its value is never read/);
  }, 60_000);
});

describe('npm run format:check (part of npm run lint)', () => {
  const PRETTIER = join(REPO, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
  it('is run by npm run lint', () => {
    const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.lint).toContain('format:check');
  });

  it("fails on a file not in the repository's format, naming it", () => {
    const root = tree({ 'adapter/src/x.ts': 'export const x = {a: "1"}\n', 'adapter/src/ok.ts': "export const y = { a: '1' };\n" });
    const r = spawnSync(process.execPath, [PRETTIER, '--config', join(REPO, '.prettierrc.json'), '--check', 'adapter/src/x.ts', 'adapter/src/ok.ts'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    // Under CI=true prettier colours its output (chalk sees a CI): compare the plain text.
    const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(out).toMatch(/\[warn\] adapter\/src\/x\.ts/);
    expect(out).not.toMatch(/ok\.ts/);
  });
});
