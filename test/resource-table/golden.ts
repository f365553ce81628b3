/** Resource tables written by hand from include/linux/remoteproc.h (little-endian), never by our encoder. */

/** Hex text with comments and whitespace -> bytes. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, '');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A trace entry then one rpmsg vdev with two 256-entry vrings aligned 4096, addresses left to the host. 140 bytes. */
export const TRACE_AND_RPMSG_VDEV = hex(`
  // struct resource_table
  01000000   // ver = 1
  02000000   // num = 2
  00000000   // reserved[0]
  00000000   // reserved[1]
  18000000   // offset[0] = 24 (trace)
  48000000   // offset[1] = 72 (vdev)
  // 24: struct fw_rsc_hdr + struct fw_rsc_trace
  02000000   // type = RSC_TRACE
  00000000   // da (filled by the linker)
  00100000   // len = 4096
  00000000   // reserved
  74726163 65000000 00000000 00000000 00000000 00000000 00000000 00000000 // name[32] = "trace"
  // 72: struct fw_rsc_hdr + struct fw_rsc_vdev
  03000000   // type = RSC_VDEV
  07000000   // id = VIRTIO_ID_RPMSG
  00000000   // notifyid
  01000000   // dfeatures = VIRTIO_RPMSG_F_NS
  00000000   // gfeatures
  00000000   // config_len
  00         // status
  02         // num_of_vrings
  0000       // reserved[2]
  // 100: vring[0], struct fw_rsc_vdev_vring
  ffffffff   // da = FW_RSC_ADDR_ANY
  00100000   // align = 4096
  00010000   // num = 256
  ffffffff   // notifyid = ANY (Linux assigns)
  00000000   // pa
  // 120: vring[1]
  ffffffff   // da = FW_RSC_ADDR_ANY
  00100000   // align = 4096
  00010000   // num = 256
  ffffffff   // notifyid
  00000000   // pa
`);

/** OpenAMP's Linux userspace layout (WIRE.md "Reference peers"): one vdev, vrings at 0x4000 and 0x8000, notifyids 1 and 2. 88 bytes. */
export const OPENAMP_POSIX = hex(`
  01000000   // ver = 1
  01000000   // num = 1
  00000000 00000000 // reserved[2]
  14000000   // offset[0] = 20
  // 20: vdev
  03000000   // type = RSC_VDEV
  07000000   // id = 7
  00000000   // notifyid
  01000000   // dfeatures = NS
  00000000   // gfeatures
  00000000   // config_len
  00 02 0000 // status, num_of_vrings = 2, reserved
  00400000 00100000 00010000 01000000 00000000 // vring 0: da 0x4000, align 0x1000, num 256, notifyid 1, pa 0
  00800000 00100000 00010000 02000000 00000000 // vring 1: da 0x8000, align 0x1000, num 256, notifyid 2, pa 0
`);

/** A carveout entry alone: "fw" at da 0x21000000, 1 MiB. 72 bytes. */
export const ONE_CARVEOUT = hex(`
  01000000 01000000 00000000 00000000 // ver 1, num 1, reserved
  14000000                            // offset[0] = 20
  00000000   // type = RSC_CARVEOUT
  00000021   // da = 0x21000000
  ffffffff   // pa = ANY
  00001000   // len = 0x100000
  00000000   // flags
  00000000   // reserved
  66770000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 // name = "fw"
`);
