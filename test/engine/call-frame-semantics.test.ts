/**
 * Engine patch 0104 (tools/xs-patches/0104-inline-locals-zeroing.patch): XS_CODE_RESERVE zeroes
 * a call's locals in place, four words a slot, instead of calling memset (the same bytes).
 * test/engine/fixtures/call-frame-semantics.js runs functions whose locals must start out
 * undefined or uninitialized after other calls left values in the same stack slots: var, let,
 * const and class bindings, block scopes in loops, closures, recursion, default and rest
 * parameters, try/catch/finally, generators, async functions, class members, a function with
 * 300 locals, eval and with. It runs on the patched and the stock engine, on posix and on
 * qemu: the same lines.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0104-inline-locals-zeroing.patch'], 'call-frame-semantics.js', 14);
