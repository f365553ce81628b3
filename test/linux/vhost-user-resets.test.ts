/**
 * Issue 9 items 1 and 4 against the real Linux 6.1 rpmsg stack (UML, vhost-user): the host goes
 * away while the remote sits in a blocking send, and virtio_rpmsg_bus is unbound and bound again
 * while the remote runs. One XS remote serves every boot.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootUml, buildKernel, kernelProblems, startRemote, type BootResult, type KernelBuild, type RemoteCommand } from '../../linux/uml.ts';
import { linuxRemote } from './remote.ts';
import { buildFirmware } from '../../tools/build-firmware.ts';
import { bundleFirmware } from '../../tools/bundle-firmware.ts';

let kernel: KernelBuild;
let remote: RemoteCommand | null = null;
let skipReason = '';
const folder = mkdtempSync(join(tmpdir(), 'xsr-linux-resets-'));

beforeAll(async () => {
  kernel = await buildKernel(() => {});
  const found = await linuxRemote();
  if ('skip' in found) skipReason = found.skip;
  else remote = found.remote;
}, 900_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const sampleCount = (result: BootResult) => result.lines.filter((line) => /rpmsg_client_sample .*: incoming msg \d+ \(src: 0x400\)/.test(line)).length;

describe('the host goes away while the remote waits in a blocking send', () => {
  it('the flood of blocking sends ends at once with EPIPE (no spin to the 15 s timeout, no ring errors against the next host), and the next boot is served', async (context) => {
    if (!remote) return context.skip(skipReason);
    const running = await startRemote(remote, join(folder, `flood-${process.pid}.sock`));
    try {
      // The flood runs until the power-off takes the host away under it.
      const first = await bootUml({ kernel, socketPath: running.socketPath, steps: ['online', 'remoteflood', 'sleep'], timeoutMs: 60_000 });
      expect(first.log, first.log).toMatch(/xsr-init: step remoteflood ok/);
      const second = await bootUml({ kernel, socketPath: running.socketPath, steps: ['online', 'sample'], timeoutMs: 60_000 });
      expect(sampleCount(second), `${second.log}\nremote:\n${running.log}`).toBe(100);
      expect(running.log).toMatch(/e2e: flood stopped after \d+: EPIPE: /);
      expect(running.log).not.toMatch(/ERESTARTSYS|corrupted the ring|runs \d+ entries ahead/);
      expect(kernelProblems(second.log)).toEqual([]);
      expect(running.exitCode).toBe(null);
    } finally {
      await running.stop();
    }
  }, 180_000);
});

describe('virtio_rpmsg_bus unbound and bound again through sysfs while the remote runs', () => {
  it('every channel comes back and rpmsg_client_sample then completes 100/100', async (context) => {
    if (!remote) return context.skip(skipReason);
    const result = await bootUml({ kernel, remote, steps: ['online', 'sysfsrebind', 'sample'], timeoutMs: 60_000 });
    const explain = `${result.log}\nremote:\n${result.remoteLog}`;
    expect(result.log, explain).toMatch(/xsr-init: channels back after rebind of virtio\d+/);
    expect(sampleCount(result), explain).toBe(100);
    expect(result.remoteLog, explain).not.toMatch(/corrupted the ring|runs \d+ entries ahead/);
    expect(kernelProblems(result.log)).toEqual([]);
  }, 120_000);
});

describe('EVENT_IDX offered ("event-idx" in the manifest\'s dfeatures) and negotiated by Linux 6.1', () => {
  it('the remote keeps used.avail_event up to date: rpmsg_client_sample completes 100/100 and /dev/rpmsg0 round-trips every size (no status poll on vhost-user to fall back on)', async (context) => {
    if (!remote) return context.skip(skipReason);
    const root = new URL('../..', import.meta.url).pathname;
    const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
    manifest.resourceTable.vdevs[0].features = [...(manifest.resourceTable.vdevs[0].features ?? ['ns']), 'event-idx'];
    const posix = manifest.resourceTable.targets?.posix?.vdevs?.[0];
    if (posix && 'dfeatures' in posix) posix.dfeatures = (posix.dfeatures | (1 << 29)) >>> 0; // the posix override sets dfeatures as a number
    const manifestPath = join(folder, 'manifest-event-idx.json');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const out = join(root, 'build/linux-e2e-event-idx');
    const js = join(out, 'firmware.js');
    await bundleFirmware(js, 'e2e');
    const binary = (await buildFirmware({ target: 'posix', js, out, manifest: manifestPath, verbose: false })).output;
    const result = await bootUml({ kernel, remote: { command: binary, args: ['--vhost-user', '{socket}'] }, steps: ['online', 'sample', 'char'], timeoutMs: 90_000 });
    const explain = `${result.log}\nremote:\n${result.remoteLog}`;
    expect(result.remoteLog, explain).toMatch(/host ready \(features 0x20000001, vrings/);
    expect(sampleCount(result), explain).toBe(100);
    expect(result.log, explain).toMatch(/xsr-init: step char ok/);
    // the char step's 497-byte write is refused on purpose (rpmsg_char's own line)
    expect(kernelProblems(result.log, [/message is too big \(497\)/]), explain).toEqual([]);
  }, 600_000);
});
