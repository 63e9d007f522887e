/**
 * A live, read-only memory view that needs no other extension: a `pidscope-memory:` document
 * with an xxd-like dump, refreshed while it is visible (at the session's refresh interval and on
 * the adapter's `memory` events). VS Code's own hex view (View Binary Data, with the Hex Editor
 * extension) works too; this one is always there.
 */
import * as vscode from 'vscode';
import { decodeMemoryQuery, DEFAULT_COUNT, encodeMemoryQuery, hexDump, memoryDocName, type ReadMemoryBody } from './hexdump';

export const MEMORY_SCHEME = 'pidscope-memory';

export class MemoryViews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.OutputChannel) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(MEMORY_SCHEME, this),
      vscode.window.onDidChangeVisibleTextEditors(() => this.updateTimer()),
      vscode.debug.onDidTerminateDebugSession((s) => this.refreshSession(s.id)),
    );
  }

  /** Opens the view of `count` bytes at a memoryReference of a session. */
  async open(session: vscode.DebugSession, memoryReference: string, label: string, count = DEFAULT_COUNT): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({
      scheme: MEMORY_SCHEME,
      path: `/${memoryDocName(label)}`,
      query: encodeMemoryQuery({ session: session.id, memoryReference, offset: 0, count, label }),
    });
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Active });
    this.updateTimer();
    return editor;
  }

  /** The adapter's `memory` event: bytes changed in a range some view may show. */
  memoryChanged(sessionId: string, memoryReference: string): void {
    for (const uri of this.visibleUris()) {
      const p = decodeMemoryQuery(uri.query);
      if (p.session === sessionId && p.memoryReference === memoryReference) this.changed.fire(uri);
    }
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const p = decodeMemoryQuery(uri.query);
    const session = findSession(p.session);
    const header = `// ${p.label}: ${p.count} bytes at memory reference ${p.memoryReference}`;
    if (!session) return `${header}\n// The debug session has ended; this view no longer updates.\n`;
    try {
      const body = (await session.customRequest('readMemory', { memoryReference: p.memoryReference, offset: p.offset, count: p.count })) as ReadMemoryBody;
      const when = new Date().toISOString().slice(11, 23);
      return `${header}\n// live: read at ${when}, refreshed while visible — the process keeps running\n${hexDump(body, p.count)}\n`;
    } catch (e) {
      const msg = (e as Error).message;
      this.log.appendLine(`[memory] readMemory ${p.memoryReference} failed: ${msg}`);
      return `${header}\n// readMemory failed: ${msg}\n`;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.changed.dispose();
  }

  private visibleUris(): vscode.Uri[] {
    return vscode.window.visibleTextEditors.map((e) => e.document.uri).filter((u) => u.scheme === MEMORY_SCHEME);
  }

  private refreshSession(id: string): void {
    for (const uri of this.visibleUris()) if (decodeMemoryQuery(uri.query).session === id) this.changed.fire(uri);
  }

  /** Polls only while a memory view is visible, at the fastest refresh of their sessions. */
  private updateTimer(): void {
    const uris = this.visibleUris();
    if (!uris.length) {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer) return;
    const interval = Math.max(100, Math.min(...uris.map((u) => refreshMs(findSession(decodeMemoryQuery(u.query).session)))));
    this.timer = setInterval(() => {
      for (const uri of this.visibleUris()) if (findSession(decodeMemoryQuery(uri.query).session)) this.changed.fire(uri);
    }, interval);
  }
}

const sessions = new Map<string, vscode.DebugSession>();

/** Sessions by id (the API has no lookup): kept by the extension as they start and end. */
export function trackSessions(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidStartDebugSession((s) => sessions.set(s.id, s)),
    vscode.debug.onDidTerminateDebugSession((s) => sessions.delete(s.id)),
  );
  const active = vscode.debug.activeDebugSession;
  if (active) sessions.set(active.id, active);
}

export function findSession(id: string): vscode.DebugSession | undefined {
  return sessions.get(id);
}

function refreshMs(s: vscode.DebugSession | undefined): number {
  const r = s?.configuration.refreshIntervalMs;
  return typeof r === 'number' && r > 0 ? r : 500;
}
