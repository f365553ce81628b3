/**
 * Launch definition of the posix remote (Node side): starts the native XS firmware built by
 * `tools/build-firmware.ts --target posix` on its own shm file and doorbell socket, and
 * always cleans up (process, shm file, socket) — also at process exit if the caller forgot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { LaunchedProcess, type ProcessExit } from './launched-process.ts';
import { join } from 'node:path';

/** OpenAMP's Linux port default window size. */
export const POSIX_SHM_SIZE = 0x80000;

export interface PosixRemoteOptions {
  /** The executable (build/posix/xs-rpmsg-posix). */
  executable: string;
  /** /dev/shm name or absolute path; default a unique /dev/shm/xs-rpmsg-posix-<pid>-<n>. */
  shm?: string;
  /** Window size; default 0x80000. */
  shmSize?: number;
  /** Doorbell socket the remote serves; default a unique path in the temp folder. */
  socketPath?: string;
  /** Delete the shm file when done (default true for launched remotes; the remote itself never deletes unless told). */
  deleteShm?: boolean;
  /** Called with every chunk the remote prints. */
  onConsole?: (text: string) => void;
}

export type PosixExit = ProcessExit;

let counter = 0;
const live = new Set<PosixRemote>();
process.once('exit', () => {
  for (const remote of live) remote.killNow();
});

/** A running posix remote. */
export class PosixRemote extends LaunchedProcess {
  private closing: Promise<void> | null = null;

  constructor(child: ChildProcess, readonly shmPath: string, readonly socketPath: string, private readonly deleteShm: boolean, onConsole?: (text: string) => void) {
    super(child, 'posix remote', onConsole);
    live.add(this);
  }

  /** Connects to the doorbell (retrying while the remote is not listening yet); the remote boots XS once connected. */
  async connectDoorbell(timeoutMs = 10_000): Promise<Socket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.connectDoorbellSocket(this.socketPath);
      } catch (error) {
        if (this.exitStatus) throw new Error(`posix remote exited (${JSON.stringify(this.exitStatus)}):\n${this.stderr}`);
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Kills the remote if running and removes the socket (and the shm file if deleteShm). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeDoorbellSockets();
      if (!this.exitStatus) {
        this.child.kill('SIGTERM');
        const timer = setTimeout(() => this.child.kill('SIGKILL'), 1000);
        await this.exited;
        clearTimeout(timer);
      }
      this.removeFiles();
      live.delete(this);
    })();
    return this.closing;
  }

  killNow(): void {
    if (!this.exitStatus) {
      try { this.child.kill('SIGKILL'); } catch { /* gone */ }
    }
    this.removeFiles();
    live.delete(this);
  }

  private removeFiles(): void {
    const files = this.deleteShm ? [this.socketPath, this.shmPath] : [this.socketPath];
    for (const file of files) {
      try {
        if (existsSync(file)) unlinkSync(file);
      } catch { /* already gone */ }
    }
  }
}

/** Starts the posix remote; it writes its resource table into the shm file, then waits for connectDoorbell(). */
export function launchPosixRemote(options: PosixRemoteOptions): PosixRemote {
  const tag = `xs-rpmsg-posix-${process.pid}-${counter++}`;
  const shm = options.shm ?? tag;
  const shmPath = shm.startsWith('/') ? shm : `/dev/shm/${shm}`;
  const socketPath = options.socketPath ?? join(tmpdir(), `${tag}.event`);
  const deleteShm = options.deleteShm ?? true;
  if (!existsSync(options.executable)) throw new Error(`ENOENT: ${options.executable} does not exist; build it with npx tsx tools/build-firmware.ts --target posix`);
  const args = ['--shm', shm, '--shm-size', String(options.shmSize ?? POSIX_SHM_SIZE), '--socket', socketPath];
  if (deleteShm) args.push('--delete-shm');
  const child = spawn(options.executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new PosixRemote(child, shmPath, socketPath, deleteShm, options.onConsole);
}
