/**
 * Preload "program" (tools/build-firmware.ts): the bundle's entry call is deferred to a global
 * function, so the top level runs at build time without `platform`; anything else is refused.
 */
import { describe, expect, it } from 'vitest';
import { deferEntry } from '../../tools/build-firmware.ts';

const bundle = (entry: string) => `(() => {\n  var main_exports = {};\n  function bootFirmware(p, app) { return [p, app]; }\n${entry}})();\n`;

describe('deferEntry', () => {
  it('turns xs-entry.ts\'s last call into __xsRpmsgBoot, keeping every line where it was', () => {
    const deferred = deferEntry(bundle('  bootFirmware(platform, main_exports);\n'))!;
    expect(deferred).toContain('  globalThis.__xsRpmsgBoot = () => bootFirmware(platform, main_exports);\n})();');
    expect(deferred.split('\n').length).toBe(bundle('  bootFirmware(platform, main_exports);\n').split('\n').length);
    // the deferred program runs to the end without `platform`, and the entry runs when called
    const scope: { __xsRpmsgBoot?: () => unknown } = {};
    new Function('globalThis', 'platform', deferred)(scope, undefined);
    expect(typeof scope.__xsRpmsgBoot).toBe('function');
  });

  it('refuses a bundle whose entry is not the last statement, or that calls it twice', () => {
    expect(deferEntry(bundle('  bootFirmware(platform, main_exports);\n  other();\n'))).toBeNull();
    expect(deferEntry(bundle('  bootFirmware(platform, a);\n  bootFirmware(platform, b);\n'))).toBeNull();
    expect(deferEntry('print(1);\n')).toBeNull();
  });
});
