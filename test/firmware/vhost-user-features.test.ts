// Issue 9 item 8: the acked features of a vhost-user device carry VHOST_USER_F_PROTOCOL_FEATURES
// (bit 30), vhost-user's own bit; the rpmsg configuration (and the "host ready" line) leaves it out.
import { describe, expect, it } from 'vitest';
import { vhostUserConfiguration } from '../../firmware/runtime/virtio/vhost-user-transport.ts';
import { ErrorCounters } from '../../wire/errors.ts';

const GPA = 0x100000;

function device(features: number) {
  const vring = (index: number, at: number) => ({ index, notifyId: index, num: 256, desc: GPA + at, avail: GPA + at + 0x1000, used: GPA + at + 0x2000 });
  return { features, memory: new ArrayBuffer(0x10000), memoryBase: GPA, vrings: [vring(0, 0x0), vring(1, 0x4000)] };
}

describe('vhost-user features', () => {
  it('UML 6.1 acks 0x140000001 (NS, PROTOCOL_FEATURES, VERSION_1): the rpmsg features are 0x1', () => {
    expect(vhostUserConfiguration(device(0x140000001), new ErrorCounters()).config.features).toBe(0x1);
  });

  it('EVENT_IDX (bit 29) stays, so the device uses it', () => {
    expect(vhostUserConfiguration(device(0x160000001), new ErrorCounters()).config.features).toBe(0x20000001);
  });
});
