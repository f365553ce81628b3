/** samples/rpmsg/rpmsg_client_sample.c: says "hello world!" on probe and echoes until 100 replies. */
import type { HostLog } from '../log.ts';
import { send, type RpmsgDevice, type RpmsgDriver } from '../rpmsg/rpmsg-core.ts';

/** The sample's message. */
export const SAMPLE_MESSAGE = 'hello world!';
/** The channel name it serves. */
export const SAMPLE_CHANNEL = 'rpmsg-client-sample';

/** struct instance_data. */
interface InstanceData {
  rxCount: number;
}

/** The driver plus what a caller wants to know about its progress. */
export interface RpmsgClientSample {
  driver: RpmsgDriver;
  /** Replies received on the most recently probed channel. */
  rxCount(): number;
  /** "rpmsg-client-sample: N/100 echoed". */
  summary(): string;
  /** Resolves at "goodbye!" (the count-th reply). */
  finished: Promise<void>;
}

/** Create the sample driver; `count` is the module parameter (default 100). */
export function rpmsgClientSample(log: HostLog, count = 100): RpmsgClientSample {
  let latest: InstanceData = { rxCount: 0 };
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  const source = (device: RpmsgDevice): string => `rpmsg_client_sample ${device.deviceName}`;
  const driver: RpmsgDriver = {
    name: 'rpmsg_client_sample',
    idTable: [SAMPLE_CHANNEL],
    callback(device, _data, src) {
      const idata = device.priv as InstanceData;
      idata.rxCount++;
      log.write('info', source(device), `incoming msg ${idata.rxCount} (src: 0x${src.toString(16)})`);
      // samples should not live forever
      if (idata.rxCount >= count) {
        log.write('info', source(device), 'goodbye!');
        finish();
        return;
      }
      send(device.ept!, SAMPLE_MESSAGE).catch((error: Error) => {
        log.write('err', source(device), `rpmsg_send failed: ${error.message}`);
      });
    },
    async probe(device) {
      log.write('info', source(device), `new channel: 0x${device.src.toString(16)} -> 0x${device.dst.toString(16)}!`);
      latest = { rxCount: 0 };
      device.priv = latest;
      try {
        await send(device.ept!, SAMPLE_MESSAGE);
      } catch (error) {
        log.write('err', source(device), `rpmsg_send failed: ${(error as Error).message}`);
        throw error;
      }
    },
    remove(device) {
      log.write('info', source(device), 'rpmsg sample client driver is removed');
    },
  };
  return {
    driver,
    rxCount: () => latest.rxCount,
    summary: () => `rpmsg-client-sample: ${latest.rxCount}/${count} echoed`,
    finished,
  };
}
