/**
 * Engine patch 0106 (tools/xs-patches/0106-retrieve-one-word-copy.patch): XS_CODE_RETRIEVE, which
 * copies a closure's captured variables into the called frame's scope at every call, copies each
 * one's kind, flag and ID as one word (the KIND_FLAG_ID member of txSlot's union) instead of three
 * stores. test/engine/fixtures/closure-semantics.js calls closures whose captured variables must
 * keep their value and kind (every type, the dead zone), their flags (const, a named function
 * expression's read-only name) and their name (XS's messages name the variable: "xs" cases), with
 * many captured variables, sibling closures, loop bindings, arrows capturing this/arguments/
 * new.target, class bindings, recursion, host callbacks and generators. It runs on the patched and
 * the stock engine, on posix and on qemu: the same lines, and V8's.
 */
import * as vitest from 'vitest';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0106-retrieve-one-word-copy.patch'], 'closure-semantics.js', 14);
