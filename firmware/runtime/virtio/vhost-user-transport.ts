/** The virtio transport of a vhost-user backend (the UML target): rings and memory arrive per device. */
import { RpmsgError, type ErrorCounters } from '../../../wire/errors.ts';
import { SharedMemory } from '../../../wire/shared-memory.ts';
import { VRING_DESC_SIZE, VRING_RING, VRING_USED_ELEM_SIZE, isValidVringNum } from '../../../wire/vring.ts';
import type { VhostUserDeviceInfo } from '../platform.ts';
import type { DeviceConfiguration } from './device-configuration.ts';
import { checkVringAlignment, type VringPlacement } from './vring-device.ts';

/** VHOST_USER_F_PROTOCOL_FEATURES (bit 30 of the acked features). */
const VHOST_USER_F_PROTOCOL_FEATURES_MASK = 1 << 30;

/** Turn a ready device into the rpmsg configuration, checking every ring lies inside the region. */
export function vhostUserConfiguration(info: VhostUserDeviceInfo, counters: ErrorCounters): { config: DeviceConfiguration; memory: SharedMemory } {
  const memory = new SharedMemory(info.memory, info.memoryBase);
  const ring = (index: number): VringPlacement => {
    const vring = info.vrings.find((candidate) => candidate.index === index);
    if (vring === undefined) {
      throw counters.record('vring-missing', new RpmsgError('EINVAL', `vhost-user device has no vring ${index}; rpmsg needs vrings 0 and 1`));
    }
    if (!isValidVringNum(vring.num)) {
      throw counters.record('vring-malformed', new RpmsgError('EINVAL', `vhost-user vring ${index}: num ${vring.num} is not a power of two`));
    }
    const placement: VringPlacement = {
      adoptIndexes: true,
      num: vring.num,
      notifyId: vring.notifyId,
      desc: memory.translate(vring.desc, vring.num * VRING_DESC_SIZE, `vring ${index} descriptor table`, counters),
      avail: memory.translate(vring.avail, VRING_RING + 2 * vring.num + 2, `vring ${index} avail ring`, counters),
      used: memory.translate(vring.used, VRING_RING + VRING_USED_ELEM_SIZE * vring.num + 2, `vring ${index} used ring`, counters),
    };
    checkVringAlignment(memory, placement, `vhost-user vring ${index}`, counters);
    return placement;
  };
  // Low 32 bits: VIRTIO_RPMSG_F_NS is bit 0, EVENT_IDX bit 29 (VERSION_1 is bit 32). Bit 30 is
  // VHOST_USER_F_PROTOCOL_FEATURES, vhost-user's own bit, not a virtio feature: dropped.
  const features = ((info.features % 0x100000000) & ~VHOST_USER_F_PROTOCOL_FEATURES_MASK) >>> 0;
  return { config: { features, transmit: ring(0), receive: ring(1) }, memory };
}
