/**
 * Engine patch 0105 (tools/xs-patches/0105-interpreter-registers.patch): on Thumb-2, fxRunID keeps
 * its stack, code, environment and current byte-code variables in fixed callee-saved registers
 * (local register variables; GCC otherwise spilled them, and every byte code loaded and stored
 * them). test/engine/fixtures/interpreter-semantics.js pins what the bytecode loop does with
 * those variables: the temporal dead zone (let/const/class read, written or typeof'd before
 * initialisation, in closures, per-iteration loop bindings, switch cases, default parameters),
 * exceptions unwinding frames through the engine's setjmp/longjmp (engine errors inside byte
 * codes, host functions throwing and calling back into JS that throws, finally on every exit),
 * closures, recursion, generators and a long mixed computation. It runs on the patched and the
 * stock engine, on posix (where the patch compiles to nothing) and on qemu (where it applies):
 * the same lines, and V8's.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0105-interpreter-registers.patch'], 'interpreter-semantics.js', 28);
