/**
 * What the module "xs-rpmsg-app" looks like to firmware/platform/xs/xs-entry.ts: tools/bundle-firmware.ts
 * resolves it to the app named in manifest.json (firmware/apps/NAME/main.ts), and the build's
 * type-check (tools/typecheck.ts) maps it to that app, so the app is checked against this shape.
 */
import type { App, RuntimeOptions } from '../runtime/runtime.ts';

/** The app: called once at boot with the runtime. */
declare const app: App;
export default app;
/** Optional runtime tuning the app asks for. */
export declare const runtimeOptions: RuntimeOptions | undefined;
