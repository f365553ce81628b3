/**
 * UTF-8 text <-> bytes for apps (XS here has no TextEncoder or TextDecoder). The results are the
 * WHATWG Encoding Standard's: encoding turns a lone surrogate into U+FFFD (EF BF BD), as
 * TextEncoder does; decoding turns every invalid sequence into U+FFFD by the standard's
 * "maximal subpart" rule, as `new TextDecoder('utf-8', { ignoreBOM: true })` does (a leading
 * BOM is kept as U+FEFF: a message is not a file).
 *
 * Allocation: utf8Length and utf8EncodeInto allocate nothing (use them on the message path, with
 * one scratch buffer); utf8Encode allocates the one Uint8Array it returns; utf8Decode allocates the
 * string it returns (built 256 UTF-16 units at a time through one module-level scratch array, so a
 * decode allocates one string per 256 units plus the joins, and nothing per byte).
 *
 * @module
 */

const REPLACEMENT = 0xfffd;

/**
 * The code point at `index` of `text` (a lone surrogate reads as U+FFFD). Node's strings hold
 * UTF-16 units (an astral character is a surrogate pair: two units); the pinned XS counts an
 * astral character as one unit whose charCodeAt is the code point (docs/XS-AND-NODE.md): both
 * are handled, and `unitsOf` tells how many units the character took.
 */
function codePointAt(text: string, index: number): number {
  const unit = text.charCodeAt(index);
  if (unit < 0xd800 || (unit > 0xdfff && unit <= 0xffff)) return unit;
  if (unit > 0xffff) return unit; // XS: the whole astral character
  if (unit <= 0xdbff && index + 1 < text.length) {
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
  }
  return REPLACEMENT;
}

/** UTF-16 units the character at `index` takes: 2 for a surrogate pair, else 1. */
function unitsOf(text: string, index: number): number {
  const unit = text.charCodeAt(index);
  return unit >= 0xd800 && unit <= 0xdbff && codePointAt(text, index) >= 0x10000 ? 2 : 1;
}

/** Bytes of a code point in UTF-8. */
function encodedSize(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** The number of bytes `text` takes in UTF-8 (lone surrogates count as U+FFFD: 3 bytes). Allocates nothing. */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const codePoint = codePointAt(text, i);
    if (codePoint >= 0x10000) i += unitsOf(text, i) - 1;
    length += encodedSize(codePoint);
  }
  return length;
}

/**
 * Write `text` as UTF-8 into `target` from `offset`; returns the number of bytes written. Stops
 * before a character that does not fit whole (as TextEncoder.encodeInto), so compare the result
 * with utf8Length(text) to know whether all of it went in. Allocates nothing.
 */
export function utf8EncodeInto(text: string, target: Uint8Array, offset = 0): number {
  let at = offset;
  const end = target.length;
  for (let i = 0; i < text.length; i++) {
    const codePoint = codePointAt(text, i);
    if (codePoint < 0x80) {
      if (at + 1 > end) break;
      target[at++] = codePoint;
      continue;
    }
    if (codePoint < 0x800) {
      if (at + 2 > end) break;
      target[at++] = 0xc0 | (codePoint >> 6);
    } else if (codePoint < 0x10000) {
      if (at + 3 > end) break;
      target[at++] = 0xe0 | (codePoint >> 12);
      target[at++] = 0x80 | ((codePoint >> 6) & 0x3f);
    } else {
      if (at + 4 > end) break;
      i += unitsOf(text, i) - 1; // the low surrogate (Node), nothing (XS)
      target[at++] = 0xf0 | (codePoint >> 18);
      target[at++] = 0x80 | ((codePoint >> 12) & 0x3f);
      target[at++] = 0x80 | ((codePoint >> 6) & 0x3f);
    }
    target[at++] = 0x80 | (codePoint & 0x3f);
  }
  return at - offset;
}

/** `text` as UTF-8 bytes, in a new Uint8Array of exactly that length (the one allocation). */
export function utf8Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(utf8Length(text));
  utf8EncodeInto(text, bytes, 0);
  return bytes;
}

/** UTF-16 units waiting to become a string (reused by every decode: no allocation per byte). */
const units: number[] = [];
const CHUNK = 256;

function flush(out: string): string {
  if (units.length === 0) return out;
  const piece = String.fromCharCode.apply(null, units);
  units.length = 0;
  return out + piece;
}

function push(out: string, codePoint: number): string {
  if (codePoint >= 0x10000) {
    units.push(0xd800 + ((codePoint - 0x10000) >> 10), 0xdc00 + ((codePoint - 0x10000) & 0x3ff));
  } else {
    units.push(codePoint);
  }
  return units.length >= CHUNK ? flush(out) : out;
}

/**
 * The text of `bytes[start..end)` decoded as UTF-8 (defaults: the whole array). Invalid or
 * truncated sequences become U+FFFD, one per maximal subpart, as the WHATWG decoder does.
 */
export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = '';
  units.length = 0;
  let needed = 0; // continuation bytes still expected
  let codePoint = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (needed === 0) {
      if (byte < 0x80) {
        units.push(byte);
        if (units.length >= CHUNK) out = flush(out);
      } else if (byte >= 0xc2 && byte <= 0xdf) {
        needed = 1;
        codePoint = byte & 0x1f;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) lower = 0xa0;
        if (byte === 0xed) upper = 0x9f;
        needed = 2;
        codePoint = byte & 0x0f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) lower = 0x90;
        if (byte === 0xf4) upper = 0x8f;
        needed = 3;
        codePoint = byte & 0x07;
      } else {
        out = push(out, REPLACEMENT);
      }
      continue;
    }
    if (byte < lower || byte > upper) {
      // The sequence so far is one maximal subpart: one U+FFFD, then this byte starts afresh.
      needed = 0;
      lower = 0x80;
      upper = 0xbf;
      out = push(out, REPLACEMENT);
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    codePoint = (codePoint << 6) | (byte & 0x3f);
    if (--needed === 0) out = push(out, codePoint);
  }
  if (needed !== 0) out = push(out, REPLACEMENT);
  return flush(out);
}
