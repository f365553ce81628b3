/**
 * The echo app's option against Linux's sample driver (host-sim's rpmsg_client_sample, which
 * says what Linux says): with OPENAMP_SAMPLE_ECHO (the openamp-demo app) the sample still gets
 * its 100 echoes and says goodbye, then the remote's NS destroy removes the channel; with the
 * default (the echo app) the channel stays. OpenAMP's ping side is in openamp-host.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatLogLine } from '../../host-sim/log.ts';
import { rpmsgClientSample } from '../../host-sim/samples/rpmsg-client-sample.ts';
import { openSession, type Session } from '../../host-sim/session.ts';

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runSample(app: string): Promise<string[]> {
  let sample: ReturnType<typeof rpmsgClientSample> | null = null;
  session = await openSession({
    target: 'in-process',
    app,
    beforeBoot(host) {
      sample = rpmsgClientSample(host.log);
      host.rpmsg.registerRpmsgDriver(sample.driver);
    },
  });
  await sample!.finished;
  await pause(200); // time for an NS destroy to arrive after the 100th echo
  return session.host.log.lines.map(formatLogLine);
}

describe('echo app: withdrawAfter against Linux\'s rpmsg_client_sample', () => {
  it('OPENAMP_SAMPLE_ECHO: 100 echoes, goodbye, then the remote withdraws the channel and the driver is removed', async () => {
    const lines = await runSample('openamp-demo');
    const incoming = lines.filter((line) => /rpmsg_client_sample .*: incoming msg \d+/.test(line));
    expect(incoming).toHaveLength(100);
    const goodbye = lines.findIndex((line) => line.endsWith('goodbye!'));
    const destroyed = lines.findIndex((line) => /destroying channel rpmsg-client-sample addr 0x[0-9a-f]+/.test(line));
    expect(goodbye, lines.join('\n')).toBeGreaterThan(0);
    expect(destroyed, lines.join('\n')).toBeGreaterThan(goodbye);
    expect(lines.slice(destroyed)).toContain('rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: rpmsg sample client driver is removed');
  });

  it('default (LINUX_SAMPLE_ECHO): the same 100 echoes and goodbye, and the channel stays', async () => {
    const lines = await runSample('echo');
    expect(lines.filter((line) => /rpmsg_client_sample .*: incoming msg \d+/.test(line))).toHaveLength(100);
    expect(lines.some((line) => line.endsWith('goodbye!'))).toBe(true);
    expect(lines.filter((line) => /destroying channel rpmsg-client-sample/.test(line))).toEqual([]);
  });
});
