/** Launching the real posix remote (app firmware/apps/openamp-demo) for the interop and hostile suites, with cleanup. */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchPosixRemote, type PosixRemote } from '../../launch/posix.ts';
import { bundleFirmware } from '../../tools/bundle-firmware.ts';
import { buildFirmware } from '../../tools/build-firmware.ts';
import { root } from '../platform/helpers.ts';
import { OpenAmpHostPeer } from './openamp-host-peer.ts';

/** The app every interop test runs. */
export const INTEROP_APP = 'openamp-demo';

/**
 * The posix executable of the interop app; `sanitized` builds it with -fsanitize=address,undefined
 * in its own folder (XS_RPMSG_SANITIZE=0 in the environment uses the plain build instead).
 */
export async function interopExecutable(sanitized: boolean): Promise<string> {
  const sanitize = sanitized && process.env.XS_RPMSG_SANITIZE !== '0';
  const out = join(root, 'build', `posix-${INTEROP_APP}${sanitize ? '-sanitized' : ''}`);
  const js = join(out, 'firmware.js');
  // Both suites may build at once (vitest forks): the script is replaced atomically and only when it changed.
  const fresh = `${js}.${process.pid}.tmp`;
  const text = await bundleFirmware(fresh, INTEROP_APP);
  if (existsSync(js) && readFileSync(js, 'utf8') === text) rmSync(fresh);
  else renameSync(fresh, js);
  // the source map (the precompiler's error positions) follows its script
  if (existsSync(`${fresh}.map`)) renameSync(`${fresh}.map`, `${js}.map`);
  return (await buildFirmware({ target: 'posix', js, out, sanitize, verbose: false })).output;
}

/** Lines on the console or stderr that mean the process faulted (crash report or sanitizer). */
export const FAULT_PATTERN = /\*\*\* xs-rpmsg firmware crashed|AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|SUMMARY: /;

const running = new Set<PosixRemote>();

/** Start the remote; it writes its resource table into a fresh /dev/shm file and waits for a host. */
export async function startRemote(executable: string): Promise<PosixRemote> {
  const remote = launchPosixRemote({ executable, deleteShm: true });
  running.add(remote);
  await remote.waitForConsole('waiting for the host');
  return remote;
}

/** Start the remote and an OpenAMP-convention host mapped on its file (not yet connected). */
export async function startPair(executable: string): Promise<{ remote: PosixRemote; peer: OpenAmpHostPeer }> {
  const remote = await startRemote(executable);
  return { remote, peer: OpenAmpHostPeer.map(remote) };
}

/** Kill every remote still running and remove its socket and shm file. */
export async function stopRemotes(): Promise<void> {
  for (const remote of running) await remote.close();
  running.clear();
}

/** How many times `text` occurs in the remote's console. */
export function occurrences(remote: PosixRemote, text: string): number {
  return remote.console.split(text).length - 1;
}

/** The remote is alive and printed no fault. */
export function assertHealthy(remote: PosixRemote): void {
  if (remote.exitStatus !== null) throw new Error(`the remote exited (${JSON.stringify(remote.exitStatus)}):\n${remote.console}\n${remote.stderr}`);
  const fault = FAULT_PATTERN.exec(remote.console + remote.stderr);
  if (fault) throw new Error(`the remote reported a fault (${fault[0]}):\n${remote.console}\n${remote.stderr}`);
}

/** Sanitized binaries inherit these: no leak report at exit (XS keeps its heap to the end on purpose). */
process.env.ASAN_OPTIONS ??= 'detect_leaks=0:abort_on_error=0';
process.env.UBSAN_OPTIONS ??= 'print_stacktrace=1';
