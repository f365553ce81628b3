/** What a virtio transport hands the rpmsg device once the host has set the device up. */
import type { VringPlacement } from './vring-device.ts';

/** The negotiated features and both vrings, as local offsets into the shared memory. */
export interface DeviceConfiguration {
  /** Negotiated feature bits 0..31 (gfeatures). */
  features: number;
  /** vring 0: host RX = remote TX. */
  transmit: VringPlacement;
  /** vring 1: host TX = remote RX. */
  receive: VringPlacement;
}
