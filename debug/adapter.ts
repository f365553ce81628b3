/**
 * The debug adapter: Debug Adapter Protocol to the editor (debug/dap.ts), the xsbug protocol to
 * the firmware's XS engine (debug/xsbug.ts). A debug image's byte code names TypeScript files and
 * lines (tools/debug-lines.ts), so breakpoints and frames need no source map here: a path is the
 * file relative to the repository root on the device, absolute in the editor.
 *
 * What each request does on the engine:
 *   setBreakpoints         set-breakpoint / clear-breakpoint per line of the file (verified: the
 *                          engine has no way to say a line has no code; such a breakpoint never hits)
 *   setExceptionBreakpoints set-breakpoint path="exceptions" (every throw stops, caught or not)
 *   continue, next, stepIn, stepOut   go, step, step-inside, step-outside
 *   pause                  step while running: the engine stops at the next line it runs (an idle
 *                          firmware, waiting for a doorbell, stops when JS next runs)
 *   stackTrace             the frames of the last break
 *   scopes, variables      the break's locals (with this, arguments, the function), its closure
 *                          variables (the function's "(closures)"), the globals; an object is
 *                          opened with toggle and read from the engine's next listing
 *   evaluate               variable paths only (a.b, a[0], this.x) read as variables are: the
 *                          image has no parser, so no expression can run on the device
 * The remote's console (launch: the session's output) and the engine's <log> lines go to the
 * debug console.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute, join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DapMessage, DapStream } from './dap.ts';
import { XsbugListener, type XsbugConnection, type XmlElement } from './xsbug.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const THREAD_ID = 1;

/** The launch request's arguments (.vscode/launch.json). */
export interface LaunchArguments {
  /** firmware/apps/<app>, or a path to an app's main.ts. */
  app?: string;
  /** posix or qemu (the XS targets). */
  target?: 'posix' | 'qemu';
  /** The session id (for xs-rpmsg send --session ID); default debug-<pid>. */
  session?: string;
}

interface Frame {
  name: string;
  address: string;
  path: string | null;
  line: number;
}

type Reference =
  | { kind: 'locals' }
  | { kind: 'closures' }
  | { kind: 'globals' }
  | { kind: 'object'; address: string };

/** A DAP variable made from one <property> of the engine. */
interface Variable {
  name: string;
  value: string;
  variablesReference: number;
}

const isObject = (property: XmlElement): boolean => /^[+-]/.test(property.attributes.flags ?? '') && (property.attributes.value ?? '').startsWith('@');

/** Where a TypeScript file is on the device (relative to the repository root, as tools/debug-lines.ts wrote it). */
export function devicePath(editorPath: string): string {
  const rel = relative(root, editorPath);
  return rel.startsWith('..') || isAbsolute(rel) ? editorPath : rel.split('\\').join('/');
}

/** Where a device path is for the editor. */
export function editorPath(device: string): string {
  return isAbsolute(device) ? device : join(root, device);
}

export class DebugAdapter {
  private connection: XsbugConnection | null = null;
  private listener: XsbugListener | null = null;
  private child: ChildProcess | null = null;
  private readonly breakpoints = new Map<string, Set<number>>();
  private breakOnExceptions = false;
  private configured = false;
  private launchArguments: LaunchArguments | null = null;
  private stopped = false;
  private pauseRequested = false;
  private frames: Frame[] = [];
  private local: XmlElement | null = null;
  private global: XmlElement | null = null;
  private selectedFrame = 0;
  private references = new Map<number, Reference>();
  private nextReference = 1;
  private listingWaiters: (() => void)[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private terminated = false;

  /**
   * `dap` is the editor. `remote`: attach mode (xs-rpmsg run --debug), the listener the session's
   * firmware connects to; without it, launch starts `xs-rpmsg run --debug-socket` itself.
   */
  constructor(private readonly dap: DapStream, remote?: XsbugListener) {
    if (remote) this.useListener(remote);
    dap.on('message', (message: DapMessage) => {
      if (message.type !== 'request') return;
      this.handle(message).catch((error: Error) => this.dap.fail(message, error.message));
    });
  }

  /** A console line of the remote (attach: the command line's session hands them over; launch: they come with the session's output). */
  remoteConsole(line: string): void {
    this.output(`[remote] ${line}`, 'stdout');
  }

  private output(text: string, category = 'console'): void {
    this.dap.event('output', { category, output: text.endsWith('\n') ? text : `${text}\n` });
  }

  private useListener(listener: XsbugListener): void {
    this.listener = listener;
    const adopt = (connection: XsbugConnection) => {
      if (this.connection && !this.connection.closed) {
        connection.close();
        return;
      }
      this.connection = connection;
      connection.on('message', (message: XmlElement) => this.engineMessage(message));
      connection.on('protocolError', (error: Error) => this.output(`xsbug: ${error.message}`, 'stderr'));
      connection.on('close', () => {
        if (this.connection === connection) this.connection = null;
        if (this.stopped) this.resumed();
        this.output('xsbug: the firmware closed the debugger connection');
      });
    };
    // attach: the firmware may have connected (and be waiting at login) before the editor came
    if (listener.current && !listener.current.closed) adopt(listener.current);
    listener.on('connection', adopt);
  }

  // ------------------------------------------------------------------ engine -> editor

  private engineMessage(message: XmlElement): void {
    let listing = false;
    let broke: XmlElement | null = null;
    for (const part of message.children) {
      switch (part.name) {
        case 'login':
          this.output(`xsbug: ${part.attributes.name ?? 'XS'} connected`);
          this.sendConfiguration(true);
          break;
        case 'frames':
          this.frames = part.children.filter((f) => f.name === 'frame').map((f) => ({
            name: f.attributes.name || '(anonymous)',
            address: f.attributes.value ?? '',
            path: f.attributes.path ?? null,
            line: Number(f.attributes.line ?? 0),
          }));
          this.selectedFrame = 0;
          break;
        case 'local':
          this.local = part;
          listing = true;
          break;
        case 'global':
          this.global = part;
          listing = true;
          break;
        case 'break':
          broke = part;
          break;
        case 'log': {
          const where = part.attributes.path ? `${part.attributes.path}:${part.attributes.line}: ` : '';
          this.output(`${where}${part.text.replace(/^# /, '').trimEnd()}`, part.text.startsWith('# Exception') ? 'stderr' : 'console');
          break;
        }
        default:
          break;
      }
    }
    if (broke) {
      this.stopped = true;
      this.references.clear();
      const text = broke.text.replace(/^# Break: /, '').replace(/!\s*$/, '');
      const reason = text === 'breakpoint' ? 'breakpoint' : text === 'step' ? (this.pauseRequested ? 'pause' : 'step') : text === 'debugger' ? 'pause' : 'exception';
      this.pauseRequested = false;
      this.dap.event('stopped', { reason, threadId: THREAD_ID, allThreadsStopped: true, ...(reason === 'exception' ? { description: `Exception: ${text}`, text } : {}) });
    } else if (listing) {
      for (const waiter of this.listingWaiters.splice(0)) waiter();
    }
  }

  private resumed(): void {
    this.stopped = false;
    this.references.clear();
    this.frames = [];
    this.dap.event('continued', { threadId: THREAD_ID, allThreadsContinued: true });
  }

  /** Breakpoints and the exception flag; at login also the release (go). */
  private sendConfiguration(login: boolean): void {
    const connection = this.connection;
    if (!connection) return;
    if (login && !this.configured) return; // configurationDone sends it
    const tags = ['<clear-all-breakpoints/>'];
    for (const [path, lines] of this.breakpoints) for (const line of lines) tags.push(connection.setBreakpoint(path, line));
    tags.push(this.breakOnExceptions ? connection.setBreakpoint('exceptions', 0) : connection.clearBreakpoint('exceptions', 0));
    if (login) tags.push('<go/>');
    // one command per line: the engine acts on each complete line (and reads 255 bytes at a time)
    for (const tag of tags) connection.send(tag);
  }

  /** Runs `work` after the engine requests before it (one listing at a time). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Sends a tag that makes the engine list locals and globals again; resolves when it has. */
  private relist(tag: string): Promise<void> {
    const connection = this.connection;
    if (!connection || !this.stopped) return Promise.reject(new Error('the firmware is not stopped'));
    return new Promise<void>((resolveListing, reject) => {
      const timer = setTimeout(() => reject(new Error('xsbug: the engine did not answer within 10 s')), 10_000);
      this.listingWaiters.push(() => {
        clearTimeout(timer);
        resolveListing();
      });
      connection.send(tag);
    });
  }

  private async selectFrame(index: number): Promise<void> {
    if (index === this.selectedFrame) return;
    const frame = this.frames[index];
    if (!frame) throw new Error(`no frame ${index}`);
    await this.relist(this.connection!.select(frame.address));
    this.selectedFrame = index;
  }

  /** The children of the instance at `address` (toggled open if the listing does not show them). */
  private async expand(address: string): Promise<XmlElement[]> {
    const find = (element: XmlElement | null): XmlElement | null => {
      if (!element) return null;
      for (const child of element.children) {
        if (child.attributes.value === address && child.attributes.flags?.startsWith('-')) return child;
        const inner = find(child);
        if (inner) return inner;
      }
      return null;
    };
    let found = find(this.local) ?? find(this.global);
    if (!found) {
      await this.relist(this.connection!.toggle(address));
      found = find(this.local) ?? find(this.global);
    }
    return found?.children.filter((c) => c.name === 'property') ?? [];
  }

  private reference(reference: Reference): number {
    const id = this.nextReference++;
    this.references.set(id, reference);
    return id;
  }

  private variable(property: XmlElement): Variable {
    const name = property.attributes.name ?? '?';
    if (isObject(property)) return { name, value: name === '(function)' || name.endsWith(')') ? name : 'Object', variablesReference: this.reference({ kind: 'object', address: property.attributes.value! }) };
    return { name, value: property.attributes.value ?? '', variablesReference: 0 };
  }

  private properties(element: XmlElement | null): XmlElement[] {
    return element?.children.filter((c) => c.name === 'property') ?? [];
  }

  /** The closure variables of the selected frame: its function's "(closures)". */
  private async closures(): Promise<XmlElement[]> {
    const fn = this.properties(this.local).find((p) => p.attributes.name === '(function)');
    if (!fn || !isObject(fn)) return [];
    const closures = (await this.expand(fn.attributes.value!)).find((p) => p.attributes.name === '(closures)');
    if (!closures || !isObject(closures)) return [];
    return this.expand(closures.attributes.value!);
  }

  private async variables(reference: Reference): Promise<XmlElement[]> {
    if (reference.kind === 'locals') return this.properties(this.local);
    if (reference.kind === 'globals') return this.properties(this.global);
    if (reference.kind === 'closures') return this.closures();
    return this.expand(reference.address);
  }

  /** A variable path (a, a.b, a[0], this.x) in the selected frame: locals, then closures, then globals. */
  private async evaluate(expression: string): Promise<Variable> {
    const text = expression.trim();
    if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*|\[\d+\])*$/.test(text)) {
      throw new Error(`cannot evaluate "${text}": the debug image has no parser, so only variable paths (a, a.b, a[0], this.x) can be read`);
    }
    const parts = text.match(/[A-Za-z_$][\w$]*|\[\d+\]/g)!;
    const first = parts[0];
    let current = this.properties(this.local).find((p) => p.attributes.name === first)
      ?? (await this.closures()).find((p) => p.attributes.name === first)
      ?? this.properties(this.global).find((p) => p.attributes.name === first);
    if (!current) throw new Error(`${first} is not defined in this frame`);
    for (const part of parts.slice(1)) {
      if (!isObject(current!)) throw new Error(`${text}: ${current!.attributes.name} is not an object`);
      const children = await this.expand(current!.attributes.value!);
      const wanted = part.startsWith('[') ? [part, part.slice(1, -1)] : [part];
      let next = children.find((c) => wanted.includes(c.attributes.name ?? ''));
      if (!next) {
        // an array's items are under "(array)"
        const items = children.find((c) => c.attributes.name === '(array)');
        if (items && isObject(items)) next = (await this.expand(items.attributes.value!)).find((c) => wanted.includes(c.attributes.name ?? ''));
      }
      if (!next) throw new Error(`${text}: no property ${part}`);
      current = next;
    }
    return this.variable(current!);
  }

  // ------------------------------------------------------------------ editor -> engine

  private async startLaunch(): Promise<void> {
    const args = this.launchArguments!;
    const target = args.target ?? 'posix';
    if (target !== 'posix' && target !== 'qemu') throw new Error(`target ${String(target)}: the debugger works on posix and qemu (in-process: use Node's own debugger, docs/DEBUGGING.md)`);
    const listener = await XsbugListener.listen();
    this.useListener(listener);
    const session = args.session ?? `debug-${process.pid}`;
    const cliArgs = [join(root, 'bin/xs-rpmsg.mjs'), 'run', '--target', target, '--debug-socket', listener.path, '--session', session, ...(args.app ? ['--app', args.app] : [])];
    this.output(`xs-rpmsg ${cliArgs.slice(1).join(' ')}`);
    const child = spawn(process.execPath, cliArgs, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.output(chunk, 'stdout'));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.output(chunk, 'stderr'));
    child.on('exit', (code, signal) => {
      this.output(`xs-rpmsg run ended (${signal ?? `exit ${code}`})`);
      this.child = null;
      this.terminate();
    });
  }

  private terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.dap.event('terminated');
  }

  /** Lets the firmware run on without the debugger, stops a session it launched, removes the socket. */
  async shutdown(): Promise<void> {
    const connection = this.connection;
    if (connection && !connection.closed) {
      connection.send('<logout/>'); // the engine lets go (and closes its end): the firmware runs on
      await new Promise((r) => setTimeout(r, 50));
      connection.close();
    }
    const child = this.child;
    if (child) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.listener && this.launchArguments) await this.listener.close();
  }

  private async handle(request: DapMessage): Promise<void> {
    const args = (request.arguments ?? {}) as Record<string, unknown>;
    const connection = this.connection;
    switch (request.command) {
      case 'initialize':
        this.dap.respond(request, {
          supportsConfigurationDoneRequest: true,
          supportsTerminateRequest: true,
          supportsEvaluateForHovers: true,
          exceptionBreakpointFilters: [{ filter: 'all', label: 'All exceptions (caught or not)', default: false }],
        });
        this.dap.event('initialized');
        return;
      case 'launch':
        this.launchArguments = args as LaunchArguments;
        this.dap.respond(request);
        if (this.configured) await this.startLaunch();
        return;
      case 'attach':
        if (!this.listener) throw new Error('attach: this adapter has no session to attach to (start one with npx xs-rpmsg run --debug, or use launch)');
        this.dap.respond(request);
        return;
      case 'setBreakpoints': {
        const source = args.source as { path?: string } | undefined;
        if (!source?.path) throw new Error('setBreakpoints: the source has no path');
        const path = devicePath(source.path);
        const lines = ((args.breakpoints as { line: number }[] | undefined) ?? (args.lines as number[] | undefined)?.map((line) => ({ line })) ?? []).map((b) => b.line);
        const before = this.breakpoints.get(path) ?? new Set<number>();
        const after = new Set(lines.filter((line) => line > 0 && line <= 0x7FFF));
        this.breakpoints.set(path, after);
        if (connection && this.configured) {
          for (const line of before) if (!after.has(line)) connection.send(connection.clearBreakpoint(path, line));
          for (const line of after) if (!before.has(line)) connection.send(connection.setBreakpoint(path, line));
        }
        this.dap.respond(request, {
          breakpoints: lines.map((line) => ({ verified: after.has(line), line, source: { path: source.path }, ...(after.has(line) ? {} : { message: 'XS lines are 1..32767' }) })),
        });
        return;
      }
      case 'setExceptionBreakpoints':
        this.breakOnExceptions = ((args.filters as string[] | undefined) ?? []).includes('all');
        if (connection && this.configured) connection.send(this.breakOnExceptions ? connection.setBreakpoint('exceptions', 0) : connection.clearBreakpoint('exceptions', 0));
        this.dap.respond(request);
        return;
      case 'configurationDone':
        this.configured = true;
        this.dap.respond(request);
        if (this.launchArguments && !this.child) await this.startLaunch();
        else if (connection) this.sendConfiguration(true); // attach: the engine has waited at login for this
        return;
      case 'threads':
        this.dap.respond(request, { threads: [{ id: THREAD_ID, name: 'XS' }] });
        return;
      case 'stackTrace': {
        if (!this.stopped) throw new Error('the firmware is running');
        const frames = this.frames.map((frame, index) => ({
          id: index + 1,
          name: frame.name,
          line: frame.line,
          column: 1,
          ...(frame.path ? { source: { name: frame.path.split('/').pop(), path: editorPath(frame.path) } } : { presentationHint: 'subtle' }),
        }));
        this.dap.respond(request, { stackFrames: frames, totalFrames: frames.length });
        return;
      }
      case 'scopes': {
        const index = Number(args.frameId ?? 1) - 1;
        await this.serial(() => this.selectFrame(index));
        this.dap.respond(request, {
          scopes: [
            { name: 'Locals', variablesReference: this.reference({ kind: 'locals' }), expensive: false },
            { name: 'Closure', variablesReference: this.reference({ kind: 'closures' }), expensive: false },
            { name: 'Globals', variablesReference: this.reference({ kind: 'globals' }), expensive: true },
          ],
        });
        return;
      }
      case 'variables': {
        const reference = this.references.get(Number(args.variablesReference));
        if (!reference) throw new Error('that variable belongs to an earlier stop');
        const properties = await this.serial(() => this.variables(reference));
        this.dap.respond(request, { variables: properties.map((p) => this.variable(p)) });
        return;
      }
      case 'evaluate': {
        if (!this.stopped) throw new Error('the firmware is running: evaluate needs a stop');
        if (args.frameId !== undefined) await this.serial(() => this.selectFrame(Number(args.frameId) - 1));
        const result = await this.serial(() => this.evaluate(String(args.expression ?? '')));
        this.dap.respond(request, { result: result.value, variablesReference: result.variablesReference });
        return;
      }
      case 'continue':
      case 'next':
      case 'stepIn':
      case 'stepOut': {
        if (!connection || !this.stopped) throw new Error('the firmware is not stopped');
        const tag = { continue: '<go/>', next: '<step/>', stepIn: '<step-inside/>', stepOut: '<step-outside/>' }[request.command];
        this.stopped = false;
        this.references.clear();
        connection.send(tag);
        this.dap.respond(request, request.command === 'continue' ? { allThreadsContinued: true } : undefined);
        return;
      }
      case 'pause':
        if (!connection) throw new Error('no firmware is connected');
        if (!this.stopped) {
          this.pauseRequested = true;
          connection.send('<step/>');
        }
        this.dap.respond(request);
        return;
      case 'disconnect':
      case 'terminate':
        await this.shutdown();
        this.dap.respond(request);
        this.terminate();
        return;
      default:
        throw new Error(`${request.command} is not supported by the xs-rpmsg debug adapter`);
    }
  }
}
