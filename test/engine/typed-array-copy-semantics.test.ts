/**
 * Engine patch 0110 (tools/xs-patches/0110-typed-array-same-type-memmove.patch): TypedArray.prototype.set
 * between typed arrays of the same element type (not only the same instance) moves the bytes with
 * memmove, without cloning the source buffer and without a getter/coerce/setter call per element
 * (Float32 excepted: its element path quiets signalling NaNs, kept as it was); copyWithin's
 * integer arguments are clamped without a conversion through a double.
 * test/engine/fixtures/typed-array-copy-semantics.js (about 600 cases: every element type
 * including Uint8Clamped, Float32/64 and BigInt64, overlapping source and target in one buffer in
 * both directions, subarray offsets, different element types in one buffer (conversion),
 * out-of-range, negative, fractional and string offsets, detached and resizable buffers, detaching
 * and resizing argument conversions, array-like sources, NaN payloads) runs on the patched and the
 * stock engine, on posix and on qemu: the same lines.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0110-typed-array-same-type-memmove.patch'], 'typed-array-copy-semantics.js', 500);
