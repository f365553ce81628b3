/**
 * Reading a version-3 source map (what esbuild writes): generated line:column -> original
 * file:line:column. Only what the precompiler needs to point at the TypeScript source of a
 * syntax or early error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

export interface OriginalPosition {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes one mappings segment (base64 VLQ) into its numbers. */
export function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    if (digit < 0) throw new Error(`source map: "${char}" is not a base64 VLQ digit`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

interface Segment { column: number; source: number; line: number; sourceColumn: number }

export class SourceMap {
  private readonly lines: Segment[][] = [];
  readonly sources: string[];

  constructor(json: { sources: string[]; sourceRoot?: string; mappings: string }, mapFile: string) {
    const base = resolve(dirname(mapFile), json.sourceRoot ?? '');
    this.sources = json.sources.map((source) => resolve(base, source));
    let source = 0, line = 0, sourceColumn = 0;
    for (const text of json.mappings.split(';')) {
      const segments: Segment[] = [];
      let column = 0;
      for (const part of text.split(',')) {
        if (!part) continue;
        const v = decodeVlq(part);
        column += v[0];
        if (v.length >= 4) {
          source += v[1];
          line += v[2];
          sourceColumn += v[3];
          segments.push({ column, source, line, sourceColumn });
        }
      }
      this.lines.push(segments);
    }
  }

  static load(mapFile: string): SourceMap | null {
    if (!existsSync(mapFile)) return null;
    return new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')), mapFile);
  }

  /** The original position of generated `line` (1-based), `column` (0-based), or null if unmapped. */
  original(line: number, column: number): OriginalPosition | null {
    for (let l = line - 1; l >= 0; l--) {
      const segments = this.lines[l] ?? [];
      // the last segment at or before the column on this line; else the line's first segment
      let best: Segment | undefined;
      for (const segment of segments) if (l < line - 1 || segment.column <= column) best = segment;
      if (!best && l === line - 1) best = segments[0];
      if (best) return { file: this.sources[best.source], line: best.line + 1, column: best.sourceColumn + 1 };
    }
    return null;
  }

  /** The original position of generated `line` (1-based) from that line's own segments only (the last at or before `column`, else its first), or null. */
  originalOnLine(line: number, column: number): OriginalPosition | null {
    const segments = this.lines[line - 1] ?? [];
    let best: Segment | undefined = segments[0];
    for (const segment of segments) if (segment.column <= column) best = segment;
    return best ? { file: this.sources[best.source], line: best.line + 1, column: best.sourceColumn + 1 } : null;
  }
}

/** "file:line:column" relative to `root` when inside it. */
export function formatPosition(position: OriginalPosition, root: string): string {
  const rel = relative(root, position.file);
  const file = rel.startsWith('..') ? position.file : rel;
  return `${file}:${position.line}:${position.column}`;
}
