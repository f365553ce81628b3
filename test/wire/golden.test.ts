// Golden byte vectors written by hand from the kernel's struct layouts (WIRE.md), never by our encoder.
import { describe, expect, it } from 'vitest';
import { readRpmsgHeader, writeRpmsgHeader, RPMSG_HDR_SIZE, RPMSG_MTU } from '../../wire/rpmsg.ts';
import { decodeNameServiceMessage, encodeNameServiceMessage, RPMSG_NS_DESTROY } from '../../wire/name-service.ts';
import { vringLayout, vringNeedEvent } from '../../wire/vring.ts';

const hex = (text: string) => Uint8Array.from(text.replace(/\s+/g, '').match(/../g)!.map((pair) => parseInt(pair, 16)));

describe('struct rpmsg_hdr (16 bytes, packed, little-endian)', () => {
  // src 0x400, dst 0x35 (NS), reserved 0, len 40, flags 0
  const golden = hex('00040000 35000000 00000000 2800 0000');

  it('encodes src, dst, reserved, len, flags at 0, 4, 8, 12, 14', () => {
    const out = new Uint8Array(RPMSG_HDR_SIZE);
    writeRpmsgHeader(new DataView(out.buffer), 0, 0x400, 0x35, 40);
    expect(out).toEqual(golden);
  });

  it('decodes the same bytes', () => {
    expect(readRpmsgHeader(new DataView(golden.buffer), 0)).toEqual({ src: 0x400, dst: 0x35, reserved: 0, len: 40, flags: 0 });
  });

  it('MTU is 512 - 16', () => {
    expect(RPMSG_MTU).toBe(496);
  });
});

describe('struct rpmsg_ns_msg (40 bytes)', () => {
  // name[32] "rpmsg-client-sample" NUL padded, addr 0x400, flags RPMSG_NS_CREATE
  const golden = hex(
    '72706d73 672d636c 69656e74 2d73616d 706c6500 00000000 00000000 00000000' + // name
      '00040000' + // addr
      '00000000', // flags
  );

  it('encodes name, addr, flags', () => {
    expect(encodeNameServiceMessage({ name: 'rpmsg-client-sample', addr: 0x400, flags: 0 })).toEqual(golden);
  });

  it('decodes; bytes after the NUL are ignored and name[31] is forced to NUL', () => {
    const garbage = golden.slice();
    garbage[25] = 0x41; // after the NUL at 19
    expect(decodeNameServiceMessage(garbage, 0, 40)).toEqual({ name: 'rpmsg-client-sample', addr: 0x400, flags: 0 });
    const full = golden.slice();
    full.fill(0x61, 0, 32); // 32 'a', no NUL: Linux reads 31
    expect(decodeNameServiceMessage(full, 0, 40).name).toBe('a'.repeat(31));
  });

  it('refuses any length but 40 with EINVAL', () => {
    expect(() => decodeNameServiceMessage(golden, 0, 39)).toThrow(/EINVAL/);
    expect(() => decodeNameServiceMessage(hex('00'.repeat(41)), 0, 41)).toThrow(/EINVAL/);
  });

  it('a destroy carries flags 1', () => {
    const destroy = golden.slice();
    destroy[36] = RPMSG_NS_DESTROY;
    expect(decodeNameServiceMessage(destroy, 0, 40).flags).toBe(1);
  });
});

describe('legacy split vring layout (vring_init / vring_size)', () => {
  it('num 256, align 4096: desc 0, avail 4096, used 8192, 10246 bytes', () => {
    expect(vringLayout(256, 4096)).toEqual({ num: 256, align: 4096, desc: 0, avail: 4096, used: 8192, size: 10246 });
  });

  it('num 16, align 16: avail 256, used 304, 438 bytes', () => {
    // ((16*16 + 2*(3+16) + 15) & ~15) + 2*3 + 8*16 = 304 + 134
    expect(vringLayout(16, 16)).toEqual({ num: 16, align: 16, desc: 0, avail: 256, used: 304, size: 438 });
  });

  it('vring_need_event matches the kernel formula, with 16-bit wrap', () => {
    expect(vringNeedEvent(5, 6, 5)).toBe(true);
    expect(vringNeedEvent(7, 6, 5)).toBe(false);
    expect(vringNeedEvent(0xffff, 0, 0xfffe)).toBe(true);
  });
});
