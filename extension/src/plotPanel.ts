/**
 * The live plot panel: a webview fed by a Sampler that sends one batched `pidscope/sample`
 * request per tick to the pidscope debug session. Samples are forwarded to the webview in batches
 * (at most every BATCH_MS) so a fast sample rate does not flood the message channel.
 */
import * as vscode from 'vscode';
import { PlotData, type Marker, type Row, type SampleResult } from './plot/data';
import { Sampler } from './plot/sampler';
import type { FromWebview, LegendEntry, ToWebview } from './webview/protocol';

const BATCH_MS = 100;

export class PlotPanel implements vscode.Disposable {
  static current: PlotPanel | undefined;

  readonly data: PlotData;
  private readonly panel: vscode.WebviewPanel;
  private readonly sampler: Sampler;
  private session: vscode.DebugSession | undefined;
  private pendingRows: Row[] = [];
  private pendingMarkers: Marker[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private ready = false;
  private windowSeconds: number;
  private status = '';
  private disposables: vscode.Disposable[] = [];
  /** What the webview reported: paused view and window (for tests and state). */
  viewState = { paused: false, windowSeconds: 30 };

  static show(context: vscode.ExtensionContext, log: vscode.OutputChannel, session: vscode.DebugSession | undefined): PlotPanel {
    if (PlotPanel.current) {
      PlotPanel.current.panel.reveal(undefined, true);
      if (session) PlotPanel.current.attach(session);
      return PlotPanel.current;
    }
    PlotPanel.current = new PlotPanel(context, log, session);
    return PlotPanel.current;
  }

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.OutputChannel,
    session: vscode.DebugSession | undefined,
  ) {
    const cfg = vscode.workspace.getConfiguration('pidscope.plot');
    this.data = new PlotData(Math.max(100, cfg.get<number>('maxPoints', 100_000)));
    this.windowSeconds = cfg.get<number>('windowSeconds', 30);
    this.viewState.windowSeconds = this.windowSeconds;
    for (const e of context.workspaceState.get<string[]>('pidscope.plot.expressions', [])) this.data.add(e);

    this.panel = vscode.window.createWebviewPanel(
      'pidscope.plot',
      'pidscope: Live Plot',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')],
      },
    );
    this.panel.webview.html = this.html();
    this.panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    this.panel.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m), undefined, this.disposables);

    this.sampler = new Sampler(
      (expressions) => this.request(expressions),
      () => this.data.expressions,
      (s) => this.onSample(s),
      (msg) => {
        this.setStatus(`Sampling failed: ${msg}`);
        this.log.appendLine(`[plot] sample failed: ${msg}`);
      },
      { intervalMs: cfg.get<number>('sampleIntervalMs', 100) },
    );
    void vscode.commands.executeCommand('setContext', 'pidscope.plotOpen', true);
    if (session) this.attach(session);
    else this.setStatus('No pidscope debug session: start one (Run and Debug → pidscope) and the plot begins.');
  }

  /** Plots the samples of this session from now on (the data so far is kept). */
  attach(session: vscode.DebugSession): void {
    if (this.session?.id === session.id) return;
    this.session = session;
    this.setStatus(`Sampling ${session.name} every ${vscode.workspace.getConfiguration('pidscope.plot').get<number>('sampleIntervalMs', 100)} ms`);
    this.sampler.start();
  }

  sessionEnded(session: vscode.DebugSession): void {
    if (this.session?.id !== session.id) return;
    this.sampler.stop();
    this.session = undefined;
    this.setStatus(`Session ${session.name} ended; the samples are kept (Export CSV saves them).`);
  }

  addExpression(expression: string): boolean {
    const added = this.data.add(expression);
    if (added) this.expressionsChanged();
    return added;
  }

  removeExpression(expression: string): void {
    if (this.data.remove(expression)) this.expressionsChanged();
  }

  addMarker(m: Marker): void {
    this.data.addMarker(m);
    this.pendingMarkers.push(m);
    this.scheduleFlush();
  }

  clear(): void {
    this.data.clear();
    this.pendingRows = [];
    this.pendingMarkers = [];
    this.sendState();
  }

  async exportCsv(target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    let uri = target;
    if (!uri) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const name = `pidscope-plot-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`;
      uri = await vscode.window.showSaveDialog({
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
        filters: { CSV: ['csv'] },
        saveLabel: 'Export',
      });
    }
    if (!uri) return undefined;
    await vscode.workspace.fs.writeFile(uri, Buffer.from(this.data.toCsv(), 'utf8'));
    void vscode.window.showInformationMessage(
      `pidscope: ${this.data.rows.length} samples of ${this.data.expressions.length} expression(s) saved to ${uri.fsPath || uri.toString()}`,
    );
    return uri;
  }

  dispose(): void {
    if (PlotPanel.current === this) PlotPanel.current = undefined;
    this.sampler.stop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    void vscode.commands.executeCommand('setContext', 'pidscope.plotOpen', false);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private async request(expressions: string[]): Promise<SampleResult> {
    const s = this.session;
    if (!s) throw new Error('no debug session');
    return (await s.customRequest('pidscope/sample', { expressions })) as SampleResult;
  }

  private onSample(s: SampleResult): void {
    const row = this.data.addSample(s);
    this.pendingRows.push(row);
    this.scheduleFlush();
  }

  private legend(): Record<string, LegendEntry> {
    const out: Record<string, LegendEntry> = {};
    for (const e of this.data.expressions) out[e] = { text: this.data.textOf(e), error: this.data.errorOf(e) };
    return out;
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.ready) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const rows = this.pendingRows;
      const markers = this.pendingMarkers;
      this.pendingRows = [];
      this.pendingMarkers = [];
      if (rows.length || markers.length) this.post({ type: 'append', rows, markers, legend: this.legend() });
    }, BATCH_MS);
  }

  private expressionsChanged(): void {
    void this.context.workspaceState.update('pidscope.plot.expressions', [...this.data.expressions]);
    this.sendState();
    if (this.session && !this.sampler.isRunning) this.sampler.start();
  }

  private sendState(): void {
    if (!this.ready) return;
    this.pendingRows = [];
    this.pendingMarkers = [];
    this.post({
      type: 'state',
      expressions: [...this.data.expressions],
      rows: [...this.data.rows],
      markers: [...this.data.markers],
      windowSeconds: this.viewState.windowSeconds,
      legend: this.legend(),
      status: this.status,
    });
  }

  private setStatus(status: string): void {
    this.status = status;
    if (this.ready) this.post({ type: 'status', status });
  }

  private post(m: ToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private onMessage(m: FromWebview): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.sendState();
        break;
      case 'add':
        this.addExpression(m.expression);
        break;
      case 'remove':
        this.removeExpression(m.expression);
        break;
      case 'exportCsv':
        void this.exportCsv();
        break;
      case 'clear':
        this.clear();
        break;
      case 'view':
        this.viewState = { paused: m.paused, windowSeconds: m.windowSeconds };
        break;
    }
  }

  private html(): string {
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview.js'));
    const nonce = Array.from({ length: 32 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
    const windows = [10, 30, 60, 300, 0]
      .map((s) => `<option value="${s}"${s === this.windowSeconds ? ' selected' : ''}>${s === 0 ? 'All' : s < 60 ? `${s} s` : `${s / 60} min`}</option>`)
      .join('');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>pidscope: Live Plot</title>
<style nonce="${nonce}">
  html, body { height: 100%; margin: 0; padding: 0; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  header { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 6px 8px; border-bottom: 1px solid var(--vscode-panel-border); }
  form { display: flex; gap: 4px; flex: 1 1 260px; }
  input, select { background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; font: inherit; }
  input { flex: 1; min-width: 120px; }
  button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 4px 10px; cursor: pointer; font: inherit; }
  button.primary { background: var(--vscode-button-background); color: var(--vscode-button-foreground); }
  button:hover { filter: brightness(1.15); }
  #legend { display: flex; flex-wrap: wrap; gap: 6px; padding: 6px 8px; min-height: 22px; }
  .chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 4px 2px 8px; border-radius: 10px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); max-width: 100%; }
  .swatch { width: 10px; height: 10px; border-radius: 2px; flex: none; }
  .expr { font-family: var(--vscode-editor-font-family); }
  .value { font-family: var(--vscode-editor-font-family); opacity: 0.85; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 30ch; }
  .value.error { color: var(--vscode-errorForeground); }
  .chip .remove { background: transparent; color: inherit; padding: 0 6px; }
  .hint { opacity: 0.7; }
  #plot-wrap { flex: 1; position: relative; min-height: 120px; }
  #plot { position: absolute; inset: 0; width: 100%; height: 100%; }
  #status { padding: 3px 8px; opacity: 0.75; border-top: 1px solid var(--vscode-panel-border); min-height: 1.4em; }
  body.paused #plot-wrap { outline: 1px dashed var(--vscode-editorWarning-foreground); outline-offset: -3px; }
</style>
</head>
<body>
<header>
  <form id="add-form"><input id="add-input" placeholder="Expression to plot, e.g. g_counter" aria-label="Expression to plot"><button class="primary" type="submit">Add</button></form>
  <button id="pause" aria-pressed="false" title="Freeze the view; sampling continues">Pause view</button>
  <label>Window <select id="window" aria-label="Time window">${windows}</select></label>
  <label>Y axis <select id="scale" aria-label="Y axis scale"><option value="shared" selected>shared</option><option value="each">each series own range (%)</option></select></label>
  <button id="export" title="Save every sample as CSV">Export CSV</button>
  <button id="clear" title="Drop the samples so far">Clear</button>
</header>
<div id="legend"></div>
<div id="plot-wrap"><canvas id="plot" role="img" aria-label="Live plot of the chosen expressions over time"></canvas></div>
<div id="status"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
}
