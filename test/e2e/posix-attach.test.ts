// The host simulator attaches to a posix remote that someone else started (OpenAMP's way of running the pair).
import { describe, expect, it } from 'vitest';
import { launchPosixRemote } from '../../launch/posix.ts';
import { firmwareImage } from '../../launch/firmware-image.ts';
import { rpmsgClientSample } from '../../host-sim/samples/rpmsg-client-sample.ts';
import { openSession } from '../../host-sim/session.ts';

describe('posix target, attached to a running remote', () => {
  it('runs rpmsg-client-sample 100/100 against a remote it did not start, and leaves it to its owner', async () => {
    const executable = await firmwareImage('posix', 'echo');
    const remote = launchPosixRemote({ executable });
    try {
      await remote.waitForConsole('waiting for the host'); // it listens once its table is written
      let sample: ReturnType<typeof rpmsgClientSample> | null = null;
      const session = await openSession({
        target: 'posix',
        posixAttach: { shmPath: remote.shmPath, socketPath: remote.socketPath },
        beforeBoot(host) {
          sample = rpmsgClientSample(host.log);
          host.rpmsg.registerRpmsgDriver(sample.driver);
        },
      });
      await sample!.finished;
      expect(sample!.summary()).toBe('rpmsg-client-sample: 100/100 echoed');
      await session.close();
      // Closing the doorbell is the remote's cue that its peer is gone: it exits cleanly by itself.
      expect((await remote.exited).code).toBe(0);
      expect(remote.console).toMatch(/peer gone/);
    } finally {
      await remote.close();
    }
  }, 120_000);
});
