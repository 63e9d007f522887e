#!/usr/bin/env node
'use strict';
// The installed entry point. It runs the bundled adapter (out/bundle/pidscope.js, made by
// `npm run build`) with a V8 code cache, else the compiled modules (out/adapter/src/main.js).
// See codeCache.js for the cache (one per command, in ${XDG_CACHE_HOME:-~/.cache}/pidscope/code/)
// and for the V8 flag set first.
const { loadWithCodeCache, raiseInterruptBudget } = require('./codeCache.js');
raiseInterruptBudget();
const path = require('node:path');
const fs = require('node:fs');
const root = path.join(__dirname, '..', '..');
const modular = path.join(root, 'out', 'adapter', 'src', 'main.js');
const bundle = path.join(root, 'out', 'bundle', 'pidscope.js');

function mtime(f) {
  try {
    return fs.statSync(f).mtimeMs;
  } catch {
    return -1;
  }
}

function loadBundle() {
  const word = process.argv.slice(2).find((a) => !a.startsWith('-'));
  const command = word === undefined ? 'help' : /^[a-z]{1,16}$/.test(word) ? word : 'other';
  return loadWithCodeCache(bundle, command, 'code', module);
}

let entry;
const bundleTime = mtime(bundle);
if (bundleTime >= 0 && bundleTime >= mtime(modular)) {
  entry = loadBundle();
} else if (mtime(modular) >= 0) {
  entry = require(modular);
} else {
  process.stderr.write('pidscope: the adapter is not built (' + modular + ' is missing).\n' + 'Fix: run `npm install` (or `npm run build`) in ' + root + '.\n');
  process.exit(2);
}
entry.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write('pidscope: internal error: ' + ((err && err.stack) || err) + '\n');
    process.exitCode = 70;
  },
);
