/** The UML kernel itself: it builds, boots to our init, and powers off clean, with or without a vhost-user peer. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootUml, buildKernel, guestLines, kernelProblems, type KernelBuild } from '../../linux/uml.ts';

const COLD_BUILD_MS = 900_000; // a cold build takes 3-8 min on 2 busy cores
let kernel: KernelBuild;

/** Host processes whose command line names this boot's temporary folder (UML and its helpers). */
function processesOf(temporaryDir: string): string {
  return spawnSync('pgrep', ['-af', temporaryDir], { encoding: 'utf8' }).stdout.trim();
}

beforeAll(async () => {
  kernel = await buildKernel(() => {});
}, COLD_BUILD_MS);

describe('User-Mode Linux 6.1 as the rpmsg host', () => {
  it('was built with the rpmsg stack, the sample module and the rpmsg_char exercise', () => {
    for (const file of [kernel.linux, kernel.sampleModule, kernel.exercise]) expect(existsSync(file), file).toBe(true);
  });

  it('boots to init and powers off clean with no device', async () => {
    const result = await bootUml({ kernel, steps: ['list'], timeoutMs: 30_000 });
    expect(result.timedOut).toBe(false);
    expect(result.poweredOff).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(result.log).toMatch(/Run .*init\.sh as init process/);
    expect(guestLines(result)).toContain('xsr-init: step list ok');
    expect(kernelProblems(result.log)).toEqual([]);
    console.log(`UML boot to init: ${result.bootToInitMs} ms`); // a figure, not a timed assertion (shared machines)
    expect(existsSync(result.temporaryDir)).toBe(false); // uml_dir and TMPDIR went with it
    expect(processesOf(result.temporaryDir)).toBe('');
  });

  it('registers a virtio_uml device nobody serves, fails its probe with ENOENT, and still boots clean', async () => {
    const socketPath = join(tmpdir(), `xsr-nobody-${process.pid}.sock`);
    const result = await bootUml({ kernel, steps: ['list'], socketPath, timeoutMs: 30_000 });
    expect(result.poweredOff).toBe(true);
    expect(result.log).toContain(`Registering device virtio-uml.0 id=7 at ${socketPath}`);
    expect(result.log).toContain('virtio-uml: probe of virtio-uml.0 failed with error -2');
    expect(kernelProblems(result.log)).toEqual([]);
  });

  it('is killed at the timeout and leaves nothing behind', async () => {
    // "online" waits for a device that never comes; the harness must stop UML itself.
    const result = await bootUml({ kernel, steps: ['online'], initParameters: { xsr_wait: '30' }, timeoutMs: 1_500 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(null);
    expect(existsSync(result.temporaryDir)).toBe(false);
    expect(processesOf(result.temporaryDir)).toBe('');
  });
});
