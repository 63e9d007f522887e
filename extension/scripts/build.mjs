#!/usr/bin/env node
// Bundles the extension with esbuild into extension/dist/:
//   extension.js          the extension host side (CommonJS, `vscode` external)
//   webview.js            the live plot's canvas plotter (browser IIFE; no CDN, no chart library)
//   adapter/pidscope-dap.js  the debug adapter (adapter/src/cli/dap.ts and everything it imports),
//                         run as its own Node process; koffi stays external (a native module) and
//                         is copied next to it under adapter/node_modules.
//   adapter/launch.js     what VS Code runs: pidscope-dap.js with a V8 code cache (codeCache.js).
// Options: --production (no source maps, minified identifiers off for readable stacks).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ext = join(here, '..');
const root = join(ext, '..');
const dist = join(ext, 'dist');
const production = process.argv.includes('--production');

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'adapter'), { recursive: true });

const common = { bundle: true, sourcemap: production ? false : 'linked', logLevel: 'warning', legalComments: 'none' };

const dapEntry = join(root, 'adapter', 'src', 'cli', 'dap.ts');
if (!existsSync(dapEntry)) {
  console.error(`build: ${dapEntry} is missing: the extension bundles the DAP server from the adapter. Build the adapter's DAP command first.`);
  process.exit(1);
}

await Promise.all([
  build({
    ...common,
    entryPoints: [join(ext, 'src', 'extension.ts')],
    outfile: join(dist, 'extension.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  }),
  build({
    ...common,
    entryPoints: [join(ext, 'src', 'webview', 'plot.ts')],
    outfile: join(dist, 'webview.js'),
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
  }),
  build({
    ...common,
    // The CLI's main.ts loads commands by computed path, which a bundler cannot follow: the
    // bundle enters at the dap command directly.
    stdin: {
      contents: `
        import { command } from './cli/dap';
        import { describeError, isPidscopeError } from './errors';
        import { raiseInterruptBudget } from './util/v8budget';
        raiseInterruptBudget();
        command.run(process.argv.slice(2)).then(
          (code) => { process.exitCode = code; },
          (e) => {
            process.stderr.write('pidscope dap: ' + describeError(e) + '\\n');
            process.exitCode = isPidscopeError(e) && e.blame !== 'internal' ? 1 : 70;
          },
        );
      `,
      resolveDir: join(root, 'adapter', 'src'),
      sourcefile: 'pidscope-dap.ts',
      loader: 'ts',
    },
    outfile: join(dist, 'adapter', 'pidscope-dap.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['koffi', 'vscode'],
  }),
]);

// launch.js, what VS Code runs: the adapter bundle compiled with a V8 code cache kept in
// ~/.cache/pidscope/code-vscode/ (adapter/bin/codeCache.js, the CLI's loader), after raising V8's
// interrupt budget as the CLI does. Without a cache every session compiled the bundle again.
cpSync(join(root, 'adapter', 'bin', 'codeCache.js'), join(dist, 'adapter', 'codeCache.js'));
writeFileSync(
  join(dist, 'adapter', 'launch.js'),
  `'use strict';
// Made by extension/scripts/build.mjs: runs pidscope-dap.js with a V8 code cache (see codeCache.js).
const { loadWithCodeCache, raiseInterruptBudget } = require('./codeCache.js');
raiseInterruptBudget();
loadWithCodeCache(require('node:path').join(__dirname, 'pidscope-dap.js'), 'dap', 'code-vscode', module);
`,
);

// koffi: its JS and the Linux x64 native binary (the extension targets Linux x64, where pidfd lives).
const nm = join(root, 'node_modules');
const koffiOut = join(dist, 'adapter', 'node_modules', 'koffi');
const skip = new Set(['cnoke.cjs', 'CHANGELOG.md']);
cpSync(join(nm, 'koffi'), koffiOut, {
  recursive: true,
  filter: (src) => {
    const rel = src.slice(join(nm, 'koffi').length + 1);
    if (skip.has(rel) || /^(doc|vendor|lib)(\/|$)/.test(rel)) return false;
    // Keep the JS that koffi loads (src/koffi/**/*.{js,cjs}); leave its C++ sources out.
    return !/\.(cc|hh|h|c|inc|def|S|asm)$/.test(rel) && !/(^|\/)(abi|CMakeLists\.txt)$/.test(rel);
  },
});
const nativePkg = join(nm, '@koromix', `koffi-${process.platform}-${process.arch}`);
if (!existsSync(nativePkg)) {
  console.error(`build: ${nativePkg} is missing: run \`npm ci\` at the repository root (koffi's native binary for this platform).`);
  process.exit(1);
}
cpSync(nativePkg, join(dist, 'adapter', 'node_modules', '@koromix', `koffi-${process.platform}-${process.arch}`), { recursive: true });

// The bundle must load koffi from where it ships: a missing file here is a dead adapter later.
execFileSync(process.execPath, ['-e', `require(${JSON.stringify(koffiOut)}).load('libc.so.6')`], { stdio: 'inherit' });

const files = [];
const walk = (d) => {
  for (const n of readdirSync(d, { withFileTypes: true })) {
    if (n.isDirectory()) walk(join(d, n.name));
    else files.push(join(d, n.name));
  }
};
walk(dist);
console.log(`build: extension/dist ready (${files.length} files${production ? ', production' : ''})`);
