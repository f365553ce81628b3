/** Entry of the bundled firmware script on XS: the C platform layer defines the global `platform`. */
import type { Platform } from '../../runtime/platform.ts';
import { Runtime } from '../../runtime/runtime.ts';
// Resolved by tools/bundle-firmware.ts to the app named in manifest.json; an app may also
// export `runtimeOptions` (e.g. the benchmark turns the status poll off).
import * as appModule from 'xs-rpmsg-app';

declare const platform: Platform;

let runtime: Runtime | null = null;
try {
  runtime = new Runtime(platform, appModule.runtimeOptions);
} catch (error) {
  // A malformed own resource table (e.g. a host scribbled on it before we booted): refuse and stop, not crash.
  platform.log(`xs-rpmsg: cannot start: ${error instanceof Error ? error.message : String(error)}; exiting`);
  platform.exit(1);
}
if (runtime !== null) {
  runtime.catchTimerExceptions(globalThis);
  appModule.default(runtime);
  runtime.start();
}
