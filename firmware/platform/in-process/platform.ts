/** The in-process target: the remote runtime in the same Node process as the host simulator. */
import type { Platform } from '../../runtime/platform.ts';

/**
 * The two doorbells between host and remote in one process. Rings are delivered from the
 * event loop (setImmediate), never inside the ringer's call, as an interrupt would be.
 * A blocking wait on the remote side delivers pending host-bound rings synchronously, since
 * in one thread the host can only make progress that way.
 */
export class InProcessDoorbells {
  /** Host side: called with the notifyid the remote rang. */
  onHostNotify: ((notifyId: number) => void) | null = null;
  /** Remote side: called when the host rang (kicks merge). */
  onRemoteNotify: (() => void) | null = null;
  private readonly toHost: number[] = [];
  private remotePending = false;
  private scheduled = false;
  private closed = false;
  /** Counts, for tests. */
  readonly counts = { hostToRemote: 0, remoteToHost: 0 };

  /** The host kicks the remote (rproc_ops.kick). */
  ringRemote(): void {
    this.counts.hostToRemote++;
    this.remotePending = true;
    this.schedule();
  }

  /** The remote kicks the host with a vring's notifyid. */
  ringHost(notifyId: number): void {
    this.counts.remoteToHost++;
    this.toHost.push(notifyId);
    this.schedule();
  }

  /** Stop delivering (the remote was stopped). */
  close(): void {
    this.closed = true;
    this.toHost.length = 0;
    this.remotePending = false;
  }

  /** Open again after close() (remote restarted). */
  reopen(): void {
    this.closed = false;
  }

  /** Deliver host-bound rings now; true if the host rang the remote while doing so. */
  drainForRemoteWait(): boolean {
    const before = this.counts.hostToRemote;
    this.deliverToHost();
    return this.counts.hostToRemote !== before;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(this.deliver);
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    if (this.closed) return;
    this.deliverToHost();
    if (this.remotePending) {
      this.remotePending = false;
      this.onRemoteNotify?.();
    }
    if (this.toHost.length > 0 || this.remotePending) this.schedule();
  };

  private deliverToHost(): void {
    while (this.toHost.length > 0 && !this.closed) {
      const notifyId = this.toHost.shift()!;
      this.onHostNotify?.(notifyId);
    }
  }
}

/** Options of the in-process platform. */
export interface InProcessPlatformOptions {
  memory: ArrayBuffer;
  memoryBase: number;
  resourceTableOffset: number;
  doorbells: InProcessDoorbells;
  /** Console lines (default: dropped; the trace buffer still gets them). */
  log?: (text: string) => void;
  /** Called when the firmware exits. */
  onExit?: (code: number) => void;
}

/** Build the Platform object the runtime expects, over in-process doorbells. */
export function createInProcessPlatform(options: InProcessPlatformOptions): Platform {
  const doorbells = options.doorbells;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const window = new Uint8Array(options.memory);
  const platform: Platform = {
    memory: options.memory,
    memoryBase: options.memoryBase,
    resourceTableOffset: options.resourceTableOffset,
    notify(notifyId: number) {
      doorbells.ringHost(notifyId);
    },
    onNotify: null,
    log(text: string) {
      options.log?.(text);
    },
    now() {
      return performance.now();
    },
    waitForNotify(ms: number) {
      if (doorbells.drainForRemoteWait()) return true;
      // Nothing else can run in this thread: the wait can only time out.
      Atomics.wait(sleeper, 0, 0, ms);
      return false;
    },
    exit(code: number) {
      options.onExit?.(code);
    },
    barrier() {
      // No fence: host and remote run in this one thread, so each sees the other's stores in
      // program order (and the window is a plain ArrayBuffer, which Atomics cannot fence anyway).
    },
    copy(toShared: boolean, sharedOffset: number, bytes: Uint8Array, bytesOffset: number, length: number) {
      if (toShared) window.set(bytes.subarray(bytesOffset, bytesOffset + length), sharedOffset);
      else bytes.set(window.subarray(sharedOffset, sharedOffset + length), bytesOffset);
    },
  };
  doorbells.onRemoteNotify = () => platform.onNotify?.();
  return platform;
}
