'use strict';
// Runs a CommonJS bundle compiled with a V8 code cache: Node 20 has no module.enableCompileCache
// (Node 22), so the bundle is compiled through vm.Script with cachedData kept in
// ${XDG_CACHE_HOME:-~/.cache}/pidscope/<dirName>/; V8 itself rejects a cache that does not match
// the source, the Node version or the V8 flags (then it is rewritten). One cache per command: the
// cache holds the functions the run that wrote it compiled, so an `eval` started from a cache
// written by `--help` compiled its own code lazily at every start (~9 ms). Caches of older
// bundles are removed when a new one is written. Used by adapter/bin/pidscope.js (the CLI) and,
// copied next to the extension's adapter bundle, by extension/dist/adapter/launch.js.
const path = require('node:path');
const fs = require('node:fs');

/** Loads `bundle` as a CommonJS module, compiled with (and then refreshing) the code cache. */
function loadWithCodeCache(bundle, command, dirName, parent) {
  const vm = require('node:vm');
  const Module = require('node:module');
  const source = fs.readFileSync(bundle, 'utf8');
  const off = /^(0|off|false|no)$/i.test(process.env.PIDSCOPE_CODE_CACHE || '');
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache'), 'pidscope', dirName);
  // Keyed without hashing the source (node:crypto alone costs ~20 ms to load); V8 checks the
  // source itself and rejects a cache made for another one.
  const st = fs.statSync(bundle);
  const key = [process.version, process.arch, st.size, Math.round(st.mtimeMs)].join('-');
  const cacheFile = path.join(dir, key + '.' + command + '.v8');
  let cachedData;
  if (!off) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      /* first run with this bundle */
    }
  }
  const wrapper = Module.wrap(source);
  const script = new vm.Script(wrapper, { filename: bundle, cachedData, importModuleDynamically: undefined });
  const mod = new Module(bundle, parent);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(path.dirname(bundle));
  const req = (id) => mod.require(id);
  req.resolve = (id, opts) => Module._resolveFilename(id, mod, false, opts);
  req.main = process.mainModule;
  req.cache = Module._cache;
  if (!off && (cachedData === undefined || script.cachedDataRejected)) {
    // After the command ran, the functions it compiled are in the cache too. 'exit', not
    // 'beforeExit': the stdio DAP adapter ends with process.exit() (the debug adapter library's
    // shutdown), which skips 'beforeExit', so its cache was never written and every VS Code
    // session compiled the bundle from scratch. Everything below is synchronous, as 'exit' needs.
    process.once('exit', () => {
      try {
        const data = script.createCachedData();
        fs.mkdirSync(dir, { recursive: true });
        const tmp = cacheFile + '.' + process.pid + '.tmp';
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, cacheFile);
        for (const f of fs.readdirSync(dir)) {
          // Another bundle's or Node's cache (a temporary file only once it is an hour old).
          if (f.startsWith(key + '.')) continue;
          const old = path.join(dir, f);
          if (f.endsWith('.tmp') && Date.now() - fs.statSync(old).mtimeMs < 3600e3) continue;
          fs.rmSync(old, { force: true });
        }
      } catch {
        /* no cache: still correct, only slower */
      }
    });
  }
  script.runInThisContext({ displayErrors: true }).call(mod.exports, mod.exports, req, mod, bundle, path.dirname(bundle));
  mod.loaded = true;
  return mod.exports;
}

/**
 * V8 tiering for a short-lived process: 8× V8's interrupt budget, so a DAP session or an `eval`
 * does not pay for TurboFan compilations it ends before using (~40 ms of a ~170 ms cold DAP
 * session on bench:dap); adapter/src/util/v8budget.ts says more and sets the same value inside
 * the bundles. Called before a bundle is compiled: its code cache is made and checked under the
 * same flags. PIDSCOPE_V8_BUDGET=N sets another budget (0: V8's default).
 */
function raiseInterruptBudget() {
  const budget = /^\d{1,9}$/.test(process.env.PIDSCOPE_V8_BUDGET || '') ? Number(process.env.PIDSCOPE_V8_BUDGET) : 8 * 67584;
  if (budget > 0) require('node:v8').setFlagsFromString('--interrupt-budget=' + budget);
}

module.exports = { loadWithCodeCache, raiseInterruptBudget };
