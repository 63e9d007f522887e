/**
 * How the extension runs the debug adapter: a separate Node process running the bundled
 * `dist/adapter/pidscope-dap.js` (through `dist/adapter/launch.js`, which adds a V8 code cache),
 * or a developer's own adapter script. No `vscode` import.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface AdapterCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface AdapterSettings {
  /** pidscope.adapter.nodePath */
  nodePath?: string;
  /** pidscope.adapter.path: a pidscope CLI script (`adapter/bin/pidscope.js` or out/…/main.js, run with `dap`) or a dap bundle. */
  adapterPath?: string;
}

/**
 * In VS Code desktop the extension host runs inside Electron: `process.execPath` is the editor
 * binary, which behaves as plain Node with ELECTRON_RUN_AS_NODE=1. In code-server and other
 * servers it is Node already, and the variable is ignored.
 */
export function adapterCommand(extensionPath: string, settings: AdapterSettings, execPath = process.execPath): AdapterCommand {
  const node = settings.nodePath?.trim() || execPath;
  const env: Record<string, string> = { ELECTRON_RUN_AS_NODE: '1' };
  const custom = settings.adapterPath?.trim();
  if (custom) {
    if (!existsSync(custom)) {
      throw new Error(`the pidscope.adapter.path setting names ${custom}, which does not exist. Fix the setting or clear it to use the bundled adapter`);
    }
    // The CLI entry (bin/pidscope.js or main.ts) takes the `dap` command; a dap bundle takes none.
    const isCli = /(^|\/)pidscope(\.js)?$|(^|\/)main\.js$/.test(custom);
    return { command: node, args: [custom, ...(isCli ? ['dap'] : [])], env };
  }
  const bundled = join(extensionPath, 'dist', 'adapter', 'pidscope-dap.js');
  if (!existsSync(bundled)) {
    throw new Error(`the bundled debug adapter is missing (${bundled}). Fix: reinstall the pidscope extension, or set pidscope.adapter.path`);
  }
  // launch.js runs the same bundle with a V8 code cache (~20 ms less CPU per session).
  const launcher = join(extensionPath, 'dist', 'adapter', 'launch.js');
  return { command: node, args: [existsSync(launcher) ? launcher : bundled], env };
}
