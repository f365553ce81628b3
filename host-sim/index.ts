/** The host simulator (Linux's side): remoteproc, virtio, rpmsg, samples. */
export { LinuxHost, type LinuxHostOptions } from './host.ts';
export { HostLog, formatLogLine, type LogLine, type LogLevel } from './log.ts';
export type { RprocOps, RprocFirmware, ReservedMemory } from './remoteproc/ops.ts';
export { Rproc, type RprocOptions, type RprocState, type RprocTrace } from './remoteproc/remoteproc-core.ts';
export { RprocVdev } from './remoteproc/remoteproc-virtio.ts';
export { DeviceMemory, PAGE_SIZE, pageAlign, type DeviceMemoryEntry } from './remoteproc/device-memory.ts';
export { elfSanityCheck, elfLoadSegments, elfFindResourceTable, type ElfSegment, type ElfResourceTable } from '../resource-table/elf.ts';
export { Virtqueue, type UsedBuffer, type VirtqueueOptions } from './virtio/virtqueue.ts';
export { VirtioBus, VirtioDevice, type VirtioDriver, type VirtioConfigOps } from './virtio/virtio.ts';
export {
  RpmsgBus, RpmsgDevice, RpmsgEndpoint, createEndpoint, destroyEndpoint, send, sendTo, sendOffchannel, trySend, trySendTo,
  trySendOffchannel, payloadBytes, type RpmsgDriver, type RpmsgChannelInfo, type RpmsgRxCallback, type RpmsgTransport,
} from './rpmsg/rpmsg-core.ts';
export { VirtprocInfo, DEFAULT_TX_TIMEOUT_MS, MAX_RPMSG_NUM_BUFS, type VirtioRpmsgStatistics } from './rpmsg/virtio-rpmsg-bus.ts';
export { rpmsgNsDriver } from './rpmsg/rpmsg-ns.ts';
export { RpmsgChar, RpmsgControlDevice, RpmsgEndpointDevice, type FileOptions } from './rpmsg/rpmsg-char.ts';
export { rpmsgClientSample, SAMPLE_CHANNEL, SAMPLE_MESSAGE, type RpmsgClientSample } from './samples/rpmsg-client-sample.ts';
export type { RpmsgTapMessage } from './rpmsg/virtio-rpmsg-bus.ts';
// Scripts and tests: one host + one booted remote, its channels, request/reply, the bridge.
export { openSession, readManifest, type Session, type SessionOptions, type TargetName } from './session.ts';
export {
  findChannel, listChannels, waitForChannel, openChannel, request, tapMessages, ChannelEndpoint, type ChannelMessage, type TappedMessage,
} from './channels.ts';
export { RpmsgBridge, BridgeEndpoint, readBridgeConfig, checkBridgeConfig, isChannel, type BridgeConfig, type BridgeOptions, type ExposeOptions } from './bridge.ts';
