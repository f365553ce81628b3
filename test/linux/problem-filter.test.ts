/**
 * linux/uml.ts's problem filter against the lines Linux 6.1 prints: each error/warning format
 * string of drivers/rpmsg/{virtio_rpmsg_bus,rpmsg_core,rpmsg_ns,rpmsg_char,rpmsg_ctrl}.c,
 * samples/rpmsg/rpmsg_client_sample.c and the virtio ring, filled in as the kernel would
 * print it (device prefix and a printk timestamp), must count as a problem; the lines of a
 * clean boot must not.
 */
import { describe, expect, it } from 'vitest';
import { kernelProblems, KERNEL_PROBLEM, RPMSG_PROBLEMS } from '../../linux/uml.ts';

const at = (text: string) => `[    1.230000] ${text}`;

/** One printed line per dev_err / dev_warn / pr_err format of the 6.1 sources (in source order). */
const KERNEL_ERROR_LINES = [
  // drivers/rpmsg/virtio_rpmsg_bus.c
  'virtio_rpmsg_bus virtio0: idr_alloc failed: -28',
  'virtio_rpmsg_bus virtio0: failed to announce service -12',
  'virtio_rpmsg_bus virtio0: channel rpmsg-client-sample:ffffffff:400 already exist',
  'rpmsg_ctrl virtio0.rpmsg_ctrl.0.0: invalid addr (src 0xffffffff, dst 0x400)',
  'rpmsg_ctrl virtio0.rpmsg_ctrl.0.0: message is too big (497)',
  'rpmsg_ctrl virtio0.rpmsg_ctrl.0.0: timeout waiting for a tx buffer',
  'rpmsg_ctrl virtio0.rpmsg_ctrl.0.0: virtqueue_add_outbuf failed: -28',
  'virtio_rpmsg_bus virtio0: inbound msg too big: (512, 65535)',
  'virtio_rpmsg_bus virtio0: msg received with no recipient',
  'virtio_rpmsg_bus virtio0: failed to add a virtqueue buffer: -28',
  'virtio_rpmsg_bus virtio0: uhm, incoming signal, but no used buffer ?',
  'virtio_rpmsg_bus virtio0: can\'t remove rpmsg device: -22',
  'failed to register virtio driver: -17',
  // drivers/rpmsg/rpmsg_core.c
  'virtio_rpmsg_bus virtio0: no create_channel ops found',
  'virtio_rpmsg_bus virtio0: no release_channel ops found',
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: failed to create endpoint',
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: rpmsg_dev_probe: failed: -12',
  'rpmsg_chrdev virtio0.rpmsg-raw.-1.1025: failed to announce creation',
  'virtio0.rpmsg-client-sample.-1.1024: device_set_override failed: -12',
  'virtio0.rpmsg-client-sample.-1.1024: device_add failed: -17',
  'failed to create rpmsg class',
  'failed to register rpmsg bus: -12',
  // drivers/rpmsg/rpmsg_ns.c
  'rpmsg_ns virtio0.rpmsg_ns.53.53: malformed ns msg (39)',
  'rpmsg_ns virtio0.rpmsg_ns.53.53: rpmsg_destroy_channel failed: -22',
  'rpmsg_ns virtio0.rpmsg_ns.53.53: rpmsg_create_channel failed',
  'rpmsg_ns virtio0.rpmsg_ns.53.53: failed to create the ns ept',
  'rpmsg_ns_init: Failed to register rpmsg driver',
  // drivers/rpmsg/rpmsg_char.c
  'rpmsg rpmsg0: failed to open xsr-char',
  'rpmsg_chrdev virtio0.rpmsg-raw.-1.1025: failed to destroy endpoints: -22',
  'failed to allocate char dev region',
  'rpmsg: failed to register rpmsg raw driver',
  // drivers/rpmsg/rpmsg_ctrl.c
  'rpmsg_ctrl rpmsg_ctrl0: failed to create xsr-char channel',
  'rpmsg_ctrl rpmsg_ctrl0: failed to release xsr-char channel (-22)',
  'rpmsg_ctrl virtio0.rpmsg_ctrl.0.0: failed to nuke endpoints: -22',
  'failed to register rpmsg driver',
  // samples/rpmsg/rpmsg_client_sample.c
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: rpmsg_send failed: -512',
  // drivers/virtio/virtio_ring.c BAD_RING with virtio_rpmsg_bus's virtqueue names, drivers/virtio/virtio.c
  'virtio_rpmsg_bus virtio0: input:id 300 out of range',
  'virtio_rpmsg_bus virtio0: output:id 7 is not a head!',
  'virtio_rpmsg_bus virtio0: virtio: device refuses features: 1',
  'virtio_rpmsg_bus virtio0: device must provide VIRTIO_F_VERSION_1',
];

/** Lines of a clean boot with the sample, rpmsg_char and the NS probe (from test/linux runs). */
const CLEAN_LINES = [
  'Registering device virtio-uml.0 id=7 at /tmp/xsr-uml-abc/vhost-user.sock',
  'virtio-uml: probe of virtio-uml.0 failed with error -2',
  'virtio_rpmsg_bus virtio0: rpmsg host is online',
  'virtio_rpmsg_bus virtio0: creating channel rpmsg-client-sample addr 0x400',
  'virtio_rpmsg_bus virtio0: destroying channel xsr-ns-probe addr 0x402',
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: new channel: 0x400 -> 0x400!',
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: incoming msg 1 (src: 0x400)',
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: goodbye!',
  'rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024: rpmsg sample client driver is removed',
  'Unknown kernel command line parameters "mem=128M xsr_steps=online,flood", will be passed to user space.',
  'sysrq: Power Off',
  'reboot: Power down',
];

describe('linux/uml.ts problem filter', () => {
  it.each(KERNEL_ERROR_LINES)('counts "%s" as a problem', (line) => {
    expect(kernelProblems(at(line))).toEqual([at(line)]);
  });

  it('has a pattern for every line above and no pattern that matches none of them', () => {
    for (const pattern of RPMSG_PROBLEMS) expect(KERNEL_ERROR_LINES.some((line) => pattern.test(line)), String(pattern)).toBe(true);
  });

  it.each(CLEAN_LINES)('does not count "%s"', (line) => {
    expect(KERNEL_PROBLEM.test(at(line))).toBe(false);
  });

  it('excuses a declared rpmsg line, only that one, and never a kernel fault', () => {
    const log = [
      at('rpmsg_ctrl virtio0.rpmsg_ctrl.0.0: message is too big (497)'),
      at('virtio_rpmsg_bus virtio0: msg received with no recipient'),
      at('WARNING: CPU: 0 PID: 1 at drivers/rpmsg/virtio_rpmsg_bus.c:942 rpmsg_probe+0x1/0x2'),
      at('BUG: scheduling while atomic: insmod/21/0x00010000'),
    ].join('\n');
    const declared = [/message is too big \(497\)/, /WARNING: CPU/, /scheduling while atomic/];
    expect(kernelProblems(log, declared)).toEqual([
      at('virtio_rpmsg_bus virtio0: msg received with no recipient'),
      at('WARNING: CPU: 0 PID: 1 at drivers/rpmsg/virtio_rpmsg_bus.c:942 rpmsg_probe+0x1/0x2'),
      at('BUG: scheduling while atomic: insmod/21/0x00010000'),
    ]);
  });
});
