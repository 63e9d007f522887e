// README promise: `npm start` (= `pidscope demo`) builds the fixtures, starts the demo program,
// shows its live values as gdb prints them and watch hits naming the writer, never stops it, and
// leaves nothing running. Real processes throughout; stdout is a pipe, so the plain snapshot form.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_EXPRESSIONS, demoValues } from '../../adapter/src/cli/demo';
import { Program } from '../../adapter/src/engine/program';
import { markerLine, REPO_ROOT, startFixture, type RunningFixture } from './fixtures';
import { gdbPrintResults } from './gdb';
import { hasHardwareWatchpoints, itHw, itPerf } from './hwGate';
import { pidscope } from '../cli/run';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> => pidscope(args, { env, timeoutMs: 120_000 });

/** Starts the demo command, waits for its first snapshot, then lets `act` do something to it. */
function runUntilFirstSnapshot(args: string[], act: (pid: number, child: ReturnType<typeof spawn>) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'adapter/src/main.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let acted = false;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no first snapshot within 120 s:\n${stdout}\n${stderr}`));
    }, 120_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const pid = Number(/pid (\d+)/.exec(stdout)?.[1]);
      if (!acted && pid && stdout.includes('--- snapshot 1 ')) {
        acted = true;
        act(pid, child);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function demoPid(stdout: string): number {
  const pid = Number(/pid (\d+) · /.exec(stdout)?.[1]);
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** `--- snapshot N` blocks: expression → printed text. */
function snapshots(stdout: string): Map<string, string>[] {
  return stdout
    .split(/^--- snapshot \d+ .*$/m)
    .slice(1)
    .map((block) => {
      const values = new Map<string, string>();
      for (const m of block.matchAll(/^ {2}(\S+)\s+= (.*)$/gm)) values.set(m[1], m[2]);
      return values;
    });
}

describe('pidscope demo (npm start)', () => {
  itHw(
    'shows the backend, gdb-style values that change, and hardware watch hits with the writer; stops the demo program',
    async () => {
      const r = await run(['demo', '--duration', '3']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pid = demoPid(r.stdout);
      expect(r.stdout).toMatch(/^memory backend: (pidfd-mem|vm-readv|proc-mem) — \S/m);
      expect(r.stdout).toMatch(/TracerPid: 0 \(target never stopped\)/);
      expect(r.stdout).not.toMatch(/TracerPid: [1-9]/);

      const snaps = snapshots(r.stdout);
      expect(snaps.length).toBeGreaterThanOrEqual(2);
      const ticks = snaps.map((s) => Number(s.get('g_tick')));
      expect(ticks.every(Number.isInteger)).toBe(true);
      expect(ticks[ticks.length - 1]).toBeGreaterThan(ticks[0]);
      const first = snaps[0];
      // gdb's print formats: enum names, structs in {a = …} notation with char* and char[] rules,
      // arrays of doubles in full precision, strings with gdb's repeats notation.
      expect(first.get('g_state')).toMatch(/^STATE_(IDLE|STARTING|SERVING|DRAINING|BACKOFF)$/);
      expect(first.get('g_config')).toMatch(
        /^\{name = 0x[0-9a-f]+ "pidscope-demo", port = 8443, workers = 4, timeout_ms = 1500, verbose = false, max_temperature = 80, region = "eu-north\\000\\000\\000"\}$/,
      );
      expect(first.get('g_latencies_ms')).toMatch(/^\{(-?[\d.e+-]+, ){7}-?[\d.e+-]+\}$/);
      expect(first.get('g_queue')).toMatch(/^\{head = 0x[0-9a-f]+, tail = 0x[0-9a-f]+, length = \d\}$/);
      expect(first.get('g_status_line')).toMatch(/^"(idle|starting|serving|draining|backoff): \d+ requests, \d queued", '\\000' <repeats \d+ times>$/);

      // Hardware watch hits name the writing function and the line of the #SERVE marker.
      expect(r.stdout).toMatch(/^watch: hardware watchpoints on g_state, g_requests_served/m);
      const serve = markerLine('demo.c', 'SERVE');
      const hits = [...r.stdout.matchAll(/^watch: g_requests_served: (\d+) → (\d+) by service_tick \(demo\.c:(\d+)\) \[tid \d+ service\]$/gm)];
      expect(hits.length).toBeGreaterThan(0);
      for (const h of hits) {
        expect(Number(h[3])).toBe(serve);
        expect(Number(h[2])).toBeGreaterThan(Number(h[1]));
      }
      const summary = new RegExp(
        `--duration 3 s elapsed; \\d+ snapshots, g_state: \\d+ writes, g_requests_served: (\\d+) writes; TracerPid stayed 0; demo program \\(pid ${pid}\\) stopped\\.`,
      ).exec(r.stdout);
      expect(summary).not.toBeNull();
      expect(Number(summary![1])).toBeGreaterThanOrEqual(hits.length);
      expect(alive(pid)).toBe(false);
    },
    180_000,
  );

  it('falls back to polling when perf is refused, and says why', async () => {
    const r = await run(['demo', '--duration', '3'], { PIDSCOPE_PERF: 'deny' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = demoPid(r.stdout);
    expect(r.stdout).toMatch(/^watch: polling g_state, g_requests_served every 50 ms because .*perf_event_open was refused.* \(changes only, no writer\)$/m);
    expect(r.stdout).toMatch(/^watch: g_requests_served: \d+ → \d+$/m);
    expect(alive(pid)).toBe(false);
  }, 180_000);

  itPerf(
    'where breakpoints never fire (PIDSCOPE_HWBP=nofire): says the watch falls back to polling and why, and shows the changes',
    async () => {
      const r = await run(['demo', '--duration', '3'], { PIDSCOPE_HWBP: 'nofire' });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pid = demoPid(r.stdout);
      expect(r.stdout).toMatch(
        /^watch: polling g_state, g_requests_served every 50 ms because hardware breakpoints do not fire on this host .*\(changes only, no writer\)$/m,
      );
      expect(r.stdout).toMatch(/^watch: g_requests_served: \d+ → \d+$/m);
      expect(r.stdout).toMatch(/g_requests_served: [1-9]\d* changes; TracerPid stayed 0/);
      expect(alive(pid)).toBe(false);
    },
    180_000,
  );

  it('Ctrl-C (SIGINT) stops cleanly: summary line, demo program gone', async () => {
    const r = await runUntilFirstSnapshot(['demo', '--duration', '600'], (_pid, child) => child.kill('SIGINT'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = demoPid(r.stdout);
    expect(r.stdout).toMatch(new RegExp(`pidscope demo: stopped by Ctrl-C; .*demo program \\(pid ${pid}\\) stopped\\.`));
    expect(alive(pid)).toBe(false);
  }, 180_000);

  it('says so and exits non-zero when the demo program dies', async () => {
    const r = await runUntilFirstSnapshot(['demo', '--duration', '600'], (pid) => process.kill(pid, 'SIGKILL'));
    expect(r.code).toBe(1);
    const pid = demoPid(r.stdout);
    expect(r.stderr).toMatch(new RegExp(`^pidscope demo: the demo program \\(pid ${pid}\\) died on its own \\(killed by SIGKILL\\)`, 'm'));
    expect(r.stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
    expect(alive(pid)).toBe(false);
  }, 180_000);
});

describe('pidscope demo: the values panel is what gdb prints', () => {
  let fx: RunningFixture | undefined;
  afterAll(async () => {
    if (fx && !fx.hasExited()) {
      process.kill(fx.pid, 'SIGCONT');
      await fx.stop();
    }
  });

  it('every expression of the panel equals gdb print on the same (held still) process', async () => {
    fx = await startFixture('demo', { args: ['--tick-ms', '20'] });
    await new Promise((r) => setTimeout(r, 300)); // past the first ticks: queue and ring filled
    // The test (not pidscope) stops the demo so that both read the same values; gdb stops it anyway.
    process.kill(fx.pid, 'SIGSTOP');
    const program = await Program.open(fx.pid);
    let ours;
    try {
      ours = demoValues(program, { charset: 'utf-8' });
    } finally {
      program.close();
    }
    // Only the queue head may be unreadable (NULL when the queue is empty), as in gdb.
    expect(ours.filter((v) => v.error && v.expression !== '*g_queue.head')).toEqual([]);
    const theirs = await gdbPrintResults(fx.pid, [...DEMO_EXPRESSIONS]);
    expect(ours.map((v) => `${v.expression} = ${v.text}`)).toEqual(DEMO_EXPRESSIONS.map((e, i) => `${e} = ${theirs[i].ok ? theirs[i].text : theirs[i].error}`));
  }, 180_000);
});

describe('pidscope demo on a terminal', () => {
  const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
  it.skipIf(script.status !== 0)(
    'redraws in place with ANSI, restores the cursor, stops the demo program',
    async () => {
      // util-linux `script` gives the command a pseudo-terminal, as a newcomer's terminal would.
      const r = await new Promise<Result>((resolve) => {
        const inner = `stty cols 120 rows 45; exec ${JSON.stringify(process.execPath)} --import tsx adapter/src/main.ts demo --duration 3`;
        execFile('script', ['-qfec', inner, '/dev/null'], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect(r.code).toBe(0);
      const text = r.stdout;
      const pid = Number(/pid (\d+) · /.exec(text)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(text).toContain('\x1b[?25l'); // cursor hidden while drawing
      expect(text.lastIndexOf('\x1b[?25h')).toBeGreaterThan(text.lastIndexOf('\x1b[?25l')); // and restored
      const redraws = text.match(/\x1b\[\d+F/g) ?? []; // cursor back to the frame's first line
      expect(redraws.length).toBeGreaterThanOrEqual(3);
      const plain = text.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
      // Hardware where debug-register traps work; polling (no writer) on hosts without them.
      expect(plain).toMatch(hasHardwareWatchpoints ? /^watch hits — hardware watchpoints/m : /^watch hits — polling g_state/m);
      expect(plain).toMatch(hasHardwareWatchpoints ? /g_requests_served: \d+ → \d+ by service_tick \(demo\.c:\d+\)/ : /g_requests_served: \d+ → \d+/);
      expect(plain).toMatch(/--duration 3 s elapsed; .*TracerPid stayed 0; demo program \(pid \d+\) stopped\./);
      expect(plain).not.toContain('--- snapshot'); // the pipe form is not used on a terminal
      expect(alive(pid)).toBe(false);
    },
    180_000,
  );
});

describe('pidscope demo: bad surroundings', () => {
  it('a reader that goes away (| head) ends it cleanly, demo program gone', async () => {
    const r = await new Promise<Result & { pid: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'adapter/src/main.ts', 'demo', '--duration', '600'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let pid = 0;
      const deadline = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`did not end after its output closed:\n${stdout}\n${stderr}`));
      }, 120_000);
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
        pid ||= Number(/pid (\d+) · /.exec(stdout)?.[1] ?? 0);
        if (pid && /^memory backend/m.test(stdout)) child.stdout.destroy(); // like `| head -3`
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('exit', (code) => {
        clearTimeout(deadline);
        resolve({ code: code ?? 1, stdout, stderr, pid });
      });
    });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(r.code).toBe(0);
    expect(r.pid).toBeGreaterThan(0);
    expect(alive(r.pid)).toBe(false);
  }, 180_000);

  it('without make: one clear line naming the fix', async () => {
    const r = await run(['demo', '--duration', '1'], { PATH: '/nonexistent' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/`make` is not installed.*apt-get install -y build-essential/);
  }, 60_000);
});
