/** Builds (or reuses) the XS firmware of an app for a native target: bundle, then tools/build-firmware.ts. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFirmware } from '../tools/bundle-firmware.ts';
import { buildFirmware, type BuildResult, type FirmwareTarget } from '../tools/build-firmware.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The app manifest.json names (firmware/apps/<name>/), default "echo". */
export function defaultApp(): string {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { app?: { name?: string } };
  return manifest.app?.name ?? 'echo';
}

/** The manifest of `app`: firmware/apps/<app>/manifest.json when the app has its own, else the project's manifest.json. */
export function appManifestPath(app: string): string {
  const own = app.endsWith('.ts') ? join(dirname(app), 'manifest.json') : join(root, 'firmware/apps', app, 'manifest.json');
  return existsSync(own) ? own : join(root, 'manifest.json');
}

/** ENOENT with the apps that exist, unless firmware/apps/<app>/main.ts exists. */
export function checkApp(app: string): void {
  if (app.endsWith('.ts')) {
    if (!existsSync(app)) throw new Error(`ENOENT: app entry ${app} does not exist`);
    return;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(app) || !existsSync(join(root, 'firmware/apps', app, 'main.ts'))) {
    throw new Error(`ENOENT: there is no app "${app}" (firmware/apps/${app}/main.ts); create one with: npx xs-rpmsg new ${app}`);
  }
}

/** The folder an app's image is built in: build/<target>-<app>/ (an app given as a path to its main.ts: its folder's name). */
export function imageFolder(target: FirmwareTarget, app: string): string {
  return join(root, 'build', `${target}-${app.endsWith('.ts') ? basename(dirname(app)) : app}`);
}

/** Build `app` for `target` (only what changed); the image is build/<target>-<app>/firmware.elf or xs-rpmsg-posix (debug: build/<target>-<app>-debug/, docs/DEBUGGING.md). */
export async function buildAppFirmware(target: FirmwareTarget, app: string, verbose = false, debug = false): Promise<BuildResult> {
  checkApp(app);
  const out = debug ? `${imageFolder(target, app)}-debug` : imageFolder(target, app);
  const js = join(out, 'firmware.js');
  await bundleFirmware(js, app);
  return buildFirmware({ target, js, out, verbose, manifest: appManifestPath(app), ...(debug ? { debug } : {}) });
}

/** Path of the built ELF (qemu-mps2) or executable (posix) of `app`; rebuilt only where inputs changed. */
export async function firmwareImage(target: FirmwareTarget, app: string, verbose = false): Promise<string> {
  return (await buildAppFirmware(target, app, verbose)).output;
}
