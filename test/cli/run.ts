/** Runs the pidscope CLI from sources (node --import tsx adapter/src/main.ts) and captures everything. */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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

export interface LiveRun {
  /** null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `pidscope ARGS` while the test acts on it: `onOutput` sees everything printed so far
 * (stdout, then stderr) after each chunk, with the child (to send it a signal). `shell` is sh
 * code run first (e.g. `ulimit -n 600;`). A run still going after `timeoutMs` (default 60 s) is
 * killed and rejected as a hang, with the end of its output.
 */
export function pidscopeLive(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; shell?: string; onOutput?: (text: string, p: ChildProcessWithoutNullStreams) => void; timeoutMs?: number } = {},
): Promise<LiveRun> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, '--import', 'tsx', MAIN, ...args];
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const options = { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: 'pipe' as const };
    const p = opts.shell === undefined ? spawn(argv[0], argv.slice(1), options) : spawn('sh', ['-c', `${opts.shell} exec ${quoted}`], options);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
      opts.onOutput?.(stdout + stderr, p);
    });
    p.stderr.on('data', (d) => {
      stderr += d;
      opts.onOutput?.(stdout + stderr, p);
    });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`pidscope ${args.join(' ')} did not end in ${timeoutMs} ms (a hang); stdout: ${stdout.slice(-500)} stderr: ${stderr.slice(-800)}`));
    }, timeoutMs);
    // 'close', not 'exit': stdout may still hold the last lines when the process has exited.
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
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
