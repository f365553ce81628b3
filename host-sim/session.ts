/** One host plus one booted remote on a chosen target: what the CLI and the end-to-end suite start. */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../firmware/runtime/runtime.ts';
import { LinuxHost } from './host.ts';
import type { LogLine } from './log.ts';
import type { Rproc } from './remoteproc/remoteproc-core.ts';
import { InProcessRemote } from './transports/in-process.ts';

/** Where a remote runs. */
export type TargetName = 'in-process' | 'qemu' | 'posix';

/** Options of openSession. */
export interface SessionOptions {
  target: TargetName;
  /** Firmware app folder name under firmware/apps/ (default: manifest.json's app). */
  app?: string;
  /** Blocking-send timeout on the host (default 15000, as Linux). */
  txTimeoutMs?: number;
  /** Sees every host kernel log line. */
  logSink?: (line: LogLine) => void;
  /** Sees every console line of the remote. */
  console?: (line: string) => void;
  /** Called before boot, e.g. to register drivers that must see the first announcements. */
  beforeBoot?: (host: LinuxHost) => void;
}

/** A running host + remote pair. */
export interface Session {
  readonly target: TargetName;
  readonly host: LinuxHost;
  readonly rproc: Rproc;
  /** Console lines of the remote so far. */
  readonly console: string[];
  /** Shut the remote down and release everything (processes, files, sockets). Idempotent. */
  close(): Promise<void>;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** manifest.json of the project. */
export function readManifest(): { app?: { name?: string } } & Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(root, 'manifest.json'), 'utf8'));
}

/** Load a firmware app's TypeScript (in-process target). */
async function loadApp(name: string): Promise<App> {
  const module = (await import(resolve(root, 'firmware/apps', name, 'main.ts'))) as { default: App };
  return module.default;
}

/** Boot a remote on `options.target` against a fresh simulated Linux host. */
export async function openSession(options: SessionOptions): Promise<Session> {
  const manifest = readManifest();
  const appName = options.app ?? manifest.app?.name ?? 'echo';
  const host = new LinuxHost({ txTimeoutMs: options.txTimeoutMs, logSink: options.logSink });
  const consoleLines: string[] = [];
  const onConsole = (line: string) => {
    consoleLines.push(line);
    options.console?.(line);
  };
  options.beforeBoot?.(host);
  switch (options.target) {
    case 'in-process': {
      const remote = new InProcessRemote({ manifest, app: await loadApp(appName), console: onConsole });
      const rproc = host.addRproc({ name: 'remoteproc0', ops: remote, memory: remote.memory, dmaPool: remote.dmaPool });
      remote.attach(rproc);
      await rproc.boot(remote.firmware);
      let closed = false;
      return {
        target: 'in-process',
        host,
        rproc,
        console: consoleLines,
        async close() {
          if (closed) return;
          closed = true;
          await rproc.shutdown();
        },
      };
    }
    default:
      throw new Error(`target ${options.target} is not available yet`);
  }
}
