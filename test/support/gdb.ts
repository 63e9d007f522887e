/**
 * gdb as the oracle: what pidscope shows must equal what gdb prints on the same live process.
 *
 * Every helper runs ONE `gdb -batch -p PID` for all its requests (attaching costs ~0.3 s).
 * gdb STOPS the target while attached (ptrace): never run it while a never-stopped check
 * (test/support/proc.ts) samples the same pid, and only compare values that hold still.
 *
 *   const [a, b] = await gdbPrint(pid, ['g_int', 'g_rect']);   // '123456789', '{top_left = ...}'
 *   const bytes = await gdbReadBytes(pid, addr, 64);
 *
 * gdb runs with -nx (no ~/.gdbinit), debuginfod off, pagination off, width 0 (no wrapping),
 * LC_ALL=C.UTF-8 (gdb's charset follows the locale) and otherwise gdb's default print settings
 * (print elements 200, repeats 10, ...), which is what pidscope imitates. Pass `settings` for more `set ...` commands.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GdbOptions {
  /** Executable to load symbols from (default: gdb finds /proc/PID/exe by itself). */
  binary?: string;
  /** Extra gdb commands run before attaching, e.g. ['set print pretty on']. */
  settings?: string[];
  /** Whole-invocation timeout (default 60 s). */
  timeoutMs?: number;
  /**
   * LC_ALL for gdb (default 'C.UTF-8'). gdb's host charset follows the locale: with UTF-8 it
   * prints valid multibyte sequences in char arrays as characters (`"ޭ\276..."`), with 'C' as
   * octal escapes. Pinned so results do not depend on the caller's environment.
   */
  locale?: string;
}

/** One request in a batch. */
export type GdbRequest =
  | { kind: 'print'; expr: string; format?: string }
  | { kind: 'ptype'; expr: string }
  | { kind: 'whatis'; expr: string }
  | { kind: 'read'; address: bigint; length: number }
  | { kind: 'command'; command: string };

/** Result of one request: output text (or bytes for 'read'), or gdb's error message. */
export type GdbResult = { ok: true; text: string; bytes?: Buffer } | { ok: false; error: string };

// Runs inside gdb: executes each request with errors caught one by one, so one bad expression
// does not hide the others, and writes all results as JSON (no parsing of mixed stdout/stderr).
const SCRIPT = String.raw`
import gdb, json, re, sys
with open(sys_argv_in) as f:
    reqs = json.load(f)
out = []
for r in reqs:
    try:
        k = r['kind']
        if k == 'read':
            mem = gdb.selected_inferior().read_memory(int(r['address']), int(r['length']))
            out.append({'ok': True, 'text': '', 'hex': bytes(mem).hex()})
            continue
        if k == 'print':
            fmt = ('/' + r['format']) if r.get('format') else ''
            text = gdb.execute('print' + fmt + ' ' + r['expr'], to_string=True)
            text = re.sub(r'^\$\d+ = ', '', text, count=1)
        elif k == 'ptype' or k == 'whatis':
            text = gdb.execute(k + ' ' + r['expr'], to_string=True)
            text = re.sub(r'^type = ', '', text, count=1)
        else:
            text = gdb.execute(r['command'], to_string=True)
        out.append({'ok': True, 'text': text[:-1] if text.endswith('\n') else text})
    except Exception as e:
        out.append({'ok': False, 'error': str(e)})
with open(sys_argv_out, 'w') as f:
    json.dump({'pid': gdb.selected_inferior().pid, 'results': out}, f)
`;

/** Runs every request in one gdb attach to `pid`; results are in request order. */
export async function gdbBatch(pid: number, requests: GdbRequest[], options: GdbOptions = {}): Promise<GdbResult[]> {
  if (requests.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-gdb-'));
  try {
    const inPath = join(dir, 'in.json');
    const outPath = join(dir, 'out.json');
    const scriptPath = join(dir, 'run.py');
    writeFileSync(inPath, JSON.stringify(requests.map((r) => (r.kind === 'read' ? { ...r, address: r.address.toString() } : r))));
    writeFileSync(scriptPath, `sys_argv_in = ${JSON.stringify(inPath)}\nsys_argv_out = ${JSON.stringify(outPath)}\n${SCRIPT}`);
    const args = [
      '-nx',
      '-batch',
      '-iex',
      'set debuginfod enabled off',
      '-iex',
      'set pagination off',
      '-iex',
      'set width 0',
      '-iex',
      'set height 0',
      '-iex',
      'set confirm off',
      ...(options.settings ?? []).flatMap((s) => ['-iex', s]),
      ...(options.binary ? [options.binary] : []),
      '-p',
      String(pid),
      '-x',
      scriptPath,
    ];
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      const env = { ...process.env, LC_ALL: options.locale ?? 'C.UTF-8' };
      execFile('gdb', args, { env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('gdb is not installed: apt-get install gdb'));
        } else {
          resolve({ stdout, stderr });
        }
      });
    });
    let raw: string;
    try {
      raw = readFileSync(outPath, 'utf8');
    } catch {
      throw new Error(`gdb -p ${pid} produced no results (attach failed?).\nstderr: ${stderr.trim()}\nstdout: ${stdout.trim().slice(0, 2000)}`);
    }
    const { pid: attached, results: parsed } = JSON.parse(raw) as { pid: number; results: { ok: boolean; text?: string; hex?: string; error?: string }[] };
    if (attached !== pid) {
      // Without a live process gdb would print the values in the executable file: never an oracle.
      throw new Error(`gdb could not attach to pid ${pid} (is it running? ptrace permission?).\nstderr: ${stderr.trim()}`);
    }
    return parsed.map((r) =>
      r.ok
        ? { ok: true as const, text: r.text ?? '', bytes: r.hex !== undefined ? Buffer.from(r.hex, 'hex') : undefined }
        : { ok: false as const, error: r.error ?? 'unknown gdb error' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `print EXPR` for each expression, in one attach. Each result is the text after `$N = `
 * (may span lines when settings ask for it), or gdb's error message (e.g.
 * `No symbol "nope" in current context.`) for expressions gdb rejects.
 */
export async function gdbPrint(pid: number, exprs: string[], options: GdbOptions = {}): Promise<string[]> {
  const results = await gdbBatch(
    pid,
    exprs.map((expr) => ({ kind: 'print' as const, expr })),
    options,
  );
  return results.map((r) => (r.ok ? r.text : r.error));
}

/** Like gdbPrint but keeps success and error apart. */
export async function gdbPrintResults(pid: number, exprs: string[], options: GdbOptions = {}): Promise<GdbResult[]> {
  return gdbBatch(
    pid,
    exprs.map((expr) => ({ kind: 'print' as const, expr })),
    options,
  );
}

/** `ptype EXPR` for each expression (text after `type = `, usually several lines). */
export async function gdbPtype(pid: number, exprs: string[], options: GdbOptions = {}): Promise<string[]> {
  const results = await gdbBatch(
    pid,
    exprs.map((expr) => ({ kind: 'ptype' as const, expr })),
    options,
  );
  return results.map((r) => (r.ok ? r.text : r.error));
}

/** `whatis EXPR` for each expression (text after `type = `). */
export async function gdbWhatis(pid: number, exprs: string[], options: GdbOptions = {}): Promise<string[]> {
  const results = await gdbBatch(
    pid,
    exprs.map((expr) => ({ kind: 'whatis' as const, expr })),
    options,
  );
  return results.map((r) => (r.ok ? r.text : r.error));
}

/** Raw gdb commands (e.g. 'info address g_int', 'x/4xw &g_int'); output or error per command. */
export async function gdbCommands(pid: number, commands: string[], options: GdbOptions = {}): Promise<string[]> {
  const results = await gdbBatch(
    pid,
    commands.map((command) => ({ kind: 'command' as const, command })),
    options,
  );
  return results.map((r) => (r.ok ? r.text : r.error));
}

/**
 * Bytes of [address, address+length) as gdb reads them (inferior.read_memory). Throws gdb's
 * message (`Cannot access memory at address 0x…`) when any byte is unreadable.
 */
export async function gdbReadBytes(pid: number, address: bigint, length: number, options: GdbOptions = {}): Promise<Buffer> {
  const [r] = await gdbBatch(pid, [{ kind: 'read', address, length }], options);
  if (!r.ok) throw new Error(r.error);
  return r.bytes!;
}

/** Several ranges in one attach: a Buffer per readable range, an Error per unreadable one. */
export async function gdbReadMany(pid: number, ranges: { address: bigint; length: number }[], options: GdbOptions = {}): Promise<(Buffer | Error)[]> {
  const results = await gdbBatch(
    pid,
    ranges.map((r) => ({ kind: 'read' as const, ...r })),
    options,
  );
  return results.map((r) => (r.ok ? r.bytes! : new Error(r.error)));
}
