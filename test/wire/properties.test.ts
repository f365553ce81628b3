// Property tests: parsers of peer-written bytes only ever fail with a named RpmsgError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import { decodeNameServiceMessage, encodeNameServiceMessage } from '../../wire/name-service.ts';
import { readRpmsgHeader, writeRpmsgHeader } from '../../wire/rpmsg.ts';

describe('name-service decoding', () => {
  it('never throws anything but RpmsgError, for any bytes and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 64 }), (bytes, length) => {
        const padded = new Uint8Array(Math.max(bytes.length, 40));
        padded.set(bytes);
        try {
          const message = decodeNameServiceMessage(padded, 0, length);
          expect(length).toBe(40);
          expect(message.name.length).toBeLessThanOrEqual(31);
        } catch (error) {
          expect(error).toBeInstanceOf(RpmsgError);
        }
      }),
    );
  });

  it('round-trips printable names up to 31 bytes', () => {
    const name = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-_.0123456789'), maxLength: 31 });
    fc.assert(
      fc.property(name, fc.nat(), fc.integer({ min: 0, max: 1 }), (text, addr, flags) => {
        const bytes = encodeNameServiceMessage({ name: text, addr, flags });
        expect(decodeNameServiceMessage(bytes, 0, 40)).toEqual({ name: text, addr, flags });
      }),
    );
  });
});

describe('rpmsg header', () => {
  it('round-trips any src, dst and len', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (src, dst, len) => {
        const view = new DataView(new ArrayBuffer(16));
        writeRpmsgHeader(view, 0, src, dst, len);
        expect(readRpmsgHeader(view, 0)).toEqual({ src, dst, reserved: 0, len, flags: 0 });
      }),
    );
  });
});
