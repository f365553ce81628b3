/**
 * Engine patches 0114 (tools/xs-patches/0114-typed-array-inline-length.patch: the typed-array fast
 * paths of 0100 and 0102 read the view's byte length without calling fxGetDataViewSize when the
 * buffer is neither detached nor resizable) and 0115 (0115-typed-array-integer-store.patch: an
 * integer stored into an Int8/16/32 or Uint8/16/32 element skips the coercion, ToInt32/ToUint32,
 * whose result the setter would truncate to the same bits). 0100's fixture
 * test/engine/fixtures/typed-array-semantics.js (every element type x integers, negative and
 * fractional numbers and other values, wrap-around, indexes at and past the length, subarrays and
 * byte offsets, Uint8Clamped, Float32/64, BigInt64, detached buffers, resizable buffers grown and
 * shrunk under length-tracking and fixed-length views, conversions that detach or resize) runs on
 * the patched and the stock engine (without both), on posix and on qemu: the same lines, and V8's.
 * Checked that it fails with 0114 taking the view's size whatever the buffer (reads past a shrunk
 * resizable buffer's end; posix crashes on a detached one) and with 0115 skipping the coercion for
 * every element type (Float32/64 then store an integer's bits as a double).
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0114-typed-array-inline-length.patch', '0115-typed-array-integer-store.patch'], 'typed-array-semantics.js', 600);
