/** Builds (or reuses) the XS firmware of an app for a native target: bundle, then tools/build-firmware.ts. */
import { basename, resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFirmware } from '../tools/bundle-firmware.ts';
import { buildFirmware, type FirmwareTarget } from '../tools/build-firmware.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Path of the built ELF (qemu-mps2) or executable (posix) of `app`; rebuilt only where inputs changed. */
export async function firmwareImage(target: FirmwareTarget, app: string, verbose = false): Promise<string> {
  const out = join(root, 'build', `${target}-${app.endsWith('.ts') ? basename(dirname(app)) : app}`); // an app given as a path: its folder's name
  const js = join(out, 'firmware.js');
  await bundleFirmware(js, app);
  const result = await buildFirmware({ target, js, out, verbose });
  return result.output;
}
