/** Case generators shared by test/firmware/text.test.ts (Node) and test/platform/text-on-xs.test.ts (XS). */
import fc from 'fast-check';

/** Strings of any UTF-16 units, lone surrogates included. */
export const anyUnits = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0, max: 0x7f })), { maxLength: 40 })
  .map((codes) => String.fromCharCode(...codes));
/** Byte strings biased to UTF-8's interesting bytes: lead bytes, continuations, the edges E0/ED/F0/F4, the invalid C0/C1/F5..FF. */
export const utf8ishBytes = fc.array(fc.oneof(
  fc.integer({ min: 0, max: 0xff }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.constantFrom(0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x7f, 0x9f, 0xa0, 0x8f, 0x90),
), { maxLength: 40 }).map((bytes) => new Uint8Array(bytes));

