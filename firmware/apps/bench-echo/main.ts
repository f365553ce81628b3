/**
 * The bench app without its zero-copy echo: the echo app plus the control endpoint only, so that
 * `bench/echo-instructions.ts --no-zero-copy` measures the footprint of the echo app itself
 * (zero-copy is opt-in and sizes its bookkeeping by the rings: docs/BENCHMARKS.md "Footprint").
 */
import type { Rpmsg } from '../../runtime/runtime.ts';
import echoApp from '../echo/main.ts';
import { benchControl } from '../bench/main.ts';

export { runtimeOptions } from '../bench/main.ts';

export default function benchEchoApp(rpmsg: Rpmsg): void {
  echoApp(rpmsg);
  benchControl(rpmsg);
}
