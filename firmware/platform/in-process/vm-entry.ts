/**
 * Entry of the bundled firmware in the in-process target's XS-like context (launch/firmware-context.ts):
 * the same steps as firmware/platform/xs/xs-entry.ts, and the runtime handed back to the host
 * through `platform.started` (the in-process host reads its statistics directly).
 */
import type { Platform } from '../../runtime/platform.ts';
import { Runtime } from '../../runtime/runtime.ts';
import * as appModule from 'xs-rpmsg-app';

declare const platform: Platform & { started(runtime: Runtime): void };

let runtime: Runtime | null = null;
try {
  runtime = new Runtime(platform, appModule.runtimeOptions);
} catch (error) {
  platform.log(`xs-rpmsg: cannot start: ${error instanceof Error ? error.message : String(error)}; exiting`);
  platform.exit(1);
}
if (runtime !== null) {
  platform.started(runtime);
  runtime.catchTimerExceptions(globalThis);
  appModule.default(runtime);
  runtime.start();
}
