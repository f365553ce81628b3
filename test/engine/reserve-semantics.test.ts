/**
 * Engine patch 0108 (tools/xs-patches/0108-reserve-store-multiple.patch): on Thumb-2,
 * XS_CODE_RESERVE zeroes the called function's locals with one store-multiple of four zeroed
 * registers per 16-byte slot (3 instructions a slot instead of 0104's 7). Two fixtures: the new
 * test/engine/fixtures/reserve-semantics.js (functions with 0 to 64 locals, the loop's ends, read
 * before and after assignment right after a call that stained the same stack slots; collections
 * while the locals are live; the caller's locals and arguments intact after each call) and 0104's
 * call-frame-semantics.js. Each runs on the patched and the stock engine, on posix (where the
 * patch compiles to nothing) and on qemu (where it applies): the same lines, and V8's.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0108-reserve-store-multiple.patch'], 'reserve-semantics.js', 20);
engineSemanticsSuite(vitest, ['0108-reserve-store-multiple.patch'], 'call-frame-semantics.js', 14);
