/** Entry of the bundled firmware script on XS: the C platform layer defines the global `platform`. */
import type { Platform } from '../../runtime/platform.ts';
import { bootFirmware } from '../../runtime/runtime.ts';
// Resolved by tools/bundle-firmware.ts to the app named in manifest.json; an app may also
// export `runtimeOptions` (e.g. the benchmark turns the status poll off).
import * as appModule from 'xs-rpmsg-app';

declare const platform: Platform;

bootFirmware(platform, appModule);
