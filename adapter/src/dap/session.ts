/**
 * The DAP session: request → engine call → response/event, nothing else. No Linux, no DWARF:
 * the engine's Program evaluates, formats and expands; `AttachedProcess` reports threads, the
 * memory map and exit.
 *
 * The live view (how stock VS Code shows values of a process that never stops):
 *   - a synthetic thread "Live view" is reported `stopped` (reason 'entry', description
 *     'live view — the process keeps running'); it is the only thread ever reported stopped;
 *   - its one frame has the scopes: one per module with globals (grouped by compile unit),
 *     Threads, Memory map (and Recent writes when data breakpoints are set);
 *   - real threads come from /proc/PID/task with their names and are always running;
 *   - `pause` (on any thread) freezes the VIEW: one batched read, a consistent snapshot;
 *     `continue` resumes live values. The target is never stopped by either;
 *   - every refreshIntervalMs the adapter re-reads what the client shows (one batched read) and
 *     sends `invalidated`/`memory` events only for what changed (see liveView.ts).
 */
import { ThreadSnapshots } from './stacks';
import {
  DebugSession,
  Response,
  Event,
  OutputEvent,
  StoppedEvent,
  TerminatedEvent,
  ExitedEvent,
  InitializedEvent,
  InvalidatedEvent,
  MemoryEvent,
  ProgressStartEvent,
  ProgressEndEvent,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename } from 'node:path';
import { PassThrough } from 'node:stream';
import { PidscopeError } from '../errors';
import { Program } from '../engine/program';
import type { VariableSymbol } from '../symbols/provider';
import type { TargetObject } from '../value/object';
import { parseAttachArgs, type AttachArguments, type AttachConfig } from './attachArgs';
import type { AttachedProcess, GoneInfo, Opener } from './attached';
import { completionItems } from './completions';
import { badArgs, fillErrorResponse, notAttached, notSupported, writesDisabled } from './errors';
import { RefTable, decodeMemoryReference, encodeMemoryReference } from './handles';
import { LiveView } from './liveView';
import { sampleOne } from './sample';
import { ViewMemory } from './viewMemory';
import { DataBreakpoints } from './watchpoints';
import { DapFramer, type FrameEvent } from './framing';
import { assign } from './assign';
import { applyPolicy, processLookup, STDIO_POLICY, type ServerPolicy } from './policy';
import { safe, Variables, type Attachment, type Container, type ModuleGlobals } from './variables';
import { hex } from '../util/hex';

/** Above any Linux tid (PID_MAX_LIMIT is 2^22), below 2^31. */
export const LIVE_THREAD_ID = 1_000_000_000;
export const LIVE_FRAME_ID = 1;
export const LIVE_DESCRIPTION = 'live view — the process keeps running';
/**
 * The live frame's source: a small virtual document. VS Code selects a stopped thread's top frame
 * (and so fills the Variables view) by itself only when that frame has a source; without one the
 * user had to click the frame first.
 */
export const LIVE_SOURCE_REFERENCE = 1;

const MAX_PAGE = 100_000;
const MAX_READ = 16 << 20;
const MAX_WRITE = 1 << 20;
const MAX_SAMPLE_EXPRESSIONS = 256;
const CLIPBOARD_ELEMENTS = 10_000;
/** How long the client must have been quiet before a library's debug info is indexed in the background. */
const IDLE_INDEX_QUIET_MS = 300;
/** How often exit/exec is checked, whatever the refresh interval (even when refresh is off). */
const GONE_CHECK_MS = 250;

/** What the dispatcher knows of any request's arguments: an object. Each handler reads it as Untrusted<its own arguments>. */
type RequestArguments = Record<string, unknown>;
/** A request's arguments as the client sent them: the protocol's field names, values not yet checked (intArg, frameArg…). */
type Untrusted<T> = { [K in keyof T]?: unknown };
type Handler = (response: DebugProtocol.Response, args: RequestArguments, request: DebugProtocol.Request) => void | Promise<void>;

/** Arguments of our custom request `pidscope/view`: freeze the live view on a snapshot, or make it live again. */
export interface ViewArguments {
  frozen: boolean;
}

/** Arguments of our custom request `pidscope/sample` (the extension's live plot): C expressions to read at one instant. */
export interface SampleArguments {
  expressions: string[];
}

export interface SessionOptions {
  /** Opens the target (tests and benches may pass another wiring of the real engine). */
  open?: Opener;
  /** Diagnostic log (stderr of `pidscope dap`, off by default). */
  log?: (line: string) => void;
  /** The authority the server grants (policy.ts); default: stdio, the client decides. */
  policy?: ServerPolicy;
}

export class PidscopeSession extends DebugSession {
  private client: DebugProtocol.InitializeRequestArguments | undefined;
  private state: 'new' | 'initialized' | 'attaching' | 'attached' | 'ended' = 'new';
  private att: Attachment | undefined;
  private configurationDone = false;
  private liveStarted = false;
  private readonly refs = new RefTable<Container>();
  private readonly vars = new Variables({
    refs: this.refs,
    attachment: () => this.attachment,
    memoryReferences: () => this.memoryReferences,
    globalsOf: (module) => this.globalsOf(module),
  });
  private refreshTimer: NodeJS.Timeout | undefined;
  private goneTimer: NodeJS.Timeout | undefined;
  private progressSeq = 0;
  /** Asynchronous requests still running (an attach loading symbols): disconnect lets them answer first. */
  private readonly inflight = new Set<Promise<void>>();
  /** When the last request arrived: a refresh waits while the client is still fetching. */
  private lastRequestAt = 0;
  private idleIndexTimer: NodeJS.Timeout | undefined;
  /** An event that must follow the response of the (synchronous) request being handled. */
  private afterResponse: (() => void) | undefined;
  /** When the tick now waiting for a quiet moment first came due. */
  private refreshDueAt: number | undefined;
  /** Cost of the live refresh so far, for pidscope/info (and bench:dap). */
  private readonly refreshStats = { ticks: 0, totalMs: 0, lastMs: 0, lastBlocksRead: 0, lastRenders: 0, invalidated: 0, memoryEvents: 0 };
  private readonly handlers: Record<string, { fn: Handler; attached?: boolean }>;
  /** Set when the server (not the client) keeps this session read-only. */
  private writeRefusal: ((what: string) => PidscopeError) | undefined;

  /** Serving one TCP connection (the process goes on serving others). */
  private runAsServer = false;

  override setRunAsServer(enable: boolean): void {
    this.runAsServer = enable;
    super.setRunAsServer(enable);
  }

  constructor(private readonly opts: SessionOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    const h = (fn: Handler, attached = false) => ({ fn: fn.bind(this), attached });
    this.handlers = {
      initialize: h(this.onInitialize),
      launch: h(this.onLaunch),
      attach: h(this.onAttach),
      configurationDone: h(this.onConfigurationDone),
      disconnect: h(this.onDisconnect),
      terminate: h(this.onTerminate),
      restart: h(() => {
        throw notSupported('pidscope cannot restart the process it inspects', 'Disconnect, restart the program yourself, and attach again');
      }),
      threads: h(this.onThreads, true),
      stackTrace: h(this.onStackTrace, true),
      scopes: h(this.onScopes, true),
      variables: h(this.onVariables, true),
      evaluate: h(this.onEvaluate, true),
      setVariable: h(this.onSetVariable, true),
      setExpression: h(this.onSetExpression, true),
      readMemory: h(this.onReadMemory, true),
      writeMemory: h(this.onWriteMemory, true),
      pause: h(this.onPause, true),
      continue: h(this.onContinue, true),
      setBreakpoints: h(this.onSetBreakpoints),
      setExceptionBreakpoints: h((response) => {
        response.body = { breakpoints: [] };
      }),
      setFunctionBreakpoints: h(this.onSetFunctionBreakpoints),
      next: h(this.refuseStep),
      stepIn: h(this.refuseStep),
      stepOut: h(this.refuseStep),
      stepBack: h(this.refuseStep),
      reverseContinue: h(this.refuseStep),
      restartFrame: h(this.refuseStep),
      goto: h(this.refuseStep),
      dataBreakpointInfo: h(this.onDataBreakpointInfo, true),
      setDataBreakpoints: h(this.onSetDataBreakpoints, true),
      completions: h(this.onCompletions, true),
      source: h(this.onSource, true),
      'pidscope/info': h(this.onInfo, true),
      'pidscope/sample': h(this.onSample, true),
      'pidscope/view': h(this.onView, true),
    };
  }

  // ---------------------------------------------------------------- framing

  /**
   * Reads DAP frames with our own reader (framing.ts) instead of the library's, which exits the
   * process on a JSON error and goes deaf after a header it cannot use. The library still writes.
   */
  override start(inStream: NodeJS.ReadableStream, outStream: NodeJS.WritableStream): void {
    super.start(new PassThrough(), outStream);
    const framer = new DapFramer((e) => this.onFrame(e));
    let closed = false;
    const close = (why: string) => {
      if (closed) return;
      closed = true;
      framer.end();
      framer.dispose();
      this.log(`connection closed: ${why}`);
      this.emit('close');
    };
    inStream.on('data', (d: Buffer | string) => framer.push(typeof d === 'string' ? Buffer.from(d) : d));
    inStream.on('end', () => close('the client closed its end'));
    inStream.on('close', () => close('the input closed'));
    inStream.on('error', (e: Error) => {
      process.stderr.write(`pidscope dap: reading from the client failed: ${e.message}; closing the session\n`);
      close(`read error: ${e.message}`);
    });
    inStream.resume();
  }

  private onFrame(e: FrameEvent): void {
    if (e.kind === 'message') {
      try {
        this.handleMessage(e.message as unknown as DebugProtocol.ProtocolMessage);
      } catch (err) {
        this.log(`internal error handling a message: ${err instanceof Error ? err.stack : String(err)}`);
      }
      return;
    }
    const text = `malformed DAP input: ${e.reason}`;
    this.log(text);
    process.stderr.write(`pidscope dap: ${text}\n`);
    if (e.seq === undefined) {
      // No request to answer: tell the client in its console too.
      this.output(`pidscope: ${text} (ignored; send "Content-Length: N\\r\\n\\r\\n" and then N bytes of one JSON request)`);
      return;
    }
    const response = new Response({ seq: e.seq, type: 'request', command: e.command ?? 'unknown' });
    fillErrorResponse(
      response,
      new PidscopeError(
        'BAD_FRAME',
        `malformed DAP message: ${e.reason}`,
        'Send each request as "Content-Length: N\\r\\n\\r\\n" followed by exactly N bytes of one JSON request object (the Debug Adapter Protocol base protocol)',
        'user',
      ),
    );
    try {
      this.sendResponse(response);
    } catch (err) {
      this.log(`could not answer a malformed message: ${String(err)}`);
    }
  }

  // ---------------------------------------------------------------- dispatch

  /** Replaces DebugSession's dispatcher: every request ends in exactly one response, whatever happens. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const response = new Response(request);
    void this.handle(request, response);
  }

  private async handle(request: DebugProtocol.Request, response: DebugProtocol.Response): Promise<void> {
    const started = performance.now();
    this.lastRequestAt = started;
    try {
      if (typeof request.command !== 'string') throw badArgs('the request has no command');
      const entry = Object.prototype.hasOwnProperty.call(this.handlers, request.command) ? this.handlers[request.command] : undefined;
      if (!entry) {
        throw new PidscopeError(
          'UNKNOWN_COMMAND',
          `pidscope does not implement the '${request.command}' request`,
          "Check the adapter's capabilities (initialize response) before sending it",
          'user',
        );
      }
      const args = request.arguments ?? {};
      if (typeof args !== 'object' || Array.isArray(args)) throw badArgs(`the arguments of '${request.command}' are not an object`);
      if (this.state === 'ended' && request.command !== 'disconnect') {
        throw new PidscopeError('NOT_ATTACHED', 'this debug session has ended', 'Start a new session to attach again', 'user');
      }
      if (entry.attached && !this.att) throw notAttached(request.command);
      // Synchronous handlers answer synchronously, so responses keep the order of requests.
      const pending = entry.fn(response, args as RequestArguments, request);
      if (pending) {
        const p = pending.then(
          () => undefined,
          () => undefined,
        );
        this.inflight.add(p);
        try {
          await pending;
        } finally {
          this.inflight.delete(p);
        }
      }
    } catch (e) {
      const showUser =
        request.command === 'attach' ||
        request.command === 'launch' ||
        request.command === 'setVariable' ||
        request.command === 'setExpression' ||
        request.command === 'writeMemory';
      const err = fillErrorResponse(response, e, { showUser });
      if (err.blame === 'internal') this.log(`internal error in '${request.command}': ${e instanceof Error ? e.stack : String(e)}`);
    }
    this.log(`${request.command} ${response.success ? 'ok' : 'failed'} in ${(performance.now() - started).toFixed(1)} ms`);
    try {
      this.sendResponse(response);
    } catch (e) {
      this.log(`could not send the response to '${request.command}': ${String(e)}`);
    }
    const after = this.afterResponse;
    this.afterResponse = undefined;
    after?.();
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private output(text: string, category: 'console' | 'important' | 'stderr' = 'console'): void {
    this.sendEvent(new OutputEvent(text.endsWith('\n') ? text : `${text}\n`, category));
  }

  /** Whether the client takes memoryReference fields (only when it said so in initialize). */
  private get memoryReferences(): boolean {
    return this.client?.supportsMemoryReferences === true;
  }

  private get attachment(): Attachment {
    if (!this.att) throw notAttached('this request');
    return this.att;
  }

  // ---------------------------------------------------------------- lifecycle

  private onInitialize(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.InitializeRequestArguments>): void {
    if (this.state !== 'new') {
      throw badArgs("'initialize' was already sent in this session", 'Send initialize once, as the first request');
    }
    if (args.adapterID !== undefined && typeof args.adapterID !== 'string') throw badArgs('initialize: adapterID is not a string');
    this.client = args as unknown as DebugProtocol.InitializeRequestArguments;
    this.state = 'initialized';
    const caps: DebugProtocol.Capabilities = {
      supportsConfigurationDoneRequest: true,
      supportsEvaluateForHovers: true,
      supportsClipboardContext: true,
      supportsReadMemoryRequest: true,
      // Declared because a client cannot learn the attach configuration before attaching;
      // refused with an explanation unless "allowWrites": true.
      supportsWriteMemoryRequest: true,
      supportsSetVariable: true,
      supportsSetExpression: true,
      supportsTerminateRequest: false,
      supportTerminateDebuggee: false,
      supportSuspendDebuggee: false,
      supportsRestartRequest: false,
      ...DataBreakpoints.capabilities,
      supportsConditionalBreakpoints: false,
      supportsFunctionBreakpoints: false,
      supportsStepBack: false,
      supportsCancelRequest: false,
      supportsValueFormattingOptions: false,
      supportsCompletionsRequest: true,
      completionTriggerCharacters: ['.', '>'],
    };
    response.body = caps;
  }

  private onLaunch(): void {
    throw new PidscopeError(
      'NO_LAUNCH',
      'pidscope attaches to processes that are already running; it does not launch programs',
      'Start your program yourself, then use "request": "attach" with its "pid" (or "processName") in launch.json',
      'user',
    );
  }

  private async onAttach(response: DebugProtocol.Response, args: Untrusted<AttachArguments>): Promise<void> {
    if (this.state === 'attaching' || this.state === 'attached') {
      throw new PidscopeError(
        'ALREADY_ATTACHED',
        `this session is already ${this.state === 'attaching' ? 'attaching to' : 'attached to'} pid ${this.att?.proc.pid ?? '…'}`,
        'Start a second debug session to look at another process',
        'user',
      );
    }
    if (this.state === 'new') throw badArgs("'attach' came before 'initialize'", 'Send initialize first');
    const policy = this.opts.policy ?? STDIO_POLICY;
    const granted = applyPolicy(parseAttachArgs(args, processLookup(policy)), policy);
    const cfg = granted.cfg;
    this.writeRefusal = granted.writeRefusal;
    this.state = 'attaching';
    const progressId = this.startProgress(`pidscope: attaching to pid ${cfg.pid}`, 'opening the process and loading symbols');
    let proc: AttachedProcess;
    try {
      const open = this.opts.open ?? (await import('./open')).openAttached;
      proc = await open(cfg, { report: (m, p) => this.updateProgress(progressId, m, p) });
    } catch (e) {
      this.endProgress(progressId, 'attach failed');
      if (this.state === 'attaching') this.state = 'initialized';
      throw e;
    }
    if (this.state !== 'attaching') {
      // Disconnected while we were loading symbols.
      this.endProgress(progressId, 'disconnected');
      proc.close();
      throw new PidscopeError('NOT_ATTACHED', 'the session was disconnected while attaching', '', 'user');
    }
    this.att = this.makeAttachment(proc, cfg);
    this.state = 'attached';
    // The main program's globals are what the client shows first: index its debug info now,
    // inside the attach progress, rather than in the first variables request.
    const main = proc.modules[0];
    if (main !== undefined) {
      this.updateProgress(progressId, `indexing the debug info of ${basename(main)}`);
      await new Promise((r) => setImmediate(r));
      if (this.state === 'attached') {
        try {
          this.globalsOf(main);
        } catch (e) {
          this.log(`indexing ${main} failed: ${String(e)}`);
        }
      }
    }
    this.endProgress(progressId, 'attached');
    if (this.state !== 'attached') throw new PidscopeError('NOT_ATTACHED', 'the session was disconnected while attaching', '', 'user');

    const info = this.infoBody();
    response.body = info;
    this.sendEvent(
      new Event('process', { name: proc.exe ?? proc.name, systemProcessId: proc.pid, isLocalProcess: true, startMethod: 'attach', pointerSize: 64 }),
    );
    this.sendEvent(new Event('pidscope/backend', info));
    this.output(
      `pidscope: attached to pid ${proc.pid} (${proc.name}) through ${proc.backend} — the process keeps running; pidscope never stops it.` +
        (cfg.allowWrites
          ? ' Writes are ALLOWED in this session.'
          : granted.writeRefusal
            ? ' Read-only (this pidscope dap --listen server was started without --allow-writes).'
            : ' Read-only (set "allowWrites": true to change memory).'),
    );
    for (const n of granted.notes) this.output(`pidscope: ${n}`);
    for (const w of proc.warnings.slice(0, 20)) this.output(`pidscope: ${w}`);
    if (proc.warnings.length > 20) this.output(`pidscope: … and ${proc.warnings.length - 20} more symbol warnings`);
    this.sendEvent(new InitializedEvent());
    this.startGoneWatch();
    this.maybeStartLive();
  }

  private makeAttachment(proc: AttachedProcess, cfg: AttachConfig): Attachment {
    const viewMemory = new ViewMemory(proc.program.memory);
    const samplerMemory = new ViewMemory(proc.program.memory);
    const view = new Program({ pid: proc.pid, memory: viewMemory, symbols: proc.program.symbols });
    const sampler = new Program({ pid: proc.pid, memory: samplerMemory, symbols: proc.program.symbols });
    const live = new LiveView({
      memory: viewMemory,
      canInvalidate: this.client?.supportsInvalidatedEvent === true,
      canMemoryEvent: this.client?.supportsMemoryEvent === true,
    });
    return { proc, cfg, view, viewMemory, sampler, samplerMemory, live, globals: new Map() };
  }

  /**
   * The globals of one module, grouped by compile unit. symbols.allVariables() walks the modules
   * in order (main program first) and indexes each one's DWARF as it reaches it, so stopping
   * right after the wanted module keeps the main program's scope from paying for libc.
   */
  private globalsOf(module: string): ModuleGlobals {
    const attachment = this.attachment;
    const known = attachment.globals.get(module);
    if (known) return known;
    const units = new Map<string, VariableSymbol[]>();
    let seen = false;
    for (const v of attachment.proc.program.symbols.allVariables(module)) {
      if (v.module !== module) {
        if (seen) break;
        continue;
      }
      seen = true;
      const cu = v.compileUnit ?? '';
      let list = units.get(cu);
      if (!list) units.set(cu, (list = []));
      list.push(v);
    }
    const nameCounts = new Map<string, number>();
    for (const list of units.values()) for (const v of list) nameCounts.set(v.name, (nameCounts.get(v.name) ?? 0) + 1);
    const g: ModuleGlobals = { module: { module, units: [...units].map(([name, variables]) => ({ name, variables })) }, nameCounts };
    attachment.globals.set(module, g);
    return g;
  }

  private onConfigurationDone(): void {
    this.configurationDone = true;
    this.maybeStartLive();
  }

  /** The live thread is reported stopped once attached and configured. */
  private maybeStartLive(): void {
    if (this.liveStarted || !this.att || !this.configurationDone || this.state !== 'attached') return;
    this.liveStarted = true;
    this.sendStopped('entry');
    this.scheduleRefresh();
    this.scheduleIdleIndex();
  }

  /**
   * Indexes the libraries' debug info while the client is idle, one module per quiet moment: a
   * name the main program does not have (a typo, a libc global) is looked up in every module,
   * and the first such evaluate used to index them all at once (2 s with libc6-dbg installed).
   * A module is never indexed while requests are coming in.
   */
  private scheduleIdleIndex(): void {
    if (this.idleIndexTimer) clearTimeout(this.idleIndexTimer);
    this.idleIndexTimer = setTimeout(() => {
      this.idleIndexTimer = undefined;
      const attachment = this.att;
      if (!attachment || this.state !== 'attached') return;
      if (performance.now() - this.lastRequestAt < IDLE_INDEX_QUIET_MS) {
        this.scheduleIdleIndex();
        return;
      }
      const next = attachment.proc.modules.find((m) => !attachment.globals.has(m));
      if (next === undefined) return;
      try {
        this.globalsOf(next);
      } catch (e) {
        attachment.globals.set(next, { module: { module: next, units: [] }, nameCounts: new Map() });
        this.log(`indexing ${next} failed: ${String(e)}`);
      }
      this.scheduleIdleIndex();
    }, IDLE_INDEX_QUIET_MS);
    this.idleIndexTimer.unref?.();
  }

  private sendStopped(reason: 'entry' | 'pause'): void {
    const attachment = this.attachment;
    const description = attachment.live.frozen ? `snapshot of ${clock(attachment.live.snapshotTime)} — the process keeps running` : LIVE_DESCRIPTION;
    const ev = new StoppedEvent(reason, LIVE_THREAD_ID) as DebugProtocol.StoppedEvent;
    ev.body.description = description;
    ev.body.allThreadsStopped = false;
    ev.body.preserveFocusHint = false;
    this.sendEvent(ev);
  }

  private onDisconnect(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.DisconnectArguments>): void {
    const pid = this.att?.proc.pid;
    if (args.terminateDebuggee === true) {
      this.output(`pidscope never terminates the processes it inspects: pid ${pid ?? '(none)'} keeps running ("terminateDebuggee" ignored).`);
    }
    this.end();
    response.body = {};
    if (pid !== undefined) this.log(`disconnected from pid ${pid}; the target keeps running untouched`);
    // Let this response and those of requests still running (an attach: it answers "disconnected
    // while attaching") go out first, then stop serving (stdio: the process exits).
    const pending = [...this.inflight];
    void Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 10_000))]).then(() =>
      setImmediate(() => {
        // The session is over: say so, and (over TCP, where the process serves on) close the connection.
        try {
          this.sendEvent(new TerminatedEvent());
        } catch (e) {
          this.log(`could not send 'terminated': ${String(e)}`);
        }
        if (this.runAsServer) this.stop();
        this.shutdown();
      }),
    );
  }

  private onTerminate(): void {
    throw new PidscopeError(
      'NO_TERMINATE',
      'pidscope does not terminate the processes it inspects',
      'Stop the program yourself (e.g. `kill PID`), or Disconnect to end this session and leave the program running',
      'user',
    );
  }

  /**
   * The connection closed (or the session is done): release the target. In server mode the base
   * class keeps the process serving other connections, so a client that vanished without a
   * disconnect must not leave its pidfd, timers or watchpoints behind.
   */
  override shutdown(): void {
    this.end();
    super.shutdown();
  }

  /** Stops timers and releases the target (never signals it). Idempotent. */
  private end(): void {
    const was = this.state;
    this.state = 'ended';
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.goneTimer) clearTimeout(this.goneTimer);
    if (this.idleIndexTimer) clearTimeout(this.idleIndexTimer);
    this.refreshTimer = this.goneTimer = this.idleIndexTimer = undefined;
    if (this.att && was !== 'ended') {
      try {
        this.att.watch?.dispose();
      } catch (e) {
        this.log(`stopping watchpoints failed: ${String(e)}`);
      }
      try {
        this.att.proc.close();
      } catch (e) {
        this.log(`closing the target failed: ${String(e)}`);
      }
    }
  }

  // ---------------------------------------------------------------- live refresh

  private scheduleRefresh(delay?: number): void {
    const attachment = this.att;
    if (!attachment || this.state !== 'attached' || attachment.cfg.refreshIntervalMs === 0) return;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refreshTick(), delay ?? attachment.cfg.refreshIntervalMs);
    this.refreshTimer.unref?.();
  }

  private refreshTick(): void {
    this.refreshTimer = undefined;
    const attachment = this.att;
    if (!attachment || this.state !== 'attached') return;
    let next = attachment.cfg.refreshIntervalMs;
    // The client is in the middle of fetching (a tree being expanded): invalidating now would
    // only make its pending requests stale. Look again shortly.
    // But never for ever: a client that polls (a request every 50 ms) must still see changes, so
    // a tick postponed for a whole interval runs anyway.
    const quiet = Math.min(100, attachment.cfg.refreshIntervalMs / 2);
    const now = performance.now();
    this.refreshDueAt ??= now;
    if (now - this.lastRequestAt < quiet && now - this.refreshDueAt < attachment.cfg.refreshIntervalMs) {
      this.scheduleRefresh(quiet);
      return;
    }
    this.refreshDueAt = undefined;
    try {
      const r = attachment.live.tick();
      const st = this.refreshStats;
      st.ticks++;
      st.totalMs += r.durationMs;
      st.lastMs = r.durationMs;
      st.lastBlocksRead = r.blocksRead;
      st.lastRenders = r.renders;
      if (r.variablesChanged) {
        st.invalidated++;
        this.refs.reset();
        this.sendEvent(new InvalidatedEvent(['variables']));
      }
      st.memoryEvents += r.memoryChanged.length;
      for (const m of r.memoryChanged) this.sendEvent(new MemoryEvent(encodeMemoryReference(m.address), 0, m.count));
      // An expensive view must not eat the machine: keep the refresh under ~25% of one core.
      next = Math.max(next, Math.ceil(r.durationMs * 4));
    } catch (e) {
      this.log(`refresh failed: ${e instanceof Error ? e.stack : String(e)}`);
    }
    this.scheduleRefresh(next);
  }

  private startGoneWatch(): void {
    const check = () => {
      this.goneTimer = undefined;
      const attachment = this.att;
      if (!attachment || this.state !== 'attached') return;
      let gone: GoneInfo | undefined;
      try {
        gone = attachment.proc.checkGone();
      } catch (e) {
        this.log(`exit check failed: ${String(e)}`);
      }
      if (gone) {
        this.targetGone(gone);
        return;
      }
      this.goneTimer = setTimeout(check, GONE_CHECK_MS);
      this.goneTimer.unref?.();
    };
    this.goneTimer = setTimeout(check, GONE_CHECK_MS);
    this.goneTimer.unref?.();
  }

  private targetGone(gone: GoneInfo): void {
    this.output(`pidscope: ${gone.detail}`, 'important');
    if (gone.reason === 'exited' && gone.exitCode !== undefined) this.sendEvent(new ExitedEvent(gone.exitCode));
    this.end();
    this.sendEvent(new TerminatedEvent());
  }

  // ---------------------------------------------------------------- threads, frames, scopes

  /** Snapshots of real threads' stacks (Pause on a real thread), made on first use. */
  private snapshots?: ThreadSnapshots;
  private threadSnapshots(): ThreadSnapshots {
    this.snapshots ??= new ThreadSnapshots(this.attachment.proc.program);
    return this.snapshots;
  }

  private onThreads(response: DebugProtocol.Response): void {
    const attachment = this.attachment;
    const threads: DebugProtocol.Thread[] = [{ id: LIVE_THREAD_ID, name: `Live view: ${attachment.proc.name} (pid ${attachment.proc.pid})` }];
    for (const t of safe(() => attachment.proc.threads(), [])) {
      if (t.tid === LIVE_THREAD_ID) continue;
      threads.push({ id: t.tid, name: `${t.name} [${t.tid}]` });
    }
    response.body = { threads };
  }

  private onStackTrace(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.StackTraceArguments>): void {
    const attachment = this.attachment;
    const threadId = intArg(args, 'threadId', { required: true });
    const startFrame = intArg(args, 'startFrame', { min: 0 }) ?? 0;
    if (threadId !== LIVE_THREAD_ID) {
      if (!safe(() => attachment.proc.threads(), []).some((t) => t.tid === threadId)) throw unknownThread(threadId);
      // A running thread shows the frames of its last Pause snapshot (none before one).
      response.body = this.snapshots?.has(threadId)
        ? this.snapshots.stackTrace(threadId, startFrame, intArg(args, 'levels', { min: 0 }) ?? 0)
        : { stackFrames: [], totalFrames: 0 };
      return;
    }
    const name = attachment.live.frozen
      ? `snapshot of ${clock(attachment.live.snapshotTime)}: ${attachment.proc.name} (pid ${attachment.proc.pid})`
      : `live: ${attachment.proc.name} (pid ${attachment.proc.pid})`;
    const source: DebugProtocol.Source = {
      name: `pidscope live view (pid ${attachment.proc.pid})`,
      sourceReference: LIVE_SOURCE_REFERENCE,
      presentationHint: 'deemphasize',
    };
    const frames: DebugProtocol.StackFrame[] = startFrame > 0 ? [] : [{ id: LIVE_FRAME_ID, name, source, line: 1, column: 1, presentationHint: 'normal' }];
    response.body = { stackFrames: frames, totalFrames: 1 };
  }

  /** The live frame's virtual document: what the user is looking at and why nothing is paused. */
  private onSource(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.SourceArguments>): void {
    const attachment = this.attachment;
    const src = args.source as DebugProtocol.Source | undefined;
    const ref = intArg(args, 'sourceReference') ?? src?.sourceReference;
    if (ref !== LIVE_SOURCE_REFERENCE) {
      throw new PidscopeError(
        'UNKNOWN_SOURCE',
        `source reference ${String(ref)} is not known to pidscope`,
        `Only the live view's source (reference ${LIVE_SOURCE_REFERENCE}) can be fetched`,
        'user',
      );
    }
    const content = [
      `pidscope live view of ${attachment.proc.name} (pid ${attachment.proc.pid})`,
      '',
      'The process keeps running: pidscope never stops it (no ptrace, no breakpoints that trap).',
      'This "stopped" live-view thread exists only so that the editor shows Variables, Watch,',
      'hover and memory views; they refresh while the program runs.',
      '',
      '  Variables   globals grouped by module and compile unit, threads, memory map',
      '  Watch       any C expression over globals, e.g. config.workers[2].queue->len',
      '  Pause       freezes the view on one consistent snapshot (the target keeps running)',
      '  Continue    makes the view live again',
      '  Data breakpoints log writes (writer, old and new value) without stopping anything',
      '',
    ].join('\n');
    response.body = { content, mimeType: 'text/plain' };
  }

  private onScopes(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.ScopesArguments>): void {
    const attachment = this.attachment;
    if (this.snapshots?.owns(args.frameId)) {
      response.body = { scopes: this.snapshots.scopes(args.frameId as number) };
      return;
    }
    frameArg(args, true);
    const scopes: DebugProtocol.Scope[] = [];
    const [main, ...libraries] = attachment.proc.modules;
    if (main !== undefined) {
      const scope: DebugProtocol.Scope = {
        name: `Globals: ${basename(main)}`,
        variablesReference: this.refs.add({ kind: 'module', module: main }, `module:${main}`),
        expensive: false,
      };
      const mainGlobals = attachment.globals.get(main);
      if (mainGlobals) {
        const units = mainGlobals.module.units;
        scope.namedVariables = units.length > 1 ? units.length : units.reduce((n, u) => n + u.variables.length, 0);
      }
      scopes.push(scope);
    }
    if (libraries.length > 0) {
      // One collapsed scope listing the libraries, each indexed only when it is expanded: a
      // client that renders every scope anyway (dap-mode) shows a short list at once instead of
      // indexing every library's debug info for thousands of rows.
      scopes.push({
        name: 'Libraries',
        variablesReference: this.refs.add({ kind: 'libraries' }, 'libraries'),
        namedVariables: libraries.length,
        expensive: true,
      });
    }
    if (attachment.watch) scopes.push(attachment.watch.scope(this.refs.add({ kind: 'recent-writes' }, 'recent-writes')));
    scopes.push({ name: 'Threads', variablesReference: this.refs.add({ kind: 'threads' }, 'threads'), expensive: false });
    scopes.push({ name: 'Memory map', variablesReference: this.refs.add({ kind: 'maps' }, 'maps'), expensive: true });
    response.body = { scopes };
  }

  // ---------------------------------------------------------------- variables

  private onVariables(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.VariablesArguments>): void | Promise<void> {
    if (this.snapshots?.owns(args.variablesReference)) {
      response.body = { variables: this.snapshots.variables(args.variablesReference as number) };
      return;
    }
    const container = this.refs.get(args.variablesReference);
    if (container.kind === 'module' && !this.attachment.globals.has(container.module) && this.client?.supportsProgressReporting) {
      // Indexing a big library's debug info takes a while: say so, then answer.
      return (async () => {
        const id = this.startProgress(`pidscope: reading globals of ${basename(container.module)}`, 'indexing debug info');
        await new Promise((r) => setImmediate(r));
        try {
          if (this.att) this.globalsOf(container.module);
        } finally {
          this.endProgress(id, 'done');
        }
        this.variablesNow(response, args, container);
      })();
    }
    this.variablesNow(response, args, container);
  }

  private variablesNow(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.VariablesArguments>, container: Container): void {
    const attachment = this.attachment;
    const ref = args.variablesReference;
    const filter = args.filter;
    if (filter !== undefined && filter !== 'indexed' && filter !== 'named')
      throw badArgs(`filter is ${JSON.stringify(filter)}`, 'Use "indexed", "named" or leave it out');
    const start = intArg(args, 'start', { min: 0 }) ?? 0;
    const count = intArg(args, 'count', { min: 0 }) ?? 0;
    if (count > MAX_PAGE)
      throw badArgs(`count ${count} is too large (at most ${MAX_PAGE} variables per request)`, 'Page through big arrays with start and count');
    const page = (alloc: boolean) => this.vars.page(container, start, count, filter as 'indexed' | 'named' | undefined, alloc);
    const variables = page(true);
    response.body = { variables };
    if (container.kind !== 'threads' && container.kind !== 'maps' && container.kind !== 'recent-writes' && container.kind !== 'libraries') {
      attachment.live.track(`v|${String(ref)}|${start}|${count}|${String(filter)}`, signature(variables), () => signature(page(false)));
    }
  }

  // ---------------------------------------------------------------- evaluate and writes

  private onEvaluate(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.EvaluateArguments>): void {
    const attachment = this.attachment;
    if (this.snapshots?.owns(args.frameId) && typeof args.expression === 'string') {
      response.body = this.snapshots.evaluate(args.frameId as number, args.expression);
      return;
    }
    frameArg(args, false);
    const expression = args.expression;
    if (typeof expression !== 'string')
      throw badArgs(`expression is ${JSON.stringify(expression)}, not a string`, 'Pass the C expression to evaluate as a string');
    if (expression.trim() === '') throw badArgs('the expression is empty', 'Type a C expression, e.g. g_counter or config.workers[2]');
    const context = typeof args.context === 'string' ? args.context : 'repl';
    let expr = expression;
    let obj: TargetObject;
    try {
      obj = attachment.view.evaluate(expr);
    } catch (e) {
      // gdb habits in the Debug Console (`p x`), tried only when the text is not C already.
      const alt = context === 'repl' ? replExpression(expression) : undefined;
      if (alt === undefined) throw e;
      expr = alt;
      obj = attachment.view.evaluate(expr);
    }
    // A value that cannot be read at all fails like gdb's print (and the CLI): no result with
    // an <error: …> text, expandable error children and a memoryReference.
    attachment.view.formatValue(obj, { charset: 'utf-8', elements: 1 });
    const described = this.vars.describe(obj, expr, true, context === 'clipboard' ? CLIPBOARD_ELEMENTS : undefined);
    response.body = described;
    if (context === 'watch') {
      attachment.live.track(`e|${expression}`, described.result, () => this.vars.describe(attachment.view.evaluate(expression), expression, false).result);
    }
  }

  private assertWritable(what: string): void {
    if (!this.attachment.cfg.allowWrites) throw this.writeRefusal?.(what) ?? writesDisabled(what);
  }

  /** `lhs = rhs` (C conversions for scalars, see assign.ts), written through the view's memory. */
  private assign(lhs: string, rhs: string): TargetObject {
    const attachment = this.attachment;
    const target = assign(attachment.view, attachment.viewMemory, lhs, rhs);
    attachment.viewMemory.clear();
    return target;
  }

  private afterWrite(): void {
    const attachment = this.attachment;
    if (this.client?.supportsInvalidatedEvent && attachment.live.trackedCount > 0) {
      attachment.live.forgetRenders();
      this.refs.reset();
      this.sendEvent(new InvalidatedEvent(['variables']));
    }
  }

  private onSetVariable(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.SetVariableArguments>): void {
    const container = this.refs.get(args.variablesReference);
    if (typeof args.name !== 'string' || typeof args.value !== 'string') throw badArgs('setVariable needs "name" and "value" strings');
    this.assertWritable(`Setting ${args.name}`);
    let evaluateName: string | undefined;
    if (container.kind === 'threads' || container.kind === 'maps' || container.kind === 'recent-writes' || container.kind === 'libraries')
      throw badArgs(`${args.name} is read-only`, 'Only program variables can be set');
    // Find the row by its displayed name; every row that can be written has an evaluateName.
    const rows = this.vars.page(container, 0, 0, undefined, false);
    const row = rows.find((r) => r.name === args.name);
    if (!row) throw badArgs(`no variable named ${JSON.stringify(args.name)} under this reference`, 'Refresh the Variables view and try again');
    evaluateName = row.evaluateName;
    if (!evaluateName) throw badArgs(`${args.name} has no expression pidscope could assign to`, 'Use setExpression with a C lvalue');
    const obj = this.assign(evaluateName, args.value);
    response.body = this.written(obj, evaluateName);
    this.afterWrite();
  }

  private onSetExpression(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.SetExpressionArguments>): void {
    frameArg(args, false);
    if (typeof args.expression !== 'string' || typeof args.value !== 'string') throw badArgs('setExpression needs "expression" and "value" strings');
    this.assertWritable(`Setting ${args.expression}`);
    const obj = this.assign(args.expression, args.value);
    response.body = this.written(obj, args.expression);
    this.afterWrite();
  }

  /** The answer to setVariable and setExpression: the assigned object as it reads now. */
  private written(obj: TargetObject, evaluateName: string): DebugProtocol.SetVariableResponse['body'] & DebugProtocol.SetExpressionResponse['body'] {
    const described = this.vars.describe(obj, evaluateName, true);
    return {
      value: described.result,
      type: described.type,
      variablesReference: described.variablesReference,
      indexedVariables: described.indexedVariables,
      namedVariables: described.namedVariables,
      memoryReference: described.memoryReference,
    };
  }

  // ---------------------------------------------------------------- memory

  private onReadMemory(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.ReadMemoryArguments>): void {
    const attachment = this.attachment;
    const address = decodeMemoryReference(args.memoryReference, args.offset);
    const count = intArg(args, 'count', { required: true, min: 0 });
    if (count > MAX_READ) throw badArgs(`count ${count} is too large (at most ${MAX_READ} bytes per readMemory)`, 'Read big ranges in pieces');
    if (count === 0) {
      response.body = { address: hex(address), data: '' };
      return;
    }
    // Live: read through the view so open memory views share the refresh's batched read.
    const read = attachment.viewMemory.read(address, count);
    const firstBad = read.unreadable[0];
    let good = count;
    let unreadable = 0;
    if (firstBad) {
      good = Number(firstBad.start - address);
      unreadable = Number(firstBad.end - firstBad.start);
    }
    response.body = { address: hex(address), data: read.data.subarray(0, good).toString('base64') };
    if (unreadable > 0) (response.body as DebugProtocol.ReadMemoryResponse['body'] & object).unreadableBytes = unreadable;
    if (good > 0) attachment.live.trackMemory(address, good, read.data.subarray(0, good));
  }

  private onWriteMemory(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.WriteMemoryArguments>): void {
    const attachment = this.attachment;
    const address = decodeMemoryReference(args.memoryReference, args.offset);
    if (typeof args.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(args.data)) throw badArgs('writeMemory: "data" is not base64 text');
    this.assertWritable(`Writing ${Buffer.from(args.data, 'base64').length} bytes at ${hex(address)}`);
    const data = Buffer.from(args.data, 'base64');
    if (data.length > MAX_WRITE) throw badArgs(`writeMemory of ${data.length} bytes is too large (at most ${MAX_WRITE})`, 'Write in pieces');
    const written = data.length ? attachment.viewMemory.write(address, data) : 0;
    response.body = { bytesWritten: written };
    if (this.client?.supportsMemoryEvent && written > 0) this.sendEvent(new MemoryEvent(encodeMemoryReference(address), 0, written));
    this.afterWrite();
  }

  // ---------------------------------------------------------------- view control

  private onPause(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.PauseArguments>): void {
    const attachment = this.attachment;
    const threadId = intArg(args, 'threadId', { required: true });
    if (threadId !== LIVE_THREAD_ID && !safe(() => attachment.proc.threads(), []).some((t) => t.tid === threadId)) throw unknownThread(threadId);
    if (threadId !== LIVE_THREAD_ID) {
      // A real thread: a snapshot of its stack (dap/stacks.ts); it keeps running.
      const { description, text } = this.threadSnapshots().pause(threadId);
      response.body = {};
      setImmediate(() => {
        if (this.state !== 'attached') return;
        const ev = new StoppedEvent('pause', threadId) as DebugProtocol.StoppedEvent;
        ev.body.description = description;
        ev.body.text = text;
        ev.body.allThreadsStopped = false;
        this.sendEvent(ev);
      });
      return;
    }
    // Pausing the live-view thread freezes the VIEW; the target keeps running.
    if (!attachment.live.frozen) {
      attachment.live.freeze();
      this.viewChanged();
    }
    response.body = {};
    setImmediate(() => {
      if (this.state === 'attached') this.sendStopped('pause');
    });
  }

  private onContinue(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.ContinueArguments>): void {
    const attachment = this.attachment;
    const threadId = intArg(args, 'threadId', { required: true });
    if (threadId !== LIVE_THREAD_ID) {
      if (!safe(() => attachment.proc.threads(), []).some((t) => t.tid === threadId)) throw unknownThread(threadId);
      this.snapshots?.drop(threadId); // it was running all along: forget its snapshot
      response.body = { allThreadsContinued: false };
      return;
    }
    attachment.live.resume();
    this.viewChanged();
    response.body = { allThreadsContinued: false };
    // The client now shows the thread running; bring the live view back right away.
    setImmediate(() => {
      if (this.state !== 'attached') return;
      this.sendStopped('entry');
      this.scheduleRefresh();
    });
  }

  /**
   * Freeze or resume the view without the client ever seeing the live thread run (VS Code closes
   * hex views when a session runs, which `continue` briefly makes it do).
   */
  private onView(response: DebugProtocol.Response, args: Untrusted<ViewArguments>): void {
    const attachment = this.attachment;
    if (typeof args.frozen !== 'boolean') throw badArgs('pidscope/view needs {"frozen": true|false}');
    if (args.frozen !== attachment.live.frozen) {
      if (args.frozen) attachment.live.freeze();
      else attachment.live.resume();
      this.viewChanged();
      const reason = args.frozen ? 'pause' : 'entry';
      setImmediate(() => {
        if (this.state !== 'attached') return;
        this.sendStopped(reason);
        if (!args.frozen) this.scheduleRefresh();
      });
    }
    response.body = { view: attachment.live.frozen ? 'frozen' : 'live', snapshotTime: attachment.live.snapshotTime };
  }

  /**
   * The view was frozen or resumed. References stay valid (they name objects by address, read
   * through the view, so they show the snapshot or live values as the view now does): a client
   * that expands a node it showed before (nvim-dap) must not get "unknown reference". Clients that
   * can, re-fetch on `invalidated`.
   */
  private viewChanged(): void {
    if (this.client?.supportsInvalidatedEvent) {
      this.att?.live.forgetRenders();
      setImmediate(() => {
        if (this.state === 'attached') this.sendEvent(new InvalidatedEvent(['variables']));
      });
    }
  }

  private refuseStep(_response: DebugProtocol.Response, _args: RequestArguments, request: DebugProtocol.Request): void {
    // Clients such as dap-mode and nvim-dap mark the thread running when they send a step, before
    // the answer: tell them again that the live thread is where it was.
    if (this.liveStarted && this.att) {
      this.afterResponse = () => {
        if (this.state === 'attached') this.sendStopped(this.att!.live.frozen ? 'pause' : 'entry');
      };
    }
    throw notSupported(
      `pidscope never stops or steps the target, so '${request.command}' has nothing to do`,
      'Use Pause to freeze the live view on a snapshot and Continue to make it live again; the process itself keeps running',
    );
  }

  private onSetBreakpoints(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.SetBreakpointsArguments>): void {
    const bps = Array.isArray(args.breakpoints) ? args.breakpoints : Array.isArray(args.lines) ? args.lines.map((line: unknown) => ({ line })) : [];
    response.body = {
      breakpoints: bps.map((b: { line?: unknown }) => ({
        verified: false,
        line: typeof b?.line === 'number' ? b.line : undefined,
        message: 'pidscope never stops the target, so source breakpoints are not supported (a data breakpoint logs writes without stopping)',
      })),
    };
  }

  private onSetFunctionBreakpoints(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.SetFunctionBreakpointsArguments>): void {
    const bps = Array.isArray(args.breakpoints) ? args.breakpoints : [];
    response.body = {
      breakpoints: bps.map(() => ({ verified: false, message: 'pidscope never stops the target, so function breakpoints are not supported' })),
    };
  }

  // ---------------------------------------------------------------- data breakpoints (watchpoints.ts)

  private watchpoints(): DataBreakpoints {
    const attachment = this.attachment;
    if (!attachment.watch) {
      attachment.watch = new DataBreakpoints({
        program: attachment.proc.program, // live memory: polling compares fresh reads, never the view's snapshot
        sendEvent: (e) => this.forwardWatchEvent(e),
        resolveVariable: (ref, name) => {
          try {
            const container = this.refs.get(ref);
            return this.vars.page(container, 0, 0, undefined, false).find((v) => v.name === name)?.evaluateName;
          } catch {
            return undefined;
          }
        },
        supportsInvalidatedEvent: this.client?.supportsInvalidatedEvent === true,
      });
    }
    return attachment.watch;
  }

  /** Watch hits invalidate the views: the references handed out so far go stale, as with a refresh. */
  private forwardWatchEvent(e: DebugProtocol.Event): void {
    if (this.state !== 'attached') return;
    if (e.event === 'invalidated' && this.att) {
      this.att.live.forgetRenders();
      this.refs.reset();
    }
    this.sendEvent(e);
  }

  private onDataBreakpointInfo(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.DataBreakpointInfoArguments>): void {
    if (typeof args.name !== 'string' || args.name.trim() === '')
      throw badArgs('dataBreakpointInfo needs "name" (a variable name, an expression or an address)');
    if (args.variablesReference !== undefined) intArg(args, 'variablesReference', { min: 0 });
    if (args.bytes !== undefined) intArg(args, 'bytes', { min: 1 });
    response.body = this.watchpoints().dataBreakpointInfo(args as unknown as DebugProtocol.DataBreakpointInfoArguments);
  }

  private onSetDataBreakpoints(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.SetDataBreakpointsArguments>): void {
    if (
      !Array.isArray(args.breakpoints) ||
      args.breakpoints.some((b) => !b || typeof b !== 'object' || typeof (b as { dataId?: unknown }).dataId !== 'string')
    ) {
      throw badArgs('setDataBreakpoints needs "breakpoints": a list of {dataId, accessType?, condition?, hitCondition?}');
    }
    const hadScope = this.att?.watch !== undefined;
    if (!hadScope && args.breakpoints.length === 0) {
      response.body = { breakpoints: [] };
      return;
    }
    response.body = this.watchpoints().setDataBreakpoints(args as unknown as DebugProtocol.SetDataBreakpointsArguments);
    // A new "Recent writes" scope: let the client re-fetch the scopes.
    if (!hadScope && this.client?.supportsInvalidatedEvent) {
      this.attachment.live.forgetRenders();
      this.refs.reset();
      this.sendEvent(new InvalidatedEvent(['variables']));
    }
  }

  // ---------------------------------------------------------------- Debug Console completions

  /** See completions.ts; here only the arguments are checked. */
  private onCompletions(response: DebugProtocol.Response, args: Untrusted<DebugProtocol.CompletionsArguments>): void {
    if (typeof args.text !== 'string') throw badArgs('completions needs "text"');
    const columnBase = this.client?.columnsStartAt1 !== false ? 1 : 0;
    const column = intArg(args, 'column', { required: true, min: columnBase });
    const attachment = this.attachment;
    response.body = { targets: completionItems(attachment.view, attachment.globals.values(), args.text, column, columnBase) };
  }

  // ---------------------------------------------------------------- custom requests

  private infoBody(): Record<string, unknown> {
    const attachment = this.attachment;
    return {
      pid: attachment.proc.pid,
      name: attachment.proc.name,
      exe: attachment.proc.exe,
      backend: attachment.proc.backend,
      reasons: attachment.proc.backendReasons,
      allowWrites: attachment.cfg.allowWrites,
      refreshIntervalMs: attachment.cfg.refreshIntervalMs,
      view: attachment.live.frozen ? 'frozen' : 'live',
      snapshotTime: attachment.live.snapshotTime,
      liveThreadId: LIVE_THREAD_ID,
      refresh: { ...this.refreshStats, shown: attachment.live.trackedCount, blocksShown: attachment.viewMemory.touchedBlocks },
    };
  }

  private onInfo(response: DebugProtocol.Response): void {
    response.body = this.infoBody();
  }

  private onSample(response: DebugProtocol.Response, args: Untrusted<SampleArguments>): void {
    const attachment = this.attachment;
    const exprs = args.expressions;
    if (!Array.isArray(exprs) || exprs.some((e) => typeof e !== 'string')) {
      throw badArgs('pidscope/sample: "expressions" is not a list of strings', 'Send {"expressions": ["g_counter", "buf.len * 2"]}');
    }
    if (exprs.length > MAX_SAMPLE_EXPRESSIONS)
      throw badArgs(`pidscope/sample: ${exprs.length} expressions (at most ${MAX_SAMPLE_EXPRESSIONS})`, 'Plot fewer expressions at once');
    // One batched read of everything the previous sample touched, then evaluate from that snapshot.
    attachment.samplerMemory.refill();
    attachment.samplerMemory.forgetTouched();
    const time = Date.now();
    const values = (exprs as string[]).map((e) => sampleOne(attachment.sampler, e));
    response.body = { time, values };
  }

  // ---------------------------------------------------------------- progress

  private startProgress(title: string, message: string): string | undefined {
    if (!this.client?.supportsProgressReporting) return undefined;
    const id = `pidscope-${++this.progressSeq}`;
    this.sendEvent(new ProgressStartEvent(id, title, message));
    return id;
  }

  private updateProgress(id: string | undefined, message: string, percentage?: number): void {
    if (!id) return;
    const body: DebugProtocol.ProgressUpdateEvent['body'] = { progressId: id, message };
    if (percentage !== undefined) body.percentage = percentage;
    this.sendEvent(new Event('progressUpdate', body));
  }

  private endProgress(id: string | undefined, message: string): void {
    if (id) this.sendEvent(new ProgressEndEvent(id, message));
  }
}

// ------------------------------------------------------------------ helpers

/** An integer argument; `name` is one of the request's own fields (checked by the compiler). */
function intArg<A extends object>(args: A, name: keyof A & string, opts: { required: true; min?: number }): number;
function intArg<A extends object>(args: A, name: keyof A & string, opts?: { required?: boolean; min?: number }): number | undefined;
function intArg<A extends object>(args: A, name: keyof A & string, opts: { required?: boolean; min?: number } = {}): number | undefined {
  const v: unknown = args[name];
  if (v === undefined || v === null) {
    if (opts.required) throw badArgs(`"${name}" is missing`, `Pass "${name}" as an integer`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badArgs(`"${name}" is ${JSON.stringify(v)}, not an integer`, `Pass "${name}" as an integer`);
  if (opts.min !== undefined && v < opts.min) throw badArgs(`"${name}" is ${v}, below ${opts.min}`, `Pass "${name}" ≥ ${opts.min}`);
  return v;
}

/** Checks a frameId: required for scopes, optional for evaluate; only the live frame exists. */
function frameArg(args: { frameId?: unknown }, required: boolean): void {
  const id = intArg(args, 'frameId', { required });
  if (id !== undefined && id !== LIVE_FRAME_ID) {
    throw new PidscopeError(
      'UNKNOWN_FRAME',
      `frameId ${id} is not a frame of this session`,
      `Use the live view's frame (id ${LIVE_FRAME_ID}) from stackTrace`,
      'user',
    );
  }
}

/**
 * gdb habits in the Debug Console: `p EXPR` / `print EXPR` mean EXPR. Output formats (`p/x`)
 * are not pidscope's: say so. Undefined when the text is no such command.
 */
function replExpression(text: string): string | undefined {
  const t = text.trim();
  const fmt = /^(p|print)\/(\w+)\s/.exec(t);
  if (fmt) {
    throw notSupported(`print formats such as /${fmt[2]} are not supported in the Debug Console`, `Type the expression alone: ${t.slice(fmt[0].length)}`);
  }
  const m = /^(p|print)\s+(.+)$/s.exec(t);
  return m ? m[2] : undefined;
}

function unknownThread(id: number): PidscopeError {
  return new PidscopeError('UNKNOWN_THREAD', `thread ${id} is not a thread of the target (it may have exited)`, "Re-request 'threads'", 'user');
}

function signature(vars: DebugProtocol.Variable[]): string {
  return JSON.stringify(vars.map((v) => [v.name, v.value, v.type ?? '', v.indexedVariables ?? v.namedVariables ?? 0]));
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}
