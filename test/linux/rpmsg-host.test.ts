/**
 * The real Linux rpmsg stack (virtio_rpmsg_bus, rpmsg_ns, rpmsg_char, rpmsg_client_sample) against
 * our remote: the TypeScript runtime on XS, as a vhost-user backend of User-Mode Linux.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootUml,
  buildKernel,
  guestLines,
  kernelProblems,
  startRemote,
  type BootResult,
  type KernelBuild,
  type RemoteCommand,
} from '../../linux/uml.ts';
import { linuxRemote } from './remote.ts';

const SETUP_MS = 900_000; // a cold kernel build (3-8 min on 2 busy cores) plus a cold XS build
const REPEATED_BOOTS = 20;

let kernel: KernelBuild;
let remote: RemoteCommand | null = null;
let skipReason = '';

beforeAll(async () => {
  kernel = await buildKernel(() => {});
  const found = await linuxRemote();
  if ('skip' in found) skipReason = found.skip;
  else remote = found.remote;
}, SETUP_MS);

/** "incoming msg N" numbers the kernel sample logged, in order. */
function sampleMessages(result: BootResult): number[] {
  return result.lines.flatMap((line) => {
    const match = /rpmsg_client_sample .*: incoming msg (\d+) \(src: 0x400\)/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

/** The kernel line the char step's 497-byte write provokes on purpose (virtio_rpmsg_bus's size check). */
const TOO_BIG = /rpmsg_ctrl virtio0\.rpmsg_ctrl\.0\.0: message is too big \(497\)/;

function explain(result: BootResult): string {
  return `kernel log:\n${result.log}\nremote log:\n${result.remoteLog}`;
}

describe('Linux 6.1 rpmsg host against the XS remote (vhost-user)', () => {
  let boot: BootResult;

  beforeAll(async () => {
    if (!remote) return;
    boot = await bootUml({ kernel, remote, steps: ['online', 'sample', 'char', 'nsdestroy', 'list'], timeoutMs: 60_000 });
  }, 90_000);

  it('brings the rpmsg host online and creates the channels the remote announced', (context) => {
    if (!remote) return context.skip(skipReason);
    expect(boot.poweredOff, explain(boot)).toBe(true);
    expect(boot.log).toContain('virtio_rpmsg_bus virtio0: rpmsg host is online');
    expect(boot.log).toContain('virtio_rpmsg_bus virtio0: creating channel rpmsg-client-sample addr 0x400');
    expect(boot.log).toMatch(/creating channel xs-rpmsg-test-control addr 0x[0-9a-f]+/);
    expect(kernelProblems(boot.log, [TOO_BIG]), explain(boot)).toEqual([]);
  });

  it('runs rpmsg_client_sample to completion: 100 of 100 echoes, then goodbye', (context) => {
    if (!remote) return context.skip(skipReason);
    expect(sampleMessages(boot), explain(boot)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(boot.log).toMatch(/rpmsg_client_sample virtio0\.rpmsg-client-sample\.-1\.1024: goodbye!/);
  });

  it('round-trips every size from 1 to 496 bytes through /dev/rpmsg0, refuses 497 with EMSGSIZE, and destroys the endpoint', (context) => {
    if (!remote) return context.skip(skipReason);
    const guest = guestLines(boot);
    expect(guest, explain(boot)).toContain('rpmsg-char: write of 497 bytes refused: EMSGSIZE');
    expect(boot.lines.filter((line) => TOO_BIG.test(line))).toHaveLength(1); // declared above: the kernel logs the refusal
    expect(guest.some((line) => /^rpmsg-char: 496\/496 round trips ok, sizes 1\.\.496/.test(line))).toBe(true);
    expect(guest).toContain('rpmsg-char: endpoint device removed');
    expect(guest).toContain('xsr-init: step char ok');
    expect(guest.filter((line) => line.includes('FAIL'))).toEqual([]);
  });

  it('removes a channel when the remote sends an NS destroy', (context) => {
    if (!remote) return context.skip(skipReason);
    expect(boot.log, explain(boot)).toMatch(/creating channel xsr-ns-probe addr 0x[0-9a-f]+/);
    expect(boot.log).toMatch(/destroying channel xsr-ns-probe addr 0x[0-9a-f]+/);
    expect(guestLines(boot)).toContain('rpmsg-char: channel xsr-ns-probe gone');
    expect(guestLines(boot)).toContain('xsr-init: step nsdestroy ok');
  });

  it(`stays clean over ${REPEATED_BOOTS} boots in a row (no BUG, no scheduling while atomic)`, async (context) => {
    if (!remote) return context.skip(skipReason);
    for (let run = 1; run <= REPEATED_BOOTS; run++) {
      const result = await bootUml({ kernel, remote, steps: ['online', 'sample'], timeoutMs: 30_000 });
      expect(kernelProblems(result.log), `boot ${run}: ${explain(result)}`).toEqual([]);
      expect(result.poweredOff, `boot ${run}: ${explain(result)}`).toBe(true);
      expect(sampleMessages(result), `boot ${run}`).toHaveLength(100);
    }
  }, REPEATED_BOOTS * 30_000);
});

describe('one XS remote serving consecutive kernels on the same socket', () => {
  const folder = mkdtempSync(join(tmpdir(), 'xsr-linux-test-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('resets on disconnect and comes up again for the next boot (3 boots, one remote)', async (context) => {
    if (!remote) return context.skip(skipReason);
    const running = await startRemote(remote, join(folder, 'vhost-user.sock'));
    try {
      for (let run = 1; run <= 3; run++) {
        const result = await bootUml({ kernel, socketPath: running.socketPath, steps: ['online', 'sample'], timeoutMs: 30_000 });
        expect(sampleMessages(result), `boot ${run}: ${result.log}\nremote:\n${running.log}`).toHaveLength(100);
        expect(kernelProblems(result.log)).toEqual([]);
      }
      expect(running.exitCode).toBe(null); // still serving
      expect(running.log.match(/device reset/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
    } finally {
      await running.stop();
    }
  }, 120_000);
});
