/** The app module the firmware bundle links in (tools/bundle-firmware.ts resolves it). */
declare module 'xs-rpmsg-app' {
  import type { App, RuntimeOptions } from '../runtime/runtime.ts';
  const app: App;
  export default app;
  /** Optional runtime tuning the app asks for. */
  export const runtimeOptions: RuntimeOptions | undefined;
}
