/**
 * Which C toolchain the firmware build uses, in this order:
 * 1. CROSS_COMPILE (qemu-mps2): `${CROSS_COMPILE}gcc` and `${CROSS_COMPILE}size`, as Linux's
 *    kbuild spells it (e.g. CROSS_COMPILE=/opt/arm-gnu-toolchain/bin/arm-none-eabi-).
 * 2. CC (and SIZE): the compiler named, when it targets the build's machine (qemu-mps2: its
 *    `-dumpmachine` is arm-*-eabi; posix: any C compiler).
 * 3. PATH: arm-none-eabi-gcc (qemu-mps2; e.g. Arm's GNU toolchain tarball's bin/ on PATH) or gcc (posix).
 * 4. Otherwise the Debian packages (scripts/install-toolchain.sh), then 3 again.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type ToolchainTarget = 'qemu-mps2' | 'posix';

/** The compiler and size tool chosen, and why. */
export interface ToolchainChoice {
  cc: string;
  size: string;
  /** "CROSS_COMPILE", "CC", "PATH" or "Debian packages". */
  source: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `command` as found on PATH (absolute path), or null; a command with a slash is checked as a path. */
export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (command.includes('/')) return executable(command) ? command : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (executable(candidate)) return candidate;
  }
  return null;
}

/** What `cc -dumpmachine` prints (e.g. "arm-none-eabi"), or null when it does not run. */
function machineOf(cc: string, env: NodeJS.ProcessEnv): string | null {
  const result = spawnSync(cc, ['-dumpmachine'], { encoding: 'utf8', env });
  return result.status === 0 ? result.stdout.trim() : null;
}

const isArmEabi = (machine: string | null) => machine !== null && /^arm.*-eabi/.test(machine);

/** The toolchain found without installing anything, or null. Throws when CROSS_COMPILE or CC names a compiler that is not there. */
export function findToolchain(target: ToolchainTarget, env: NodeJS.ProcessEnv = process.env): ToolchainChoice | null {
  if (target === 'qemu-mps2') {
    const prefix = env.CROSS_COMPILE;
    if (prefix) {
      const cc = onPath(`${prefix}gcc`, env);
      const size = onPath(`${prefix}size`, env);
      if (cc === null || size === null) throw new Error(`ENOENT: CROSS_COMPILE=${prefix} but ${prefix}${cc === null ? 'gcc' : 'size'} is not an executable (on PATH or as a path); fix CROSS_COMPILE or unset it`);
      if (!isArmEabi(machineOf(cc, env))) throw new Error(`EINVAL: CROSS_COMPILE=${prefix}: ${cc} does not target arm-*-eabi (its -dumpmachine is ${machineOf(cc, env) ?? 'unreadable'}); the qemu-mps2 firmware needs an arm-none-eabi compiler`);
      return { cc, size, source: 'CROSS_COMPILE' };
    }
    if (env.CC) {
      const cc = onPath(env.CC, env);
      if (cc !== null && isArmEabi(machineOf(cc, env))) {
        const size = onPath(env.SIZE ?? cc.replace(/gcc(-[\d.]+)?$/, 'size'), env);
        if (size === null) throw new Error(`ENOENT: CC=${env.CC} has no size tool beside it; set SIZE to its arm-none-eabi-size`);
        return { cc, size, source: 'CC' };
      }
      // CC is the host compiler (it often is): not for the Cortex-M build.
    }
    // Found on PATH: kept as the bare name (the engine object cache is keyed by the compiler as spelled).
    const found = onPath('arm-none-eabi-gcc', env) !== null && onPath('arm-none-eabi-size', env) !== null;
    return found ? { cc: 'arm-none-eabi-gcc', size: 'arm-none-eabi-size', source: 'PATH' } : null;
  }
  if (env.CC) {
    const cc = onPath(env.CC, env);
    if (cc === null) throw new Error(`ENOENT: CC=${env.CC} is not an executable (on PATH or as a path); fix CC or unset it`);
    const size = onPath(env.SIZE ?? 'size', env);
    if (size === null) throw new Error('ENOENT: no size tool on PATH; set SIZE or install binutils');
    return { cc, size, source: 'CC' };
  }
  return onPath('gcc', env) !== null && onPath('size', env) !== null ? { cc: 'gcc', size: 'size', source: 'PATH' } : null;
}

/** findToolchain, else `install()` (the Debian packages) and look on PATH again. */
export function chooseToolchain(target: ToolchainTarget, install: () => void, progress: (text: string) => void = () => {}, env: NodeJS.ProcessEnv = process.env): ToolchainChoice {
  const found = findToolchain(target, env);
  if (found !== null) {
    progress(`toolchain: ${found.cc} (${found.source})`);
    return found;
  }
  install();
  const installed = findToolchain(target, env);
  if (installed === null) throw new Error(`ENOENT: no ${target === 'qemu-mps2' ? 'arm-none-eabi-gcc' : 'gcc'} after installing the Debian packages; put one on PATH or set ${target === 'qemu-mps2' ? 'CROSS_COMPILE' : 'CC'}`);
  progress(`toolchain: ${installed.cc} (Debian packages)`);
  return { ...installed, source: 'Debian packages' };
}
