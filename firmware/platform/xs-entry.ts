/** Entry of the bundled firmware script on XS: the C platform layer defines the global `platform`. */
import type { Platform } from '../runtime/platform.ts';
import { startRuntime } from '../runtime/runtime.ts';
// Resolved by scripts/bundle-firmware.ts to the app named in manifest.json.
import app from 'xs-rpmsg-app';

declare const platform: Platform;

startRuntime(platform, app);
