// Issue 9 item 5: VIRTIO_RING_F_EVENT_IDX offered in dfeatures ("event-idx") and negotiated by the
// host (host-sim's virtqueue behaves as Linux's virtio_ring with it): the remote keeps
// used.avail_event up to date, so the host's doorbells keep coming; no status poll to fall back on.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LinuxHost } from '../../host-sim/host.ts';
import { rpmsgClientSample } from '../../host-sim/samples/rpmsg-client-sample.ts';
import { createEndpoint, send, type RpmsgDevice, type RpmsgDriver } from '../../host-sim/rpmsg/rpmsg-core.ts';
import { InProcessRemote } from '../../host-sim/transports/in-process.ts';
import echoApp from '../../firmware/apps/echo/main.ts';
import { findVdevEntry, readVdevGfeatures } from '../../resource-table/in-place.ts';

const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8'));

/** manifest.json with "event-idx" added to the rpmsg vdev's offered features. */
function withEventIdx(): unknown {
  const copy = structuredClone(manifest);
  const vdev = copy.resourceTable.vdevs[0];
  vdev.features = [...(vdev.features ?? ['ns']), 'event-idx'];
  return copy;
}

async function boot(beforeBoot: (host: LinuxHost) => void) {
  const host = new LinuxHost();
  beforeBoot(host);
  // No status poll once running (2^30 ms): every message must come with a doorbell.
  const remote = new InProcessRemote({ manifest: withEventIdx(), app: echoApp, runtimeOptions: { pollWhileRunning: 2 ** 30 } });
  const rproc = host.addRproc({ name: 'remoteproc0', ops: remote, memory: remote.memory, dmaPool: remote.dmaPool });
  remote.attach(rproc);
  await rproc.boot(remote.firmware);
  return { host, remote, rproc };
}

const until = async (condition: () => boolean, what: string, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

describe('EVENT_IDX negotiated (dfeatures "event-idx")', () => {
  it('rpmsg-client-sample completes 100/100 with doorbells only; the host sees bit 29 in gfeatures', async () => {
    let sample: ReturnType<typeof rpmsgClientSample> | null = null;
    const { host, remote, rproc } = await boot((h) => {
      sample = rpmsgClientSample(h.log);
      h.rpmsg.registerRpmsgDriver(sample.driver);
    });
    try {
      const view = remote.memory.view;
      const vdev = findVdevEntry(view, 0, 0x400); // the in-process image puts its table at offset 0
      expect((readVdevGfeatures(view, vdev) >>> 29) & 1).toBe(1);
      await Promise.race([sample!.finished, until(() => false, 'the 100th echo')]);
      expect(sample!.summary()).toBe('rpmsg-client-sample: 100/100 echoed');
      expect(host.log.find('goodbye!')).toHaveLength(1);
    } finally {
      await rproc.shutdown();
      remote.stop();
    }
  });

  it('pipelined host sends (a burst of 200 before the remote runs) all arrive and are echoed in order', async () => {
    const echoes: string[] = [];
    let bound: RpmsgDevice | null = null;
    const driver: RpmsgDriver = { name: 'burst', idTable: ['rpmsg-client-sample'], probe: (device) => { bound = device; }, callback() {} };
    const { host, remote, rproc } = await boot((h) => h.rpmsg.registerRpmsgDriver(driver));
    try {
      await until(() => bound !== null && bound.ept !== null, 'the channel');
      const ept = createEndpoint(bound! as RpmsgDevice, (_device, data) => echoes.push(String.fromCharCode(...data)));
      for (let round = 0; round < 3; round++) {
        const sends: Promise<void>[] = [];
        for (let i = 0; i < 200; i++) sends.push(send(ept, `r${round}#${i}`));
        await Promise.all(sends);
        await until(() => echoes.length === 200 * (round + 1), `the echoes of round ${round}`);
      }
      expect(echoes).toEqual(Array.from({ length: 600 }, (_, n) => `r${Math.floor(n / 200)}#${n % 200}`));
      expect(host.rpmsgTransports(rproc)[0].statistics.txTimeouts).toBe(0);
    } finally {
      await rproc.shutdown();
      remote.stop();
    }
  });
});
