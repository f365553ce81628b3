/**
 * Engine patches 0100 (tools/xs-patches/0100-typed-array-index-fast-path.patch: integer-indexed
 * get/set of typed arrays in XS_CODE_GET_PROPERTY_AT / SET_PROPERTY_AT without the accessor
 * call) and 0102 (0102-typed-array-at-fold.patch: XS_CODE_AT folded into the GET_PROPERTY_AT
 * that follows it for an integer index >= 0 of a typed array; every `a[i]` read with an
 * integer `i` below takes it). test/engine/fixtures/typed-array-semantics.js (about 610 cases: every element type x
 * numbers and other values, wrap-around, negative/fractional/huge indexes, non-canonical
 * numeric strings, subarrays and offsets, Uint8Clamped, Float32/64, BigInt64, detached and
 * resizable buffers, conversions that detach or resize, prototype chains, proxies) runs on
 * the patched and the stock engine, on posix and on qemu: the same lines. 0114 and 0115 change
 * lines 0100 and 0102 add (they do not apply without them), so the stock engine here is without
 * all four; typed-array-inline-semantics.test.ts compares with and without 0114 and 0115 alone.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0100-typed-array-index-fast-path.patch', '0102-typed-array-at-fold.patch', '0114-typed-array-inline-length.patch', '0115-typed-array-integer-store.patch'], 'typed-array-semantics.js', 600);
