/**
 * The engine's five feature tables (engine patch 0004: gxDefaults, gxBehaviors, gxTypeDispatches,
 * gxTypeAtomics, gxTypeBigInt of xsDefaults.c), written per image into its xs_build_config.c: the
 * entries of features the image leaves out point at fxAbsentFeature (it throws a TypeError) or are
 * C_NULL where the engine tests the entry first, so nothing references their code and the linker
 * drops it. Which features are left out follows from the built-ins manifest "strip" left out, which
 * tools/precompile.ts decides from the byte code (names and features it uses):
 *
 * - Promise not built (no async function, await, import() or for await): async functions, import();
 * - Generator not built (no generator, no for await): generators; either: async generators;
 * - BigInt not built (no BigInt name, bigint literal, BigInt64Array or get/setBigInt64): every BigInt
 *   operation and the BigInt64Array element accessors (no BigInt value can exist);
 * - Atomics not built: the Atomics operations of the typed arrays and the shared cluster;
 * - Proxy not built: the Proxy behaviour (no proxy can exist: ordinary behaviour in its place);
 * - byte-code image (no parser): direct eval's environment (eval itself still reaches the parser
 *   stub, which throws the clear "no parser in this image" SyntaxError).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AbsentFeatures {
  /** Built-ins not built (tools/precompile.ts STRIPPABLE names). */
  stripped: string[];
  /** True for a byte-code image (no parser linked). */
  bytecode: boolean;
}

const TABLES = ['gxDefaults', 'gxBehaviors', 'gxTypeDispatches', 'gxTypeAtomics', 'gxTypeBigInt'] as const;

/** The entries that go when a feature is left out: entry -> 'stub' (throws) or 'null' (the engine tests it). */
function replacements(absent: AbsentFeatures): Map<string, string> {
  const out = new Map<string, string>();
  const stripped = new Set(absent.stripped);
  const stub = (...names: string[]) => names.forEach((n) => out.set(n, 'fxAbsentFeature'));
  const none = (...names: string[]) => names.forEach((n) => out.set(n, 'C_NULL'));
  if (stripped.has('Promise')) stub('fxNewAsyncInstance', 'fxRunAsync', 'fxRunImport');
  if (stripped.has('Generator')) stub('fxNewGeneratorInstance', 'fxNewGeneratorFunctionInstance');
  if (stripped.has('Promise') || stripped.has('Generator')) stub('fxNewAsyncGeneratorInstance', 'fxNewAsyncGeneratorFunctionInstance', 'fxRunForAwaitOf');
  if (absent.bytecode) stub('fxRunEvalEnvironment');
  if (stripped.has('Atomics')) none('fxInitializeSharedCluster', 'fxTerminateSharedCluster', '*gxTypeAtomics');
  if (stripped.has('BigInt')) {
    stub('*gxTypeBigInt', 'fxBigInt64Getter', 'fxBigInt64Setter', 'fxBigUint64Getter', 'fxBigUint64Setter', 'fxBigIntCoerce', 'fxBigInt64Compare', 'fxBigUint64Compare');
    none('fxBigintToArrayBuffer');
  }
  if (stripped.has('Proxy')) out.set('&gxProxyBehavior', '&gxOrdinaryBehavior');
  return out;
}

/** The tables' C text in xsDefaults.c of the (patched) engine sources. */
function tableTexts(xsDir: string): Map<string, string> {
  const source = readFileSync(join(xsDir, 'sources/xsDefaults.c'), 'utf8');
  const texts = new Map<string, string>();
  for (const name of TABLES) {
    const m = new RegExp(`^const [^\\n]*\\b${name}\\b[^\\n]*= \\{\\n([\\s\\S]*?)^\\};`, 'm').exec(source);
    if (!m) throw new Error(`engine-tables: no table ${name} in ${xsDir}/sources/xsDefaults.c (engine patch 0004 expects the five tables there)`);
    texts.set(name, m[0]);
  }
  return texts;
}

/** C source of the five tables for an image: `absent` null keeps every entry (tools/xs-host). */
export function engineTablesSource(xsDir: string, absent: AbsentFeatures | null): { source: string; replaced: string[] } {
  const swap = absent ? replacements(absent) : new Map<string, string>();
  const replaced: string[] = [];
  const lines = [
    '/* engine patch 0004: the engine\'s feature tables for this image (tools/engine-tables.ts) */',
    'static void fxAbsentFeature(txMachine* the)',
    '{',
    '\tmxTypeError("this engine feature is not in the image: manifest \\"strip\\" left out the built-ins the app\'s code does not use");',
    '}',
  ];
  for (const [name, text] of tableTexts(xsDir)) {
    const whole = swap.get(`*${name}`);
    const body = text.replace(/(&?\b(?:fx|gx)\w+)/g, (entry, _m, offset: number) => {
      if (offset < text.indexOf('{')) return entry; // the declaration itself
      const replacement = swap.get(entry) ?? whole;
      if (!replacement) return entry;
      replaced.push(entry);
      return replacement === 'fxAbsentFeature' ? `(void*)fxAbsentFeature /* ${entry} */` : `${replacement} /* ${entry} */`;
    });
    lines.push(body.replace(/\bICACHE_(FLASH|RAM)_ATTR\s+/g, ''));
  }
  return { source: `${lines.join('\n')}\n`, replaced: [...new Set(replaced)] };
}
