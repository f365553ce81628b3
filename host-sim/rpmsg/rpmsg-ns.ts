/** The name service (drivers/rpmsg/rpmsg_ns.c): channels appear and disappear on the remote's announcements. */
import { RpmsgError } from '../../wire/errors.ts';
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR } from '../../wire/rpmsg.ts';
import { decodeNameServiceMessage, isNameServiceDestroy } from '../../wire/name-service.ts';
import type { HostLog } from '../log.ts';
import type { RpmsgDevice, RpmsgDriver } from './rpmsg-core.ts';
import type { VirtprocInfo } from './virtio-rpmsg-bus.ts';

/** The "rpmsg_ns" driver: binds the NS device of each virtio rpmsg bus and listens at address 53. */
export function rpmsgNsDriver(log: HostLog): RpmsgDriver {
  return {
    name: 'rpmsg_ns',
    // No id table, as in Linux: only the NS device (driver_override "rpmsg_ns") binds, never an announced channel.
    idTable: [],
    probe(device: RpmsgDevice): void {
      const transport = device.transport as VirtprocInfo;
      // rpmsg_ns_cb logs against the parent virtio device.
      const source = `virtio_rpmsg_bus ${transport.parentName}`;
      const endpoint = transport.createEndpoint(device, (_device, data, _src) => {
        let message;
        try {
          message = decodeNameServiceMessage(data, 0, data.length);
        } catch (error) {
          log.write('err', source, `malformed ns msg (${data.length})`);
          transport.vdev.config.errorCounters().record('ns-malformed', error as RpmsgError);
          return;
        }
        const destroy = isNameServiceDestroy(message.flags);
        const info = { name: message.name, src: RPMSG_ADDR_ANY, dst: message.addr };
        log.write('info', source, `${destroy ? 'destroy' : 'creat'}ing channel ${message.name} addr 0x${message.addr.toString(16)}`);
        if (destroy) {
          if (!transport.releaseChannel(info)) log.write('err', source, 'rpmsg_destroy_channel failed: -22');
        } else if (!transport.createChannel(info)) {
          log.write('err', source, 'rpmsg_create_channel failed');
        }
      }, RPMSG_NS_ADDR);
      // rpdev->ept: destroyed by the bus when the device goes away.
      device.ept = endpoint;
    },
  };
}
