/**
 * Engine patch 0109 (tools/xs-patches/0109-dispatch-table-register.patch): on Thumb-2, fxRunID
 * keeps the address of its dispatch table (gxBytes) in the callee-saved r4 instead of reloading it
 * from a literal pool at every byte code. The register must hold across every way control leaves
 * and re-enters the loop: host functions (C calls that may use r4 themselves), host functions
 * calling back into JS (fxRunID re-entered), exceptions unwinding through setjmp/longjmp, generators
 * resumed (a new fxRunID with the saved stack). 0105's fixture test/engine/fixtures/
 * interpreter-semantics.js exercises each of these; it runs on the patched and the stock engine,
 * on posix (where the patch compiles to nothing) and on qemu (where it applies): the same lines,
 * and V8's. Checked that it fails with the table in the call-clobbered r12 instead.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0109-dispatch-table-register.patch'], 'interpreter-semantics.js', 28);
