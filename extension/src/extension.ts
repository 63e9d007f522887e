/**
 * The pidscope VS Code extension: a `pidscope` debugger (attach only; the target is never
 * stopped), the process picker, actionable attach errors, a status bar item, and the live plot.
 * The adapter runs as its own process (dist/adapter/launch.js → pidscope-dap.js); this file only wires VS Code.
 */
import * as vscode from 'vscode';
import { adapterCommand } from './adapterLaunch';
import { ACTION_LABELS, checkTarget, classifyAttachError, ConfigProblem, defaultConfig, readProcFacts, resolveConfig, type ProblemAction } from './config';
import { ancestry, listAttachable } from '../../adapter/src/proc/attachable';
import { toPickItem, type ProcessInfo } from './processes';
import { describeRemote, listRemoteProcesses, remoteAdapterCommand, remoteOf } from './remote';
import { PlotPanel } from './plotPanel';
import { markerFromOutput } from './watchHits';
import { MemoryViews, trackSessions } from './memoryView';

const TYPE = 'pidscope';

interface SessionInfo {
  pid?: number;
  name?: string;
  backend?: string;
  reasons?: unknown;
}

const BACKEND_LABELS: Record<string, string> = {
  'pidfd-mem': 'pidfd-mem (zero-copy)',
  'vm-readv': 'process_vm_readv',
  'proc-mem': '/proc/PID/mem',
};

let log: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let memoryViews: MemoryViews;
const infos = new Map<string, SessionInfo>();

export function activate(context: vscode.ExtensionContext): void {
  log = vscode.window.createOutputChannel('pidscope');
  status = vscode.window.createStatusBarItem('pidscope.status', vscode.StatusBarAlignment.Left, 50);
  status.name = 'pidscope';
  status.command = 'pidscope.showInfo';
  context.subscriptions.push(log, status);
  trackSessions(context);
  memoryViews = new MemoryViews(log);
  context.subscriptions.push(memoryViews);

  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(TYPE, new ConfigProvider()),
    vscode.debug.registerDebugConfigurationProvider(TYPE, new DynamicConfigProvider(), vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(TYPE, new AdapterFactory(context)),
    vscode.debug.registerDebugAdapterTrackerFactory(TYPE, { createDebugAdapterTracker: (s) => new Tracker(s) }),
    vscode.debug.onDidChangeActiveDebugSession(() => updateStatus()),
    vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.type !== TYPE) return;
      infos.delete(s.id);
      PlotPanel.current?.sessionEnded(s);
      updateStatus();
    }),
    vscode.commands.registerCommand('pidscope.pickProcess', pickProcess),
    vscode.commands.registerCommand('pidscope.attach', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      return vscode.debug.startDebugging(folder, defaultConfig());
    }),
    vscode.commands.registerCommand('pidscope.plot.open', () => {
      PlotPanel.show(context, log, pidscopeSession());
    }),
    vscode.commands.registerCommand('pidscope.plot.addExpression', async (expression?: string) => {
      const e =
        typeof expression === 'string'
          ? expression
          : await vscode.window.showInputBox({
              title: 'pidscope: Add Expression to Live Plot',
              prompt: 'A C expression over globals whose value is a number, e.g. g_counter or cfg.workers[0].load * 100',
              placeHolder: 'g_counter',
              ignoreFocusOut: true,
            });
      if (!e?.trim()) return;
      PlotPanel.show(context, log, pidscopeSession()).addExpression(e);
    }),
    vscode.commands.registerCommand('pidscope.plot.addVariable', (arg?: unknown) => {
      const e = expressionFromContext(arg);
      if (!e) {
        void vscode.window.showWarningMessage(
          'pidscope: this item has no expression to plot (it has no evaluateName). Use "pidscope: Add Expression to Live Plot" and type it.',
        );
        return;
      }
      PlotPanel.show(context, log, pidscopeSession()).addExpression(e);
    }),
    vscode.commands.registerCommand('pidscope.plot.exportCsv', async (target?: vscode.Uri | string) => {
      const panel = PlotPanel.current;
      if (!panel) return undefined;
      const uri = typeof target === 'string' ? vscode.Uri.file(target) : target;
      return (await panel.exportCsv(uri))?.toString();
    }),
    vscode.commands.registerCommand('pidscope.plot.clear', () => PlotPanel.current?.clear()),
    vscode.commands.registerCommand('pidscope.showInfo', showInfo),
    vscode.commands.registerCommand('pidscope.viewMemory', viewMemory),
  );
  updateStatus();
}

export function deactivate(): void {
  PlotPanel.current?.dispose();
}

function pidscopeSession(): vscode.DebugSession | undefined {
  const active = vscode.debug.activeDebugSession;
  if (active?.type === TYPE) return active;
  return undefined;
}

/** The expression behind a Variables/Watch context-menu item. */
function expressionFromContext(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const a = arg as { variable?: { evaluateName?: string; name?: string }; expression?: string; evaluateName?: string } | undefined;
  return a?.variable?.evaluateName ?? a?.evaluateName ?? a?.expression ?? undefined;
}

/**
 * The live memory view of a variable (context menu) or of an expression (command palette):
 * what VS Code's hex view shows, without needing the Hex Editor extension, and it stays live.
 */
async function viewMemory(arg?: unknown): Promise<void> {
  const a = arg as { sessionId?: string; variable?: { memoryReference?: string; evaluateName?: string; name?: string } } | undefined;
  const session = pidscopeSession();
  if (!session) {
    void vscode.window.showWarningMessage('pidscope: start a pidscope debug session first.');
    return;
  }
  let ref = a?.variable?.memoryReference;
  let label = a?.variable?.evaluateName ?? a?.variable?.name ?? '';
  if (!ref) {
    const expression =
      typeof arg === 'string'
        ? arg
        : label ||
          (await vscode.window.showInputBox({
            title: 'pidscope: View Memory',
            prompt: 'An expression with an address (a global, &x, a pointer, an array), or an address like 0x5555...',
            placeHolder: 'g_counter',
            ignoreFocusOut: true,
          }));
    if (!expression?.trim()) return;
    label = expression.trim();
    try {
      const r = (await session.customRequest('evaluate', { expression: label, context: 'watch' })) as { memoryReference?: string };
      ref = r.memoryReference;
    } catch (e) {
      void vscode.window.showErrorMessage(`pidscope: ${label}: ${(e as Error).message}`);
      return;
    }
    if (!ref && /^(0x[0-9a-f]+|\d+)$/i.test(label)) ref = label;
    if (!ref) {
      void vscode.window.showErrorMessage(`pidscope: ${label} has no address in memory (it is a computed value). Try &(${label}) or a variable.`);
      return;
    }
  }
  await memoryViews.open(session, ref, label || ref);
}

/** `${command:pickProcess}`: VS Code passes the launch configuration, which may name a remote host. */
async function pickProcess(config?: Record<string, unknown>): Promise<string | undefined> {
  let remote;
  try {
    remote = config && typeof config === 'object' ? remoteOf(config) : undefined;
  } catch (e) {
    void showProblem(e);
    return undefined;
  }
  let list: ProcessInfo[];
  if (remote) {
    const r = remote;
    try {
      list = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `pidscope: listing processes through ${describeRemote(r)}…` },
        () => listRemoteProcesses(r),
      );
    } catch (e) {
      log.appendLine(`[picker] ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`pidscope: ${(e as Error).message}`);
      return undefined;
    }
  } else {
    list = listAttachable({ excludePids: ancestry(process.pid) });
  }
  const items = list.map(toPickItem);
  if (items.length === 0) {
    void vscode.window.showWarningMessage(
      'pidscope: none of your processes can be attached to. Start your program first (it keeps running; pidscope never stops it).',
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: `pidscope: attach to a running process${remote ? ` on ${describeRemote(remote)}` : ''} (it will not be stopped)`,
    placeHolder: 'Type to filter by name, pid, user or command line',
    matchOnDescription: true,
    matchOnDetail: true,
    ignoreFocusOut: true,
  });
  return picked ? String(picked.pid) : undefined;
}

class ConfigProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [defaultConfig()];
  }

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined | null {
    try {
      remoteOf(config);
      return resolveConfig(config) as vscode.DebugConfiguration;
    } catch (e) {
      void showProblem(e);
      return undefined;
    }
  }

  resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.DebugConfiguration | undefined | null {
    try {
      // A remote pid is checked by the remote adapter: this host's /proc knows nothing of it.
      if (remoteOf(config)) return config.pid === undefined || config.pid === '' ? (config.processName ? config : undefined) : config;
      const checked = checkTarget(config as never, readProcFacts());
      if (!checked) log.appendLine('[config] no process picked; the session was not started');
      return checked as vscode.DebugConfiguration | undefined;
    } catch (e) {
      void showProblem(e);
      return undefined;
    }
  }
}

/** "pidscope: attach…" entries in the Run view's dropdown (no launch.json needed). */
class DynamicConfigProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [defaultConfig()];
  }
}

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly context: vscode.ExtensionContext) {}

  createDebugAdapterDescriptor(session: vscode.DebugSession, executable: vscode.DebugAdapterExecutable | undefined): vscode.DebugAdapterDescriptor {
    if (executable) return executable;
    const cfg = vscode.workspace.getConfiguration('pidscope.adapter');
    const local = adapterCommand(this.context.extensionPath, { nodePath: cfg.get<string>('nodePath'), adapterPath: cfg.get<string>('path') });
    const remote = remoteOf(session.configuration);
    const cmd = remote ? remoteAdapterCommand(local, remote) : local;
    log.appendLine(`[session ${session.name}] adapter: ${cmd.command} ${cmd.args.join(' ')}`);
    return new vscode.DebugAdapterExecutable(cmd.command, cmd.args, { env: cmd.env });
  }
}

/** Watches the protocol: attach errors, the session's target info, watchpoint-hit markers. */
class Tracker implements vscode.DebugAdapterTracker {
  constructor(private readonly session: vscode.DebugSession) {}

  onDidSendMessage(m: { type?: string; command?: string; success?: boolean; message?: string; event?: string; body?: Record<string, unknown> }): void {
    if (m.type === 'response' && m.command === 'attach') {
      if (m.success) void fetchInfo(this.session);
      else void showAttachError(this.session, m);
    } else if (m.type === 'event' && m.event === 'memory') {
      const ref = (m.body as { memoryReference?: string } | undefined)?.memoryReference;
      if (ref) memoryViews.memoryChanged(this.session.id, ref);
    } else if (m.type === 'event' && m.event === 'output') {
      const marker = markerFromOutput(m.body as never);
      if (marker) PlotPanel.current?.addMarker(marker);
    }
  }

  onError(e: Error): void {
    log.appendLine(`[session ${this.session.name}] adapter error: ${e.message}`);
  }

  onExit(code: number | undefined, signal: string | undefined): void {
    log.appendLine(`[session ${this.session.name}] adapter exited (code ${code ?? '-'}${signal ? `, signal ${signal}` : ''})`);
    if (code && code !== 0) {
      void vscode.window
        .showErrorMessage(
          `pidscope: the debug adapter stopped unexpectedly (exit code ${code}). The target process was not touched. See the pidscope output for details.`,
          'Show Log',
        )
        .then((a) => {
          if (a) log.show();
        });
    }
  }
}

async function fetchInfo(session: vscode.DebugSession): Promise<void> {
  try {
    const info = (await session.customRequest('pidscope/info')) as SessionInfo;
    infos.set(session.id, info ?? {});
    log.appendLine(
      `[session ${session.name}] attached: pid ${info?.pid} (${info?.name}), backend ${info?.backend}${info?.reasons ? `; ${JSON.stringify(info.reasons)}` : ''}`,
    );
  } catch (e) {
    infos.set(session.id, {});
    log.appendLine(`[session ${session.name}] pidscope/info failed: ${(e as Error).message}`);
  }
  updateStatus();
}

function updateStatus(): void {
  const s = pidscopeSession();
  const info = s ? infos.get(s.id) : undefined;
  if (!s || !info) {
    status.hide();
    return;
  }
  const backend = info.backend ? (BACKEND_LABELS[info.backend] ?? info.backend) : 'unknown backend';
  status.text = `$(pulse) ${info.name ?? 'pid'} ${info.pid ?? ''} · ${backend}`;
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**pidscope** — live, the process is never stopped\n\n`);
  md.appendMarkdown(`Target: \`${info.name ?? '?'}\` (pid ${info.pid ?? '?'})\n\nMemory backend: ${backend}\n\n`);
  if (info.reasons) md.appendCodeblock(typeof info.reasons === 'string' ? info.reasons : JSON.stringify(info.reasons, null, 2), 'text');
  md.appendMarkdown(`\nClick for details.`);
  status.tooltip = md;
  status.show();
}

async function showInfo(): Promise<void> {
  const s = pidscopeSession();
  if (!s) {
    void vscode.window.showInformationMessage('pidscope: no pidscope debug session is active.');
    return;
  }
  await fetchInfo(s);
  const info = infos.get(s.id) ?? {};
  const backend = info.backend ? (BACKEND_LABELS[info.backend] ?? info.backend) : 'unknown';
  const a = await vscode.window.showInformationMessage(
    `pidscope: ${info.name ?? '?'} (pid ${info.pid ?? '?'}), memory backend ${backend}. The process keeps running.`,
    'Open Live Plot',
    'Show Log',
  );
  if (a === 'Open Live Plot') await vscode.commands.executeCommand('pidscope.plot.open');
  else if (a === 'Show Log') log.show();
}

async function showProblem(e: unknown): Promise<void> {
  if (e instanceof ConfigProblem) {
    log.appendLine(`[config] ${e.message}`);
    await offer(`pidscope: ${e.message}`, e.actions, undefined);
  } else {
    log.appendLine(`[config] ${(e as Error)?.stack ?? String(e)}`);
    await offer(`pidscope: ${(e as Error)?.message ?? String(e)}`, ['showLog'], undefined);
  }
}

async function showAttachError(session: vscode.DebugSession, m: { message?: string; body?: Record<string, unknown> }): Promise<void> {
  const err = (m.body?.error ?? {}) as { format?: string; variables?: Record<string, string> };
  let text = err.format ?? m.message ?? 'attach failed';
  for (const [k, v] of Object.entries(err.variables ?? {})) text = text.split(`{${k}}`).join(v);
  log.appendLine(`[session ${session.name}] attach failed: ${text}`);
  const { title, actions } = classifyAttachError(text);
  await offer(`${title}: ${text}`, actions, session);
}

async function offer(message: string, actions: ProblemAction[], session: vscode.DebugSession | undefined): Promise<void> {
  const labels = actions.map((a) => ACTION_LABELS[a]);
  const picked = await vscode.window.showErrorMessage(message, ...labels);
  const action = actions[labels.indexOf(picked ?? '')];
  switch (action) {
    case 'openLaunchJson':
    case 'addDebugSearchPath': {
      const folder = session?.workspaceFolder ?? vscode.workspace.workspaceFolders?.[0];
      if (folder) {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, '.vscode', 'launch.json')).then(
          (d) => d,
          () => undefined,
        );
        if (doc) {
          const editor = await vscode.window.showTextDocument(doc);
          if (action === 'addDebugSearchPath') {
            const i = doc.getText().indexOf('"debugSearchPaths"');
            if (i >= 0) editor.selection = new vscode.Selection(doc.positionAt(i), doc.positionAt(i));
            void vscode.window.showInformationMessage(
              'pidscope: add "debugSearchPaths": ["/dir/with/debug/files"] to the configuration (where the .debug files or a build-id tree live), or rebuild the program with -g.',
            );
          }
          break;
        }
      }
      await vscode.commands.executeCommand('debug.addConfiguration');
      break;
    }
    case 'pickProcess':
      await vscode.commands.executeCommand('pidscope.attach');
      break;
    case 'permissionHelp':
      void vscode.window.showInformationMessage(
        "pidscope reads another process's memory the way a debugger does, so Linux asks for ptrace permission: the same user, and with Yama ptrace_scope=1 (Ubuntu's default) either CAP_SYS_PTRACE " +
          '(sudo setcap cap_sys_ptrace=eip on the node binary that runs the adapter), or `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope` on a development machine. pidscope still never stops the process.',
        { modal: true },
      );
      break;
    case 'showLog':
      log.show();
      break;
  }
}
