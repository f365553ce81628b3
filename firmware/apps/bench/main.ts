/**
 * Benchmark app (bench/echo-instructions.ts): the echo app and its zero-copy variant, with the runtime's status poll
 * timer turned off (so that only the host's doorbells start service passes: the same passes,
 * in the same order, on every run), plus a control endpoint that reports the XS heap.
 */
import type { Rpmsg, RuntimeOptions } from '../../runtime/runtime.ts';
import echoApp from '../echo/main.ts';
import { zeroCopyEchoApp, zeroCopyHeldEchoApp } from '../echo/zero-copy-echo.ts';

/** The channel the host asks for heap figures on. */
export const BENCH_CONTROL_SERVICE = 'xs-bench-control';

/** No status poll during a benchmark: one day. */
const NO_POLL_MS = 86_400_000;

interface HeapPlatform {
  heap?: (collect?: boolean) => { slots: number; chunks: number; allocated: number; peak?: number; mallocPeak?: number; stackPeak?: number; stackSize?: number };
}
declare const platform: HeapPlatform | undefined;

/**
 * The status poll (20 ms while running, 1 ms before DRIVER_OK) would start service passes at
 * wall-clock-dependent moments; the host's doorbells alone drive the benchmark (a Linux-like
 * host kicks vring 0 once DRIVER_OK is set).
 */
export const runtimeOptions: RuntimeOptions = { pollWhileRunning: NO_POLL_MS, pollWhileWaiting: NO_POLL_MS };

export default function benchApp(rpmsg: Rpmsg): void {
  echoApp(rpmsg);
  zeroCopyEchoApp(rpmsg); // "rpmsg-zero-copy-echo": the zero-copy figures beside the copying ones
  zeroCopyHeldEchoApp(rpmsg); // "rpmsg-zero-copy-held-echo": the same with the RX buffer held and released
  benchControl(rpmsg);
}

/** The control endpoint (heap figures); firmware/apps/bench-echo is the echo app with only this added. */
export function benchControl(rpmsg: Rpmsg): void {
  const heap = typeof platform === 'undefined' ? undefined : platform.heap;
  // A control message: byte 0 = 1 collects garbage first. Reply: slots, chunks, allocated, then the
  // peak XS heap in use, the malloc and C-stack high-water marks and the stack size (i32, -1: not known); little endian.
  const reply = new Uint8Array(28);
  const view = new DataView(reply.buffer);
  const request = new Uint8Array(4);
  rpmsg.createEndpoint({
    name: BENCH_CONTROL_SERVICE,
    onReadable(_count, source) {
      const length = this.read(request);
      const figures = heap?.(length > 0 && request[0] === 1) ?? { slots: 0, chunks: 0, allocated: 0 };
      view.setUint32(0, figures.slots, true);
      view.setUint32(4, figures.chunks, true);
      view.setUint32(8, figures.allocated, true);
      view.setInt32(12, figures.peak ?? -1, true);
      view.setInt32(16, figures.mallocPeak ?? -1, true);
      view.setInt32(20, figures.stackPeak ?? -1, true);
      view.setInt32(24, figures.stackSize ?? -1, true);
      this.sendTo(source, reply, 28);
    },
  });
}
