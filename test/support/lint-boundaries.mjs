#!/usr/bin/env node
// Enforces the layering in ../shared/ARCHITECTURE.md with plain text checks: a boundary that
// only a reviewer remembers is a boundary that breaks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const rules = [
  { name: 'koffi only in adapter/src/linux/', re: /(from\s+['"]koffi['"]|require\(\s*['"]koffi['"]\s*\))/, allowed: (p) => p.startsWith('adapter/src/linux/') },
  { name: '@vscode/debugadapter only in adapter/src/dap/', re: /['"]@vscode\/debugadapter['"]/, allowed: (p) => p.startsWith('adapter/src/dap/') || p.startsWith('test/') || p.startsWith('bench/') },
  { name: "no 'vscode' import under adapter/", re: /(from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\))/, allowed: (p) => !p.startsWith('adapter/') },
  { name: 'stack/ (unwinding, frames) does not reach into the front ends', re: /from\s+['"]\.\.\/(dap|cli)\//, allowed: (p) => !p.startsWith('adapter/src/stack/') },
  { name: 'no code that stops the target', re: /\b(PTRACE_ATTACH|PTRACE_SEIZE|PTRACE_INTERRUPT|SIGSTOP)\b/, allowed: (p) => !p.startsWith('adapter/src/') || p.endsWith('lint-boundaries.mjs') },
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

let failures = 0;
for (const top of ['adapter', 'extension/src', 'test', 'bench']) {
  let files;
  try { files = [...walk(join(root, top))]; } catch { continue; }
  for (const file of files) {
    const rel = relative(root, file).split(sep).join('/');
    const text = readFileSync(file, 'utf8');
    for (const rule of rules) {
      if (rule.re.test(text) && !rule.allowed(rel)) {
        console.error(`lint: ${rel}: breaks the rule "${rule.name}"`);
        failures++;
      }
    }
  }
}
if (failures) {
  console.error(`lint: ${failures} boundary violation(s); see ../shared/ARCHITECTURE.md`);
  process.exit(1);
}
console.log('lint: module boundaries hold');
