/** The remote the Linux suites boot against: the posix XS binary running the e2e app, as a vhost-user backend. */
import { spawnSync } from 'node:child_process';
import { firmwareImage } from '../../host-sim/transports/firmware-image.ts';
import type { RemoteCommand } from '../../linux/uml.ts';

/** Either how to start our remote, or why these tests cannot run here. */
export type LinuxRemote = { remote: RemoteCommand; binary: string } | { skip: string };

/**
 * Builds (or reuses) build/posix-e2e/xs-rpmsg-posix: the real TypeScript runtime on XS with the
 * e2e app (echo on "rpmsg-client-sample" + the control service). XSR_LINUX_REMOTE=PATH uses
 * another binary that accepts `--vhost-user SOCKET`.
 */
export async function linuxRemote(): Promise<LinuxRemote> {
  const binary = process.env.XSR_LINUX_REMOTE ?? (await firmwareImage('posix', 'e2e'));
  const help = spawnSync(binary, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  if (!`${help.stdout}${help.stderr}`.includes('--vhost-user')) {
    return { skip: `${binary} has no --vhost-user switch yet (firmware/platform/posix/main.c must link firmware/platform/vhost-user/; see docs/LINUX.md)` };
  }
  return { binary, remote: { command: binary, args: ['--vhost-user', '{socket}'] } };
}
