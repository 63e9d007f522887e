#!/usr/bin/env node
// Enforces the layering described in ARCHITECTURE.md (repo top) with plain text checks: a boundary
// that only a reviewer remembers is a boundary that breaks.
//
//   node test/support/lint-boundaries.mjs [ROOT]   (ROOT defaults to this repository; tests pass a
//                                                   fixture tree to prove a violation fails)
//
// Three kinds of rule:
//  1. who may import a package (koffi, @vscode/debugadapter, vscode) and code that stops the target;
//  2. LAYERS: which folder of adapter/src may import which (front ends → engine → parts → linux,
//     nothing upward), stated once in the table below;
//  3. no import cycle between folders of adapter/src (each folder is a unit of the design).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(process.argv[2] ?? new URL('../..', import.meta.url).pathname);
const DOC = 'ARCHITECTURE.md';

const rules = [
  { name: 'koffi only in adapter/src/linux/', re: /(from\s+['"]koffi['"]|require\(\s*['"]koffi['"]\s*\))/, allowed: (p) => p.startsWith('adapter/src/linux/') },
  { name: '@vscode/debugadapter only in adapter/src/dap/', re: /['"]@vscode\/debugadapter['"]/, allowed: (p) => p.startsWith('adapter/src/dap/') || p.startsWith('test/') || p.startsWith('bench/') },
  { name: "no 'vscode' import under adapter/", re: /(from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\))/, allowed: (p) => !p.startsWith('adapter/') },
  { name: 'stack/ (unwinding, frames) does not reach into the front ends', re: /from\s+['"]\.\.\/(dap|cli)\//, allowed: (p) => !p.startsWith('adapter/src/stack/') },
  { name: 'no code that stops the target', re: /\b(PTRACE_ATTACH|PTRACE_SEIZE|PTRACE_INTERRUPT|SIGSTOP)\b/, allowed: (p) => !p.startsWith('adapter/src/') || p.endsWith('lint-boundaries.mjs') },
];

// The allowed-imports table: folder (or root file) of adapter/src → what it may import besides
// itself. The shared leaves (errors.ts; util/: bytes, search, hex) may be used by every layer and
// import nothing of ours. Anything not listed is refused. Parts may use each other as listed, as long as no folder cycle forms (rule 3).
const PARTS_LOW = ['proc', 'linux', 'errors'];
const TABLE = {
  // entry: `pidscope <command>` dispatches to cli/ (and cli/dap.ts to dap/)
  main: ['cli', 'dap', 'errors'],
  // front ends: translate only; they ask the engine (and read parts' types and formatting)
  cli: ['dap', 'engine', 'watch', 'stack', 'eval', 'value', 'lang', 'symbols', 'memory', 'proc', 'errors'],
  dap: ['engine', 'watch', 'stack', 'eval', 'value', 'lang', 'symbols', 'memory', 'proc', 'errors'],
  // watch/ sits beside the engine (ARCHITECTURE.md): it binds a Program to watchpoints, so it may
  // import the engine, and the engine never imports it.
  watch: ['engine', 'eval', 'value', 'lang', 'symbols', 'memory', ...PARTS_LOW],
  // the engine: Program = Target + Memory + Symbols + Language
  engine: ['eval', 'value', 'lang', 'symbols', 'memory', ...PARTS_LOW],
  // stack/ sits beside the engine too, as watch/ does: a snapshot reads a Program's threads,
  // memory and symbols, so it takes the Program; the engine never imports it.
  stack: ['engine', 'eval', 'value', 'lang', 'symbols', 'memory', ...PARTS_LOW],
  // parts
  eval: ['value', 'lang', 'symbols', 'memory', ...PARTS_LOW],
  value: ['lang', 'symbols', 'memory', ...PARTS_LOW],
  lang: ['symbols', 'memory', ...PARTS_LOW],
  symbols: ['memory', ...PARTS_LOW],
  memory: PARTS_LOW,
  // below the engine: koffi bindings, which word their errors from /proc facts (zombie, owner uid,
  // Yama, perf_event_paranoid); then /proc parsing at the bottom: fs only, no koffi, so the
  // extension can bundle it
  linux: ['proc', 'errors'],
  proc: ['errors'],
  errors: [],
  util: [],
};
const SHARED = ['errors', 'util'];
// The tests of this lint (test/support/checks.test.ts) swap in a table to prove the cycle check.
const LAYERS = process.env.PIDSCOPE_LINT_LAYERS ? JSON.parse(process.env.PIDSCOPE_LINT_LAYERS) : TABLE;

// Exceptions, each with its reason. `from`/`to` match the start of repo-relative paths.
const EXCEPTIONS = [
  {
    from: 'adapter/src/symbols/', to: 'adapter/src/lang/c/typeName', testOnly: true,
    why: 'symbols/ unit tests check the types DWARF builds by printing them the way gdb does, through the C language\'s type namer',
  },
  {
    from: 'adapter/src/cli/', to: 'adapter/src/main', typeOnly: true,
    why: 'the CliCommand interface lives with the dispatcher in main.ts (type only, no run-time edge)',
  },
  {
    from: 'adapter/src/cli/dap.ts', to: 'adapter/src/linux/peercred',
    why: 'the unix-socket listener checks its peer\'s uid (SO_PEERCRED): a socket of our own, not the target, so no engine concept owns it',
  },
];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'out' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* walk(p);
    else if (/\.(ts|mts|cts|js|mjs)$/.test(name)) yield p;
  }
}

const rel = (p) => relative(root, p).split(sep).join('/');

/** The layer of a repo-relative path under adapter/src, or undefined outside it. */
function layerOf(p) {
  const m = /^adapter\/src\/([^/]+?)(\.ts)?(\/|$)/.exec(p);
  if (!m) return undefined;
  return m[1];
}

/** Relative imports of a file: static, `import type`, re-exports, dynamic import() and require(). */
function importsOf(text) {
  const out = [];
  const re = /(?:^|[^\w.])(import|export)\s+(type\s+)?(?:[^'"`;]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|(?:import|require)\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;
  for (let m; (m = re.exec(text)); ) {
    if (m[3]) out.push({ spec: m[3], typeOnly: Boolean(m[2]) });
    else out.push({ spec: m[4], typeOnly: false });
  }
  return out;
}

let failures = 0;
const fail = (msg) => {
  console.error(msg);
  failures++;
};
const edges = new Map(); // layer → Map(layer → first file that makes the edge)

for (const top of ['adapter', 'extension/src', 'test', 'bench']) {
  let files;
  try {
    files = [...walk(join(root, top))];
  } catch {
    continue;
  }
  for (const file of files) {
    const p = rel(file);
    const text = readFileSync(file, 'utf8');
    for (const rule of rules) {
      if (rule.re.test(text) && !rule.allowed(p)) fail(`lint: ${p}: breaks the rule "${rule.name}"`);
    }
    const from = layerOf(p);
    const isTest = /\.test\.[mc]?[jt]s$/.test(p);
    for (const { spec, typeOnly } of importsOf(text)) {
      const target = rel(resolve(dirname(file), spec));
      if (p.startsWith('extension/src/') && target.startsWith('adapter/') && !isTest && !target.startsWith('adapter/src/proc/')) {
        fail(`lint: ${p}: imports ${target}: breaks the rule "the extension reaches the adapter only as a process, or through adapter/src/proc/ (no koffi, no vscode)" (see ${DOC})`);
        continue;
      }
      if (!from) continue;
      const to = layerOf(target);
      if (!to || to === from) continue;
      const exception = EXCEPTIONS.find((e) => p.startsWith(e.from) && target.startsWith(e.to) && (!e.typeOnly || typeOnly) && (!e.testOnly || isTest));
      if (exception) continue;
      const allowed = LAYERS[from] && (SHARED.includes(from) ? LAYERS[from] : [...new Set([...LAYERS[from], ...SHARED])]);
      if (!allowed) {
        fail(`lint: ${p}: adapter/src/${from} is not in the allowed-imports table: breaks the rule "every folder of adapter/src has a layer" (add it to LAYERS in test/support/lint-boundaries.mjs and to ${DOC})`);
        continue;
      }
      if (!allowed.includes(to)) {
        fail(`lint: ${p}: imports ${target}: breaks the rule "layers: ${from}/ may import only ${allowed.join(', ') || 'nothing'}" (front ends → engine → parts → linux, nothing upward; see ${DOC})`);
        continue;
      }
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from).has(to)) edges.get(from).set(to, p);
    }
  }
}

// Rule 3: folder cycles (a table that allows both directions among parts would let one form).
const state = new Map();
const stack = [];
function visit(n) {
  state.set(n, 'open');
  stack.push(n);
  for (const m of edges.get(n)?.keys() ?? []) {
    if (state.get(m) === 'open') {
      const cycle = [...stack.slice(stack.indexOf(m)), m];
      const why = cycle.slice(0, -1).map((a, i) => `${a}→${cycle[i + 1]} (${edges.get(a).get(cycle[i + 1])})`).join(', ');
      fail(`lint: import cycle between folders ${cycle.join(' → ')}: breaks the rule "no import cycle between folders of adapter/src": ${why} (see ${DOC})`);
    } else if (!state.has(m)) visit(m);
  }
  stack.pop();
  state.set(n, 'done');
}
for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n);

if (failures) {
  console.error(`lint: ${failures} boundary violation(s); see ${DOC}`);
  process.exit(1);
}
console.log('lint: module boundaries hold');
