/**
 * The host simulator must say what Linux says. The same remote (the e2e app on XS) meets the
 * real kernel (UML, vhost-user) and our simulator (posix target); the rpmsg bus's and the
 * sample driver's log lines must be the same lines, in the same order per channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootUml, buildKernel, kernelLines, type BootResult, type KernelBuild } from '../../linux/uml.ts';
import { formatLogLine } from '../../host-sim/log.ts';
import { rpmsgClientSample } from '../../host-sim/samples/rpmsg-client-sample.ts';
import { openSession, type Session } from '../../host-sim/session.ts';
import { linuxRemote } from './remote.ts';

/** "virtio_rpmsg_bus virtio0: ..." and "rpmsg_client_sample virtio0....: ..." lines, printk timestamps removed. */
function rpmsgLines(lines: string[]): string[] {
  return lines
    .map((line) => line.replace(/^\[\s*\d+\.\d+\]\s*/, ''))
    .filter((line) => /^(virtio_rpmsg_bus virtio0|rpmsg_client_sample virtio0\.)/.test(line));
}

let kernel: KernelBuild;
let boot: BootResult | null = null;
let simulated: string[] = [];
let session: Session | null = null;

beforeAll(async () => {
  kernel = await buildKernel(() => {});
  const found = await linuxRemote();
  if ('skip' in found) throw new Error(found.skip);
  boot = await bootUml({ kernel, remote: found.remote, steps: ['online', 'sample'], timeoutMs: 60_000 });
  let sample: ReturnType<typeof rpmsgClientSample> | null = null;
  session = await openSession({
    target: 'posix',
    app: 'e2e',
    beforeBoot(host) {
      sample = rpmsgClientSample(host.log);
      host.rpmsg.registerRpmsgDriver(sample.driver);
    },
  });
  await sample!.finished;
  simulated = rpmsgLines(session.host.log.lines.map(formatLogLine));
}, 900_000);

afterAll(async () => {
  await session?.close();
});

describe('host simulator and Linux 6.1 agree, line for line', () => {
  it('bring the bus online and create the same channels at the same addresses', () => {
    const real = rpmsgLines(kernelLines(boot!));
    const channels = (lines: string[]) => lines.filter((line) => /rpmsg host is online|creating channel/.test(line)).sort();
    expect(channels(real).length).toBeGreaterThan(1);
    expect(channels(simulated)).toEqual(channels(real));
  });

  it('run rpmsg_client_sample with the same lines: new channel, incoming msg 1..100 (src), goodbye', () => {
    // Up to "goodbye!": after it the kernel powers off (removing the driver); our session is still up.
    const untilGoodbye = (lines: string[]) => {
      const sample = lines.filter((line) => line.startsWith('rpmsg_client_sample'));
      return sample.slice(0, sample.findIndex((line) => line.endsWith('goodbye!')) + 1);
    };
    const real = untilGoodbye(rpmsgLines(kernelLines(boot!)));
    expect(real).toHaveLength(102);
    expect(untilGoodbye(simulated)).toEqual(real);
  });

  it('remove the sample driver with the same line when the channel goes away', async () => {
    await session!.close();
    const removal = (lines: string[]) => lines.filter((line) => line.startsWith('rpmsg_client_sample') && !/new channel|incoming msg|goodbye/.test(line));
    const real = removal(rpmsgLines(kernelLines(boot!)));
    expect(real).toEqual(['rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: rpmsg sample client driver is removed']);
    expect(removal(rpmsgLines(session!.host.log.lines.map(formatLogLine)))).toEqual(real);
  });
});
