#!/usr/bin/env node
// Bundles the CLI and the DAP adapter (adapter/src/main.ts and every command it can load) into
// one file, out/bundle/pidscope.js, which adapter/bin/pidscope.js runs with a V8 code cache.
// Why: a cold `pidscope eval` spent more time resolving, reading and compiling ~80 modules than
// reading the target's symbols. koffi stays external (a native module, found in node_modules).
// Commands still load lazily: esbuild keeps each `import()` as a deferred module initializer.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
await build({
  entryPoints: [join(root, 'adapter', 'src', 'main.ts')],
  outfile: join(root, 'out', 'bundle', 'pidscope.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi'],
  sourcemap: 'linked',
  legalComments: 'none',
  // Less source to read and hash at every start; identifiers stay readable in stack traces.
  minifyWhitespace: process.env.PIDSCOPE_BUNDLE_READABLE !== '1',
  minifySyntax: true,
  logLevel: 'warning',
});
// The worker thread of a parallel cold scan (symbols/dwarf/scanParallel.ts), beside the bundle
// that starts it: a small script of its own, so a worker does not load the whole adapter.
await build({
  entryPoints: [join(root, 'adapter', 'src', 'symbols', 'dwarf', 'scanWorker.ts')],
  outfile: join(root, 'out', 'bundle', 'scanWorker.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi'],
  legalComments: 'none',
  minifyWhitespace: process.env.PIDSCOPE_BUNDLE_READABLE !== '1',
  minifySyntax: true,
  logLevel: 'warning',
});
