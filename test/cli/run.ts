/** Runs the pidscope CLI from sources (node --import tsx adapter/src/main.ts) and captures everything. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/fixtures';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const MAIN = join(REPO_ROOT, 'adapter', 'src', 'main.ts');

/**
 * Runs `pidscope ARGS` to its end. `prefix` runs the CLI through another command first (setpriv,
 * a seccomp wrapper…); `env` is added to ours; `timeoutMs` (default 60 s) only bounds a hang.
 */
export function pidscope(args: string[], opts: { prefix?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const prefix = opts.prefix ?? [];
  const argv = [...prefix, process.execPath, '--import', 'tsx', MAIN, ...args];
  return new Promise((resolve) => {
    execFile(
      argv[0],
      argv.slice(1),
      { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** One line, no stack trace: what every user-facing failure must look like. */
export function expectOneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  if (lines.length !== 1 || /\n\s+at /.test(stderr) || /internal error/.test(stderr)) {
    throw new Error(`expected one clear error line, got:\n${stderr}`);
  }
  return lines[0];
}
