/**
 * The strip decisions (tools/callback-strip.ts, tools/engine-tables.ts) on the patched engine
 * sources: what "strip": "*" leaves out for an app's names, and what it must keep. The images
 * themselves are checked in precompile.test.ts (a stripped method or feature reached through a
 * computed name throws a clear TypeError on the device).
 */
import { describe, expect, it } from 'vitest';
import { callbackInventory, strippedCallbacks } from '../../tools/callback-strip.ts';
import { engineTablesSource } from '../../tools/engine-tables.ts';
import { xsSources } from '../../tools/xs-sources.ts';

const xs = xsSources().dir;
const inventory = callbackInventory(xs);
const strip = (names: string[], builtins: string[] = []) => new Set(strippedCallbacks(inventory, names, builtins));

describe('strip "*": host functions', () => {
  it('leaves out the methods and accessors of names the app never uses, keeps those it names', () => {
    const out = strip(['map', 'size']);
    expect(out.has('fx_Array_prototype_reverse')).toBe(true);
    expect(out.has('fx_Array_prototype_map')).toBe(false);
    expect(out.has('fx_Map_prototype_size')).toBe(false);
    expect(out.has('fx_ArrayBuffer_prototype_get_resizable')).toBe(true);
    expect(strip(['resizable']).has('fx_ArrayBuffer_prototype_get_resizable')).toBe(false);
  });

  it('keeps a method whose name the engine looks up from code that stays (then, next, toString, valueOf)', () => {
    const out = strip([]);
    for (const kept of ['fx_Object_prototype_toString', 'fx_Object_prototype_valueOf', 'fx_ArrayIterator_prototype_next']) expect(out.has(kept), kept).toBe(false);
  });

  it('a use only from the body of a left-out host function, or of a function nothing calls, keeps nothing', () => {
    // lockdown() (nothing calls it here) installs the secure Date and Math.random; Compartment's own body names Compartment
    const out = strip([]);
    for (const gone of ['fx_Date_secure', 'fx_Date_now_secure', 'fx_Math_random_secure', 'fx_Compartment', 'fx_ModuleSource']) expect(out.has(gone), gone).toBe(true);
    expect(strip(['Compartment']).has('fx_Compartment')).toBe(false);
  });

  it('always keeps symbol-keyed methods and the constructors the engine calls itself', () => {
    const out = strip([]);
    for (const kept of ['fx_Array_prototype_values', 'fx_Array', 'fx_Error', 'fx_Object', 'fx_Function']) expect(out.has(kept), kept).toBe(false);
  });
});

describe('engine feature tables (patch 0004)', () => {
  it('keeps every entry for the host engine and stubs out the features of stripped built-ins', () => {
    expect(engineTablesSource(xs, null).replaced).toEqual([]);
    const { source, replaced } = engineTablesSource(xs, { stripped: ['Promise', 'Generator', 'BigInt', 'Atomics', 'Proxy'], bytecode: true });
    for (const entry of ['fxNewAsyncInstance', 'fxRunImport', 'fxNewGeneratorInstance', 'fxRunForAwaitOf', 'fxBigInt_add', 'fxBigInt64Getter', 'fxInt32Add', '&gxProxyBehavior', 'fxRunEvalEnvironment']) {
      expect(replaced, entry).toContain(entry);
    }
    // the engine tests these before calling: NULL, not the throwing stub
    expect(source).toMatch(/C_NULL \/\* fxBigintToArrayBuffer \*\//);
    expect(source).toMatch(/C_NULL \/\* fxInitializeSharedCluster \*\//);
    // what the program always needs stays
    for (const entry of ['fxRunProgramEnvironment', 'fxNewFunctionLength', 'fxCaptureErrorStack', 'fxUint8Getter', '&gxOrdinaryBehavior']) expect(replaced, entry).not.toContain(entry);
  });

  it('keeps async and import() when Promise is built, generators when Generator is', () => {
    const { replaced } = engineTablesSource(xs, { stripped: ['BigInt'], bytecode: false });
    for (const entry of ['fxNewAsyncInstance', 'fxRunImport', 'fxNewGeneratorInstance', 'fxRunEvalEnvironment']) expect(replaced, entry).not.toContain(entry);
  });
});
