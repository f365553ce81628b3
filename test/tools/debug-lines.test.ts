/** tools/debug-lines.ts: //@line directives from a source map, never inside a template literal. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addLineDirectives } from '../../tools/debug-lines.ts';
import { SourceMap } from '../../tools/source-map.ts';

const root = '/repo';
// a map whose generated line N (0-based) comes from line lines[N] of sources[files[N]] (null: unmapped)
function mapOf(sources: string[], placed: ({ file: number; line: number } | null)[]): SourceMap {
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const vlq = (n: number) => {
    let v = n < 0 ? (-n << 1) | 1 : n << 1;
    let out = '';
    do {
      let digit = v & 31;
      v >>>= 5;
      if (v) digit |= 32;
      out += b64[digit];
    } while (v);
    return out;
  };
  let file = 0, line = 0;
  const mappings = placed.map((p) => {
    if (!p) return '';
    const segment = vlq(0) + vlq(p.file - file) + vlq(p.line - line) + vlq(0);
    file = p.file;
    line = p.line;
    return segment;
  }).join(';');
  return new SourceMap({ sources, mappings }, join(root, 'build/x/firmware.js.map'));
}

describe('addLineDirectives', () => {
  it('names the TypeScript file and line of each mapped line, only where the numbering changes', () => {
    const js = ['var a = 1;', 'var b = 2;', 'function f() {', '  return a;', '}'].join('\n');
    const map = mapOf(['../../app/main.ts', '../../runtime/x.ts'], [{ file: 0, line: 9 }, { file: 0, line: 10 }, { file: 1, line: 2 }, { file: 1, line: 3 }, { file: 1, line: 4 }]);
    const out = addLineDirectives(js, map, root, 'build/x/firmware.js');
    expect(out.js.split('\n')).toEqual(['//@line 10 "app/main.ts"', 'var a = 1;', 'var b = 2;', '//@line 3 "runtime/x.ts"', 'function f() {', '  return a;', '}']);
    expect(out.files).toEqual(['app/main.ts', 'runtime/x.ts']);
  });

  it('puts no directive inside a multi-line template literal (that would change the string)', () => {
    const js = ['var t = `one', 'two', 'three`;', 'var u = 1;'].join('\n');
    const map = mapOf(['../../app/main.ts'], [{ file: 0, line: 0 }, { file: 0, line: 5 }, { file: 0, line: 6 }, { file: 0, line: 20 }]);
    const out = addLineDirectives(js, map, root, 'build/x/firmware.js');
    const lines = out.js.split('\n');
    expect(lines.slice(1, 4)).toEqual(['var t = `one', 'two', 'three`;']);
    expect(lines).toContain('//@line 21 "app/main.ts"');
    // the string the program sees is unchanged
    expect(out.js.replace(/^\/\/@line.*\n/gm, '')).toBe(js);
  });

  it('keeps the bundle numbering for unmapped glue', () => {
    const js = ['var glue = 0;', 'var a = 1;'].join('\n');
    const map = mapOf(['../../app/main.ts'], [null, { file: 0, line: 4 }]);
    const out = addLineDirectives(js, map, root, 'build/x/firmware.js');
    expect(out.js.split('\n')).toEqual(['//@line 1 "build/x/firmware.js"', 'var glue = 0;', '//@line 5 "app/main.ts"', 'var a = 1;']);
  });
});
