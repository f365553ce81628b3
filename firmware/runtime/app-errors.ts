/**
 * What happens when an app's callback throws (docs/TROUBLESHOOTING.md, "app exception"): the
 * exception is reported on the console and in the trace buffer with the endpoint, the callback,
 * the message number and the JS stack; counted in `statistics.appErrors`; and delivered as an
 * AppException to the endpoint's onError, or else to the app-wide `rpmsg.onError`. The message
 * being delivered when onReadable threw is lost (the host's send succeeded: it cannot know), which
 * is why the count is in the statistics a host can ask for.
 */
import { RpmsgError } from '../../wire/errors.ts';
import type { PlatformCommon } from './platform.ts';
import type { Endpoint } from './rpmsg/endpoint.ts';

/** The app callbacks the runtime calls. */
export type AppCallback = 'onReadable' | 'onWritable' | 'onError' | 'timer' | 'onHostReady' | 'onHostReset' | 'onNameService';

/** Where an app exception happened. */
export interface AppCallbackSite {
  callback: AppCallback;
  /** The endpoint whose callback threw (null for timers and the runtime-wide callbacks). */
  endpoint: Endpoint | null;
}

/** An exception that escaped an app callback, as onError receives it (code ECANCELED: the callback's work was cut short). */
export class AppException extends RpmsgError {
  /** The callback that threw. */
  readonly callback: AppCallback;
  /** "name"@address of the endpoint, or "" (timers, runtime-wide callbacks). */
  readonly endpoint: string;
  /** The number of the message being delivered (statistics.received at the time; 0 outside onReadable). */
  readonly messageNumber: number;
  /** What was thrown. */
  readonly thrown: unknown;
  /** The thrown error's stack, mapped to TypeScript file:line where the platform can (platform.mapStack); "" when the engine gives none. */
  readonly jsStack: string;

  constructor(site: AppCallbackSite, messageNumber: number, thrown: unknown, jsStack: string) {
    const where = site.endpoint === null ? site.callback : `${site.callback} of ${site.endpoint.describe()}`;
    const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : `thrown value ${String(thrown)}`;
    const lost = site.callback === 'onReadable' ? ` at message ${messageNumber}; the message is lost` : '';
    super('ECANCELED', `app exception in ${where}${lost}: ${what}`);
    this.name = 'AppException';
    this.callback = site.callback;
    this.endpoint = site.endpoint === null ? '' : site.endpoint.describe();
    this.messageNumber = messageNumber;
    this.thrown = thrown;
    this.jsStack = jsStack;
  }
}

/** An optional platform extra: map a JS stack of the bundle back to TypeScript file:line (the in-process target does, through the bundle's source map). */
export interface StackMapping {
  mapStack?(stack: string): string;
}

/** Reports, counts and delivers app exceptions (see the file comment). */
export class AppErrors {
  /** How many exceptions escaped app callbacks (also statistics.appErrors). */
  count = 0;
  /** The app-wide handler (rpmsg.onError): gets the exceptions no endpoint onError took. */
  onError: ((error: AppException) => void) | null = null;
  private readonly platform: PlatformCommon & StackMapping;
  private readonly log: (text: string) => void;
  private readonly received: () => number;
  private readonly counted: () => void;

  constructor(platform: PlatformCommon & StackMapping, log: (text: string) => void, received: () => number, counted: () => void) {
    this.platform = platform;
    this.log = log;
    this.received = received;
    this.counted = counted;
  }

  /** The mapped JS stack of `thrown` ("" when there is none or it has no frames). */
  stackOf(thrown: unknown): string {
    const stack = thrown instanceof Error && typeof thrown.stack === 'string' ? thrown.stack : '';
    // The stack's first line repeats the message; keep the frames. XS without mxDebug gives "at ()" only.
    const frames = stack.split('\n').slice(1).map((line) => line.trim()).filter((line) => line !== '' && line !== 'at ()');
    if (frames.length === 0) return '';
    const text = frames.join('\n');
    const mapStack = this.platform.mapStack;
    return mapStack === undefined ? text : mapStack.call(this.platform, text);
  }

  /** Report, count and deliver an exception that escaped `site`. Returns true when a handler took it. */
  exception(thrown: unknown, site: AppCallbackSite): boolean {
    this.count++;
    this.counted();
    const messageNumber = site.callback === 'onReadable' ? this.received() : 0;
    const exception = new AppException(site, messageNumber, thrown, this.stackOf(thrown));
    this.log(`rpmsg: ${exception.message}${exception.jsStack === '' ? ' (no stack: the engine keeps no line tables in this build)' : `\n${indent(exception.jsStack)}`}`);
    const endpoint = site.endpoint;
    if (endpoint !== null && endpoint.onError !== undefined && site.callback !== 'onError') {
      return this.deliver(() => endpoint.onError!.call(endpoint, exception));
    }
    const handler = this.onError;
    if (handler !== null) return this.deliver(() => handler(exception));
    return false;
  }

  /** Call a handler; one that throws in turn is logged, never re-delivered. */
  private deliver(call: () => void): boolean {
    try {
      call();
    } catch (error) {
      this.count++;
      this.counted();
      this.log(`rpmsg: the error handler threw too: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    return true;
  }

  /**
   * Wrap the global setTimeout/setInterval so an exception escaping a timer callback is reported
   * and counted. Delivered to rpmsg.onError when the app set one (the firmware goes on); without
   * one it is thrown on, and the platform treats it as it always does (XS: the firmware stops with
   * "uncaught exception", which the host sees as a crash).
   */
  wrapTimers(global: { setTimeout: unknown; setInterval: unknown }): void {
    const errors = this;
    const wrap = (original: (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => unknown) =>
      function (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): unknown {
        if (typeof callback !== 'function') return original(callback, ms, ...args); // the platform's own TypeError
        return original(function (...values: unknown[]) {
          try {
            callback(...values);
          } catch (error) {
            if (!errors.exception(error, { callback: 'timer', endpoint: null })) throw error;
          }
        }, ms, ...args);
      };
    const marked = global as { setTimeout: unknown; setInterval: unknown; __rpmsgTimersWrapped?: boolean };
    if (marked.__rpmsgTimersWrapped === true) return;
    marked.setTimeout = wrap(global.setTimeout as never);
    marked.setInterval = wrap(global.setInterval as never);
    marked.__rpmsgTimersWrapped = true;
  }
}

function indent(text: string): string {
  return text.split('\n').map((line) => `  ${line}`).join('\n');
}
