// firmware/runtime/text.ts against Node's TextEncoder/TextDecoder (WHATWG), as properties; the
// same cases run on XS (posix build) in test/platform/text-on-xs.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Decode, utf8Encode, utf8EncodeInto, utf8Length } from '../../firmware/runtime/text.ts';
import { anyUnits, utf8ishBytes } from './text-cases.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

describe('UTF-8 helpers agree with WHATWG TextEncoder/TextDecoder', () => {
  it('utf8Encode equals TextEncoder.encode, for any UTF-16 string (lone surrogates -> EF BF BD)', () => {
    fc.assert(fc.property(fc.oneof(anyUnits, fc.string({ unit: 'binary' })), (text) => {
      expect(Array.from(utf8Encode(text))).toEqual(Array.from(encoder.encode(text)));
      expect(utf8Length(text)).toBe(encoder.encode(text).length);
    }), { numRuns: 2000 });
  });

  it('utf8Decode equals TextDecoder.decode (replacement per maximal subpart), for any bytes', () => {
    fc.assert(fc.property(utf8ishBytes, (bytes) => {
      expect(utf8Decode(bytes)).toBe(decoder.decode(bytes));
    }), { numRuns: 5000 });
  });

  it('utf8Decode of a range equals decoding the subarray', () => {
    fc.assert(fc.property(utf8ishBytes, fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      expect(utf8Decode(bytes, start, end)).toBe(decoder.decode(bytes.subarray(start, end)));
    }));
  });

  it('utf8EncodeInto writes what TextEncoder.encodeInto writes, stopping before a character that does not fit', () => {
    fc.assert(fc.property(anyUnits, fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 8 }), (text, size, offset) => {
      const ours = new Uint8Array(size + offset);
      const theirs = new Uint8Array(size + offset);
      const written = utf8EncodeInto(text, ours, offset);
      const result = encoder.encodeInto(text, theirs.subarray(offset));
      expect(written).toBe(result.written);
      expect(Array.from(ours)).toEqual(Array.from(theirs));
    }), { numRuns: 2000 });
  });

  it('decode(encode(s)) is s for well-formed strings, across the 256-unit chunks', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 700 }), (text) => {
      expect(utf8Decode(utf8Encode(text))).toBe(text);
    }), { numRuns: 300 });
  });

  it('known vectors: euro sign, emoji, overlong, surrogate half, truncated', () => {
    expect(Array.from(utf8Encode('€😀'))).toEqual([0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
    expect(utf8Decode(new Uint8Array([0xc0, 0xaf]))).toBe('\ufffd\ufffd');
    expect(utf8Decode(new Uint8Array([0xed, 0xa0, 0x80]))).toBe('\ufffd\ufffd\ufffd');
    expect(utf8Decode(new Uint8Array([0xf0, 0x9f, 0x98]))).toBe('\ufffd');
    expect(utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe('\ufeffA');
  });
});
