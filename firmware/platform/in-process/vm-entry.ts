/**
 * Entry of the bundled firmware in the in-process target's XS-like context (launch/firmware-context.ts):
 * the same boot as firmware/platform/xs/xs-entry.ts, and the runtime handed back to the host
 * through `platform.started` (the in-process host reads its statistics directly).
 */
import type { Platform } from '../../runtime/platform.ts';
import { bootFirmware, type Runtime } from '../../runtime/runtime.ts';
import * as appModule from 'xs-rpmsg-app';

declare const platform: Platform & { started(runtime: Runtime): void };

bootFirmware(platform, appModule, (runtime) => platform.started(runtime));
