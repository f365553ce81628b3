/** The remote the Linux suites boot against: the posix XS binary running the e2e app, as a vhost-user backend. */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFirmware } from '../../tools/build-firmware.ts';
import { bundleFirmware } from '../../tools/bundle-firmware.ts';
import type { RemoteCommand } from '../../linux/uml.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Either how to start our remote, or why these tests cannot run here. */
export type LinuxRemote = { remote: RemoteCommand; binary: string } | { skip: string };

/**
 * Builds (or reuses) build/linux-e2e/xs-rpmsg-posix: the real TypeScript runtime on XS with the
 * e2e app (echo on "rpmsg-client-sample" + the control service), in its own output folder so it
 * never races another suite's build. XSR_LINUX_REMOTE=PATH uses another binary that accepts
 * `--vhost-user SOCKET`.
 */
export async function linuxRemote(): Promise<LinuxRemote> {
  let binary = process.env.XSR_LINUX_REMOTE;
  if (!binary) {
    const out = join(root, 'build/linux-e2e');
    const js = join(out, 'firmware.js');
    await bundleFirmware(js, 'e2e');
    binary = (await buildFirmware({ target: 'posix', js, out, verbose: false })).output;
  }
  const help = spawnSync(binary, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  if (!`${help.stdout}${help.stderr}`.includes('--vhost-user')) {
    return { skip: `${binary} has no --vhost-user switch yet (firmware/platform/posix/main.c must link firmware/platform/vhost-user/; see docs/LINUX.md)` };
  }
  return { binary, remote: { command: binary, args: ['--vhost-user', '{socket}'] } };
}
