#!/usr/bin/env node
// `npm run package:extension`: type-checks, bundles (production) and packs extension/pidscope.vsix
// with @vscode/vsce (offline; dependencies are bundled, so --no-dependencies).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ext = join(here, '..');
const root = join(ext, '..');
const out = process.env.PIDSCOPE_VSIX ?? join(ext, 'pidscope.vsix');

const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

if (!process.argv.includes('--no-typecheck')) run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ext, 'tsconfig.json')]);
run(process.execPath, [join(here, 'build.mjs'), '--production']);
// vscode:prepublish would bundle again; the bundle above is the one we want.
run(process.execPath, [join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links', '--no-update-package-json', '--no-git-tag-version', '--out', out], ext);
console.log(`package: ${out}`);
