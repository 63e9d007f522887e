import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterCommand } from './adapterLaunch';

describe('adapterCommand', () => {
  const ext = mkdtempSync(join(tmpdir(), 'pidscope-ext-'));
  afterAll(() => rmSync(ext, { recursive: true, force: true }));

  it("runs the bundled adapter with the extension host's Node (Electron as Node on desktop)", () => {
    expect(() => adapterCommand(ext, {}, '/usr/bin/node')).toThrow(/bundled debug adapter is missing/);
    mkdirSync(join(ext, 'dist', 'adapter'), { recursive: true });
    writeFileSync(join(ext, 'dist', 'adapter', 'pidscope-dap.js'), '');
    const c = adapterCommand(ext, {}, '/usr/bin/node');
    expect(c).toEqual({ command: '/usr/bin/node', args: [join(ext, 'dist', 'adapter', 'pidscope-dap.js')], env: { ELECTRON_RUN_AS_NODE: '1' } });
    expect(adapterCommand(ext, { nodePath: '/opt/node/bin/node' }, '/usr/bin/node').command).toBe('/opt/node/bin/node');
    // With its launcher (build.mjs writes it), the bundle runs with a V8 code cache.
    writeFileSync(join(ext, 'dist', 'adapter', 'launch.js'), '');
    expect(adapterCommand(ext, {}, '/usr/bin/node').args).toEqual([join(ext, 'dist', 'adapter', 'launch.js')]);
  });

  it("runs a developer's adapter: the CLI entry gets the dap command", () => {
    const cli = join(ext, 'pidscope.js');
    writeFileSync(cli, '');
    expect(adapterCommand(ext, { adapterPath: cli }, '/n').args).toEqual([cli, 'dap']);
    const bundle = join(ext, 'my-dap.js');
    writeFileSync(bundle, '');
    expect(adapterCommand(ext, { adapterPath: bundle }, '/n').args).toEqual([bundle]);
    expect(() => adapterCommand(ext, { adapterPath: join(ext, 'nope.js') }, '/n')).toThrow(/pidscope.adapter.path.*does not exist/);
  });
});
