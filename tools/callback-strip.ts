/**
 * Method-level strip (engine patch 0002): which of the engine's host functions an image keeps.
 * Read from the patched engine sources: a host function whose every reference is a method
 * definition in a builder (`fxNextHostFunctionProperty(the, slot, mxCallback(f), n, mxID(_name), ...)`)
 * under a string name the app never uses, and that the engine itself never looks up by name
 * (any `mxID(_name)` outside those definitions), is left out of `gxCallbackTable`: the linker
 * drops it, and calling it (only reachable through a computed property name or reflection)
 * throws a TypeError naming it. Accessors under a string name are treated the same way, and so
 * are the constructors of STRIPPABLE_CONSTRUCTORS (Compartment, ModuleSource, the weak collections,
 * AggregateError, AsyncFunction: the engine never calls them itself). Symbol-keyed methods, the other constructors and the engine's internal
 * callbacks are always kept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CallbackInventory {
  /** Every host function of xsCallbacks.h, in table order. */
  all: string[];
  /** Host function -> the method names it is defined under; absent = it has a symbol-keyed or unnamed definition (always kept). */
  methods: Map<string, string[]>;
  /** Names the engine's C looks up or calls by ID outside the definitions (whoever does it). */
  engineNames: Set<string>;
  /** Host function -> the engine files that reference it with mxCallback. */
  files: Map<string, Set<string>>;
  /**
   * References outside the definitions, by what they name: host function (mxCallback) or name
   * (mxID) -> the C functions whose bodies hold them ('' = outside any function). A reference
   * only from the bodies of host functions that are themselves left out does not keep anything.
   */
  callbackRefs: Map<string, Set<string>>;
  nameRefs: Map<string, Set<string>>;
  /** Functions (not host functions) that no engine file calls or names: nothing they reference is needed. */
  uncalled: Set<string>;
}

/** The engine file of each strippable built-in's builder (patch 0001). */
export const BUILDER_FILES: Record<string, string> = {
  Generator: 'xsGenerator.c', BigInt: 'xsBigInt.c', Date: 'xsDate.c', RegExp: 'xsRegExp.c',
  JSON: 'xsJSON.c', Atomics: 'xsAtomics.c', Promise: 'xsPromise.c', Proxy: 'xsProxy.c',
};

const DEFINITION = /fxNextHostFunctionProperty\(the, slot, mxCallback\((\w+)\), -?\d+, mxID\((_\w+)\), [A-Z_ |]+\)/g;
/** A getter (and setter) under a string name: reachable only through that name, as a method is. */
const ACCESSOR = /fxNextHostAccessorProperty\(the, slot, mxCallback\((\w+)\), (?:mxCallback\((\w+)\)|C_NULL), mxID\((_\w+)\), [A-Z_ |]+\)/g;
/** A constructor the engine never uses itself (only through its global name; the others it calls for species, errors, iterators). */
const CONSTRUCTOR = /fxBuildHostConstructor\(the, mxCallback\((\w+)\), -?\d+, mxID\((_\w+)\)\)/g;
// Each of these is referenced by the engine only where its builder defines it (checked in xs/sources:
// no other mxCallback of it); AsyncFunction, like Function, could only compile source, and images have
// no parser. Function itself stays: xsModule.c builds one more from its callback.
export const STRIPPABLE_CONSTRUCTORS = ['Compartment', 'ModuleSource', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'AggregateError', 'AsyncFunction'];
/** A C function definition at the start of a line (XS style: the name and parameters on one line, the brace on the next). */
const FUNCTION = /^(?:static\s+|mxExport\s+|extern\s+)*[A-Za-z_][\w\s*]*?\b(\w+)\s*\([^;{)]*\)\s*\n\{\n[\s\S]*?^\}/gm;

export function callbackInventory(xsDir: string): CallbackInventory {
  const list = readFileSync(join(xsDir, 'sources/xsCallbacks.h'), 'utf8');
  const all = [...list.matchAll(/^XS_CALLBACK\((\w+)\)$/gm)].map((m) => m[1]);
  const methods = new Map<string, string[]>();
  const other = new Set<string>();
  const engineNames = new Set<string>();
  const files = new Map<string, Set<string>>();
  const callbackRefs = new Map<string, Set<string>>();
  const nameRefs = new Map<string, Set<string>>();
  const addRef = (map: Map<string, Set<string>>, key: string, from: string) => map.set(key, (map.get(key) ?? new Set()).add(from));
  for (const file of readdirSync(join(xsDir, 'sources')).filter((f) => f.endsWith('.c'))) {
    const text = readFileSync(join(xsDir, 'sources', file), 'utf8');
    const bodies = [...text.matchAll(FUNCTION)].map((m) => [m.index!, m.index! + m[0].length, m[1]] as const);
    const within = (at: number) => bodies.find(([a, b]) => at >= a && at < b)?.[2] ?? '';
    const definitions: [number, number][] = [];
    const define = (callbacks: (string | undefined)[], id: string, at: number, length: number) => {
      definitions.push([at, at + length]);
      for (const callback of callbacks) {
        if (!callback) continue;
        if (id.startsWith('_Symbol_')) { other.add(callback); continue; }
        methods.set(callback, [...(methods.get(callback) ?? []), id.slice(1)]);
      }
    };
    for (const m of text.matchAll(DEFINITION)) define([m[1]], m[2], m.index!, m[0].length);
    for (const m of text.matchAll(ACCESSOR)) define([m[1], m[2]], m[3], m.index!, m[0].length);
    for (const m of text.matchAll(CONSTRUCTOR)) if (STRIPPABLE_CONSTRUCTORS.includes(m[2].slice(1))) define([m[1]], m[2], m.index!, m[0].length);
    const inside = (at: number) => definitions.some(([a, b]) => at >= a && at < b);
    for (const m of text.matchAll(/mxCallback\((\w+)\)/g)) {
      if (!inside(m.index!)) addRef(callbackRefs, m[1], within(m.index!));
      files.set(m[1], (files.get(m[1]) ?? new Set()).add(file));
    }
    for (const m of text.matchAll(/mxID\(_(\w+)\)/g)) {
      if (inside(m.index!)) continue;
      engineNames.add(m[1]);
      addRef(nameRefs, m[1], within(m.index!));
    }
  }
  for (const name of other) methods.delete(name);
  // C functions no .c file mentions but where they are defined (fx_lockdown: nothing calls it in this
  // configuration): references from their bodies keep nothing (the linker drops the function)
  const texts = readdirSync(join(xsDir, 'sources')).filter((f) => f.endsWith('.c')).map((f) => readFileSync(join(xsDir, 'sources', f), 'utf8')).join('\n');
  const uncalled = new Set<string>();
  for (const from of new Set([...callbackRefs.values(), ...nameRefs.values()].flatMap((set) => [...set]))) {
    if (from && !all.includes(from) && (texts.match(new RegExp(`\\b${from}\\b`, 'g')) ?? []).length === 1) uncalled.add(from);
  }
  return { all, methods, engineNames, files, callbackRefs, nameRefs, uncalled };
}

/**
 * The host functions an image does not need: methods (and accessors, and the constructors of
 * STRIPPABLE_CONSTRUCTORS) the app (its byte code's names) never names, and every host function
 * only the builders of stripped built-ins reference (else the table would keep them linked
 * although their builder never runs). A name the engine looks up, or a host function it uses
 * outside a definition, keeps the methods of that name, unless every such use is in the body of
 * a host function that is itself left out (e.g. lockdown's secure Date and Math.random when the
 * app never names lockdown): decided to a fixed point.
 */
export function strippedCallbacks(inventory: CallbackInventory, appNames: string[] | null, strippedBuiltins: string[] = []): string[] {
  const used = new Set(appNames ?? []);
  const deadFiles = new Set(strippedBuiltins.map((name) => BUILDER_FILES[name]).filter(Boolean));
  const callbacks = new Set(inventory.all);
  const dead = (callback: string) => {
    const where = inventory.files.get(callback);
    return where !== undefined && [...where].every((file) => deadFiles.has(file));
  };
  const onlyFromUncalled = (callback: string) => {
    const refs = inventory.callbackRefs.get(callback);
    return !inventory.methods.has(callback) && refs !== undefined && [...refs].every((from) => inventory.uncalled.has(from));
  };
  const stripped = new Set(inventory.all.filter((callback) => dead(callback) || onlyFromUncalled(callback)
    || (appNames !== null && inventory.methods.has(callback) && inventory.methods.get(callback)!.every((name) => !used.has(name)))));
  if (appNames !== null) {
    // a reference counts from outside any function, from a C function that is not a host function
    // (unless nothing calls it), or from a kept host function
    const live = (from: string) => from === '' || (!callbacks.has(from) && !inventory.uncalled.has(from)) || (callbacks.has(from) && !stripped.has(from));
    for (let changed = true; changed;) {
      changed = false;
      for (const callback of [...stripped]) {
        if (dead(callback) || onlyFromUncalled(callback)) continue;
        const names = inventory.methods.get(callback) ?? [];
        const needed = [...(inventory.callbackRefs.get(callback) ?? [])].some(live)
          || names.some((name) => [...(inventory.nameRefs.get(name) ?? [])].some(live));
        if (needed) { stripped.delete(callback); changed = true; }
      }
    }
  }
  return inventory.all.filter((callback) => stripped.has(callback));
}

/** C source of gxCallbackTable: every host function, or fxStrippedCallback for the stripped ones. */
export function callbackTableSource(inventory: CallbackInventory, stripped: string[]): string {
  const left = new Set(stripped);
  const lines = ['/* engine patch 0002: the host functions this image keeps (manifest "strip": "*" left out the others) */'];
  // weak: a few are referenced only in code the engine's configuration compiles out (absent = NULL, never read)
  for (const callback of inventory.all) if (!left.has(callback)) lines.push(`extern void ${callback}(txMachine* the) __attribute__((weak));`);
  // not static: engine patch 0003 gives every stripped method one shared function object (it compares against this)
  lines.push('void fxStrippedCallback(txMachine* the)');
  lines.push('{');
  lines.push('\tmxTypeError("this built-in method is not in the image: manifest \\"strip\\": \\"*\\" left out the methods the app never names");');
  lines.push('}');
  lines.push('const txCallback gxCallbackTable[mxCallbackCount] = {');
  for (const callback of inventory.all) lines.push(`\t${left.has(callback) ? `fxStrippedCallback, /* ${callback} */` : `${callback},`}`);
  lines.push('};');
  return `${lines.join('\n')}\n`;
}
