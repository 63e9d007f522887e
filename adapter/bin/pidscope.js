#!/usr/bin/env node
'use strict';
// The installed entry point runs the compiled adapter (npm install builds it through `prepare`).
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', '..', 'out', 'adapter', 'src', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('pidscope: the adapter is not built (' + main + ' is missing).\n' +
    'Fix: run `npm install` (or `npm run build`) in ' + path.join(__dirname, '..', '..') + '.\n');
  process.exit(2);
}
require(main).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write('pidscope: internal error: ' + (err && err.stack || err) + '\n'); process.exitCode = 70; },
);
