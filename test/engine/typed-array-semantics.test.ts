/**
 * Engine patch 0100 (tools/xs-patches/0100-typed-array-index-fast-path.patch): integer-indexed
 * get/set of typed arrays in XS_CODE_GET_PROPERTY_AT / SET_PROPERTY_AT without the accessor
 * call. test/engine/fixtures/typed-array-semantics.js (about 610 cases: every element type x
 * numbers and other values, wrap-around, negative/fractional/huge indexes, non-canonical
 * numeric strings, subarrays and offsets, Uint8Clamped, Float32/64, BigInt64, detached and
 * resizable buffers, conversions that detach or resize, prototype chains, proxies) runs on
 * the patched and the stock engine, on posix and on qemu: the same lines.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, '0100-typed-array-index-fast-path.patch', 'typed-array-semantics.js', 600);
