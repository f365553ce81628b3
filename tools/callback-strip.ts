/**
 * Method-level strip (engine patch 0002): which of the engine's host functions an image keeps.
 * Read from the patched engine sources: a host function whose every reference is a method
 * definition in a builder (`fxNextHostFunctionProperty(the, slot, mxCallback(f), n, mxID(_name), ...)`)
 * under a string name the app never uses, and that the engine itself never looks up by name
 * (any `mxID(_name)` outside those definitions), is left out of `gxCallbackTable`: the linker
 * drops it, and calling it (only reachable through a computed property name or reflection)
 * throws a TypeError naming it. Symbol-keyed methods, accessors, constructors and the engine's
 * internal callbacks are always kept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CallbackInventory {
  /** Every host function of xsCallbacks.h, in table order. */
  all: string[];
  /** Host function -> the method names it is defined under; absent = referenced otherwise too (always kept). */
  methods: Map<string, string[]>;
  /** Names the engine's C looks up or calls by ID (kept whatever the app does). */
  engineNames: Set<string>;
  /** Host function -> the engine files that reference it with mxCallback. */
  files: Map<string, Set<string>>;
}

/** The engine file of each strippable built-in's builder (patch 0001). */
export const BUILDER_FILES: Record<string, string> = {
  Generator: 'xsGenerator.c', BigInt: 'xsBigInt.c', Date: 'xsDate.c', RegExp: 'xsRegExp.c',
  JSON: 'xsJSON.c', Atomics: 'xsAtomics.c', Promise: 'xsPromise.c', Proxy: 'xsProxy.c',
};

const DEFINITION = /fxNextHostFunctionProperty\(the, slot, mxCallback\((\w+)\), -?\d+, mxID\((_\w+)\), [A-Z_ |]+\)/g;

export function callbackInventory(xsDir: string): CallbackInventory {
  const list = readFileSync(join(xsDir, 'sources/xsCallbacks.h'), 'utf8');
  const all = [...list.matchAll(/^XS_CALLBACK\((\w+)\)$/gm)].map((m) => m[1]);
  const methods = new Map<string, string[]>();
  const other = new Set<string>();
  const engineNames = new Set<string>();
  const files = new Map<string, Set<string>>();
  for (const file of readdirSync(join(xsDir, 'sources')).filter((f) => f.endsWith('.c'))) {
    const text = readFileSync(join(xsDir, 'sources', file), 'utf8');
    const definitions: [number, number][] = [];
    for (const m of text.matchAll(DEFINITION)) {
      definitions.push([m.index!, m.index! + m[0].length]);
      const id = m[2];
      if (id.startsWith('_Symbol_')) { other.add(m[1]); continue; }
      const name = id.slice(1);
      methods.set(m[1], [...(methods.get(m[1]) ?? []), name]);
    }
    const inside = (at: number) => definitions.some(([a, b]) => at >= a && at < b);
    for (const m of text.matchAll(/mxCallback\((\w+)\)/g)) {
      if (!inside(m.index!)) other.add(m[1]);
      files.set(m[1], (files.get(m[1]) ?? new Set()).add(file));
    }
    for (const m of text.matchAll(/mxID\(_(\w+)\)/g)) if (!inside(m.index!)) engineNames.add(m[1]);
  }
  for (const name of other) methods.delete(name);
  return { all, methods, engineNames, files };
}

/**
 * The host functions an image does not need: methods the app (its byte code's names) never
 * names, and every host function only the builders of stripped built-ins reference (else the
 * table would keep them linked although their builder never runs).
 */
export function strippedCallbacks(inventory: CallbackInventory, appNames: string[] | null, strippedBuiltins: string[] = []): string[] {
  const used = new Set(appNames ?? []);
  const deadFiles = new Set(strippedBuiltins.map((name) => BUILDER_FILES[name]).filter(Boolean));
  return inventory.all.filter((callback) => {
    const where = inventory.files.get(callback);
    if (where && [...where].every((file) => deadFiles.has(file))) return true;
    if (appNames === null) return false; // built-in level only
    const names = inventory.methods.get(callback);
    return names !== undefined && names.every((name) => !used.has(name) && !inventory.engineNames.has(name));
  });
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
