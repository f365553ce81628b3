/** Option parsing for the verbs: declared options only; anything else is refused with the list of valid ones. */
import { RpmsgError } from '../wire/errors.ts';

/** One option of a verb. */
export interface OptionSpec {
  /** "--target". */
  name: string;
  /** Value placeholder ("T"); absent for a flag. */
  value?: string;
  /** One line of help. */
  help: string;
  /** May be given more than once (values collected). */
  repeat?: boolean;
}

/** A verb's description. */
export interface VerbSpec {
  name: string;
  /** "CHANNEL DATA". */
  positional?: string;
  /** How many positional arguments: [min, max]. */
  arity?: [number, number];
  summary: string;
  options: OptionSpec[];
  /** Extra lines for --help (examples). */
  details?: string;
}

/** Parsed arguments. */
export interface Parsed {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string[]>;
}

/** Options every verb takes. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: '--json', help: 'machine-readable output (one JSON object per line)' },
  { name: '--help', help: 'this help' },
];

/** The --help text of a verb. */
export function verbHelp(spec: VerbSpec): string {
  const options = [...spec.options, ...COMMON_OPTIONS];
  const width = Math.max(...options.map((o) => (o.value ? `${o.name} ${o.value}` : o.name).length));
  const lines = [`usage: xs-rpmsg ${spec.name}${spec.positional ? ` ${spec.positional}` : ''} [options]`, '', `  ${spec.summary}`, '', 'options:'];
  for (const option of options) lines.push(`  ${(option.value ? `${option.name} ${option.value}` : option.name).padEnd(width)}  ${option.help}`);
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}

/** Parse `args` against `spec`; EINVAL (with the list of valid options) for anything undeclared. */
export function parseVerb(spec: VerbSpec, args: string[]): Parsed {
  const options = [...spec.options, ...COMMON_OPTIONS];
  const parsed: Parsed = { positional: [], flags: new Set(), values: new Map() };
  const valid = () => options.map((o) => (o.value ? `${o.name} ${o.value}` : o.name)).join(', ');
  for (let i = 0; i < args.length; i++) {
    const argument = args[i];
    if (argument === '--') {
      parsed.positional.push(...args.slice(i + 1));
      break;
    }
    if (argument.startsWith('--') || (argument.startsWith('-') && argument.length > 1 && !/^-\d/.test(argument))) {
      const [name, inline] = argument.split(/=(.*)/s, 2) as [string, string | undefined];
      const option = options.find((o) => o.name === name) ?? (name === '-h' ? options.find((o) => o.name === '--help') : undefined);
      if (!option) throw new RpmsgError('EINVAL', `${spec.name}: unknown option ${name}; valid options: ${valid()}`);
      if (!option.value) {
        if (inline !== undefined) throw new RpmsgError('EINVAL', `${spec.name}: ${name} takes no value`);
        parsed.flags.add(option.name);
        continue;
      }
      const value = inline ?? args[++i];
      if (value === undefined) throw new RpmsgError('EINVAL', `${spec.name}: ${name} needs a value (${option.value})`);
      const list = parsed.values.get(option.name) ?? [];
      if (list.length > 0 && !option.repeat) throw new RpmsgError('EINVAL', `${spec.name}: ${name} given twice`);
      list.push(value);
      parsed.values.set(option.name, list);
      continue;
    }
    parsed.positional.push(argument);
  }
  if (parsed.flags.has('--help')) return parsed;
  const [min, max] = spec.arity ?? [0, 0];
  if (parsed.positional.length < min || parsed.positional.length > max) {
    const expected = spec.positional ? `${spec.positional}` : 'no arguments';
    throw new RpmsgError('EINVAL', `${spec.name}: expected ${expected}, got ${parsed.positional.length === 0 ? 'none' : parsed.positional.map((p) => JSON.stringify(p)).join(' ')}; see xs-rpmsg ${spec.name} --help`);
  }
  return parsed;
}

/** The value of option `name`, or `fallback`. */
export function value(parsed: Parsed, name: string, fallback: string): string;
export function value(parsed: Parsed, name: string): string | undefined;
export function value(parsed: Parsed, name: string, fallback?: string): string | undefined {
  return parsed.values.get(name)?.[0] ?? fallback;
}

/** A non-negative integer option. */
export function integer(parsed: Parsed, name: string, fallback: number): number {
  const text = value(parsed, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new RpmsgError('EINVAL', `${name} must be a non-negative integer, got "${text}"`);
  return n;
}

/** One of `choices`. */
export function choice<T extends string>(parsed: Parsed, name: string, choices: readonly T[], fallback: T): T {
  const text = value(parsed, name) ?? fallback;
  if (!(choices as readonly string[]).includes(text)) throw new RpmsgError('EINVAL', `${name} must be one of ${choices.join(', ')}, got "${text}"`);
  return text as T;
}
