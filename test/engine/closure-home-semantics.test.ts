/**
 * Engine patch 0112 (tools/xs-patches/0112-closure-home-slot-local.patch): GET_CLOSURE,
 * PULL_CLOSURE and SET_CLOSURE keep the closure's home slot (and GET_CLOSURE the alias) in
 * variables of the byte code instead of fxRunID's `slot`, which the compiler stored to the C frame
 * at every closure read and write. What the home slot is used for: the captured variable (its
 * value, kind and flags: the dead zone, const) and its name in XS's messages. 0106's fixture
 * test/engine/fixtures/closure-semantics.js reads and writes captured variables of every kind,
 * const ones, ones in their dead zone ("xs" cases print XS's messages, which name the variable);
 * it runs on the patched and the stock engine, on posix and on qemu: the same lines, and V8's.
 * Checked that it fails with GET_CLOSURE's message naming the closure's own slot instead of the
 * home slot.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0112-closure-home-slot-local.patch'], 'closure-semantics.js', 14);
