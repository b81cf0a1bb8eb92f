/**
 * One option table per command: the parser and the `--help` text are both generated from it, so
 * a range printed in the help is the range the parser enforces. Parsing rules: `--name VALUE` or
 * `--name=VALUE`; a value is taken as given even when it starts with '-' (`--delay -5` is a value
 * the range check then rejects, not an unknown option); flags take no value; no positionals.
 * Every mistake is a `UsageError` with a one-line message (the command prints it and exits 2).
 */
import { UsageError, fmtSize, parseNumber, parseSize } from '../args.js';

export type OptKind = 'flag' | 'int' | 'number' | 'size' | 'choice' | 'string';

export interface OptSpec {
  /** long name without the dashes */
  readonly name: string;
  /** one-letter short form without the dash */
  readonly short?: string;
  /** older names accepted for the same option */
  readonly aliases?: readonly string[];
  readonly kind: OptKind;
  /** what the help shows for the value (N, P, FILE) */
  readonly arg?: string;
  /** inclusive range for int / number / size */
  readonly min?: number;
  readonly max?: number;
  /** for 'size': the value must be a multiple of this */
  readonly multipleOf?: number;
  readonly choices?: readonly string[];
  /** a further rule on the range, shown after it (checked by the command, not the table) */
  readonly rangeNote?: string;
  /** the default, as the user would type it (absent: no default) */
  readonly default?: string;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  /** what the command does, a few lines */
  readonly summary: string;
  readonly options: readonly OptSpec[];
}

export type OptValue = string | number | boolean;

/** the parsed options of one command line: typed accessors by long name */
export class ParsedOptions {
  constructor(private readonly values: ReadonlyMap<string, OptValue>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }
  flag(name: string): boolean {
    return this.values.get(name) === true;
  }
  num(name: string): number {
    const v = this.values.get(name);
    if (typeof v !== 'number') throw new Error(`option --${name} has no numeric value`);
    return v;
  }
  str(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }
}

function rangeText(o: OptSpec): string {
  if (o.kind === 'choice') return (o.choices ?? []).join(' | ');
  if (o.min === undefined || o.max === undefined) return '';
  const f = o.kind === 'size' ? fmtSize : String;
  return `${f(o.min)}..${f(o.max)}`;
}

/** `--help` text generated from the table */
export function formatHelp(cmd: CommandSpec): string {
  const rows: [string, string][] = [];
  for (const o of cmd.options) {
    let left = `--${o.name}`;
    if (o.short !== undefined) left = `-${o.short}, ${left}`;
    if (o.kind !== 'flag') left += ` ${o.arg ?? 'V'}`;
    let right = o.help;
    const range = rangeText(o);
    if (range !== '') right += ` (${range}${o.rangeNote !== undefined ? `; ${o.rangeNote}` : ''})`;
    if (o.default !== undefined) right += ` [default ${o.default}]`;
    if (o.aliases !== undefined && o.aliases.length > 0) right += ` (also ${o.aliases.map((a) => `--${a}`).join(', ')})`;
    rows.push([left, right]);
  }
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  const body = rows.map(([l, r]) => `  ${l.padEnd(w)}${r}`).join('\n');
  return `usage: devmem ${cmd.name} [options]\n\n${cmd.summary}\n\noptions:\n${body}`;
}

function convert(o: OptSpec, raw: string): OptValue {
  const what = `--${o.name}`;
  switch (o.kind) {
    case 'flag':
      return true;
    case 'string':
      if (raw === '') throw new UsageError(`${what}: empty value`);
      return raw;
    case 'choice':
      if (!(o.choices ?? []).includes(raw)) throw new UsageError(`${what}: expected ${(o.choices ?? []).join(' or ')}, got '${raw}'`);
      return raw;
    case 'int':
    case 'number':
      return parseNumber(raw, what, o.min ?? -Infinity, o.max ?? Infinity, o.kind === 'int');
    case 'size': {
      const v = parseSize(raw, what);
      if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) {
        throw new UsageError(`${what}: expected a size in ${rangeText(o)}, got '${raw}'`);
      }
      if (o.multipleOf !== undefined && v % o.multipleOf !== 0) {
        throw new UsageError(`${what}: expected a multiple of ${fmtSize(o.multipleOf)}, got '${raw}'`);
      }
      return v;
    }
  }
}

/** parses `argv` against the table; defaults filled in; throws `UsageError` */
export function parseOptions(cmd: CommandSpec, argv: readonly string[]): ParsedOptions {
  const byName = new Map<string, OptSpec>();
  for (const o of cmd.options) {
    byName.set(`--${o.name}`, o);
    if (o.short !== undefined) byName.set(`-${o.short}`, o);
    for (const a of o.aliases ?? []) byName.set(`--${a}`, o);
  }
  const values = new Map<string, OptValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') throw new UsageError(`unexpected argument '${arg}' (try 'devmem ${cmd.name} --help')`);
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const key = eq >= 0 ? arg.slice(0, eq) : arg;
    const o = byName.get(key);
    if (o === undefined) throw new UsageError(`unknown option '${key}' (try 'devmem ${cmd.name} --help')`);
    if (o.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`--${o.name} takes no value`);
      values.set(o.name, true);
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${o.name}: missing value`);
      raw = argv[++i]!;
    }
    values.set(o.name, convert(o, raw));
  }
  for (const o of cmd.options) {
    if (values.has(o.name)) continue;
    if (o.kind === 'flag') values.set(o.name, false);
    else if (o.default !== undefined) values.set(o.name, convert(o, o.default));
  }
  return new ParsedOptions(values);
}
