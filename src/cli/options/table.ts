/**
 * One option table per command: the parser and the `--help` text are both generated from it, so
 * a range printed in the help is the range the parser enforces, and an option is in the help
 * exactly when the parser accepts it. Parsing rules (getopt's, plus long options):
 * - `--name VALUE` or `--name=VALUE`; a value is taken as given even when it starts with '-'
 *   (`--delay -5` is a value the range check then rejects, not an unknown option);
 * - short options cluster and take attached values as getopt allows (`-lp5201`, `-lp 5201`);
 * - flags take no value; the last of a repeated option wins, except `repeat` options, which
 *   keep every value in order;
 * - `--` ends the options; positionals only where the command declares them.
 * Every mistake is a `UsageError` with a one-line message (the command prints it and exits 2).
 */
import { UsageError, fmtSize, parseNumber, parseSize } from '../args.js';

/** 'choice' is one of `choices`; 'list' is a comma-separated list of them */
export type OptKind = 'flag' | 'int' | 'number' | 'size' | 'choice' | 'list' | 'string';

export interface OptSpec {
  /** long name without the dashes (also the key of the parsed value) */
  readonly name: string;
  /** one-letter short form without the dash */
  readonly short?: string;
  /** false: only the short form is accepted and shown (the kernel tools' getopt letters) */
  readonly long?: boolean;
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
  /** for 'choice' and 'list' */
  readonly choices?: readonly string[];
  /** a further rule on the range, shown after it (enforced by `check` or by the command) */
  readonly rangeNote?: string;
  /** the default, as the user would type it (absent: no default) */
  readonly default?: string;
  /** a default the command works out itself (shown in the help, never parsed) */
  readonly defaultNote?: string;
  /** an environment variable read when the option is not given (shown in the help) */
  readonly env?: string;
  /** 'string' options: every occurrence kept, in order (`list()`) */
  readonly repeat?: boolean;
  /** 'string' options: an empty value is accepted */
  readonly allowEmpty?: boolean;
  /** a rule on the raw value beyond its kind: the reason it is refused, or undefined */
  readonly check?: (raw: string) => string | undefined;
  /** a value `check` accepts (tests and examples; kinds with a range use it) */
  readonly example?: string;
  /** heading of the help section the option belongs to (consecutive options share it) */
  readonly group?: string;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  /** what follows `usage: devmem NAME` (default `[options]`) */
  readonly usage?: string;
  /** what the command does, a few lines */
  readonly summary: string;
  readonly options: readonly OptSpec[];
  /** positional arguments: what the help calls them and how many at most (absent: none) */
  readonly positionals?: { readonly arg: string; readonly max: number };
  /** text after the options (row names, exit status) */
  readonly epilog?: string;
}

export type OptValue = string | number | boolean | readonly string[];

/** the parsed options of one command line: typed accessors by long name */
export class ParsedOptions {
  constructor(
    private readonly values: ReadonlyMap<string, OptValue>,
    /** long names of the options given on the command line, first occurrence order */
    readonly given: readonly string[] = [],
    readonly positionals: readonly string[] = [],
  ) {}

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
  /** a 'list' option's items or a `repeat` option's values (empty when not given) */
  list(name: string): readonly string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? (v as readonly string[]) : [];
  }
}

/** how messages and the help name an option: `--name`, or `-x` for a short-only one */
export function optLabel(o: OptSpec): string {
  return o.long === false && o.short !== undefined ? `-${o.short}` : `--${o.name}`;
}

/** the range as the help prints it and the parser's messages quote it ('' when none) */
export function rangeText(o: OptSpec): string {
  if (o.kind === 'choice' || o.kind === 'list') return (o.choices ?? []).join(' | ');
  if (o.min === undefined || o.max === undefined) return '';
  const f = o.kind === 'size' ? fmtSize : String;
  return `${f(o.min)}..${f(o.max)}`;
}

/** the left column of the help: `-x, --name ARG`, `-x ARG` or `--name ARG` */
export function helpForm(o: OptSpec): string {
  let left = o.long === false && o.short !== undefined ? `-${o.short}` : `--${o.name}`;
  if (o.long !== false && o.short !== undefined) left = `-${o.short}, ${left}`;
  if (o.kind !== 'flag') left += ` ${o.arg ?? 'V'}`;
  return left;
}

/** the help's width in columns */
export const HELP_WIDTH = 100;

/** `text` broken at spaces into lines of at most `width` columns ('' stays one empty line) */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    out.push(line);
  }
  return out;
}

/** the right column of the help: what the option does, its range, default, env and old names */
function helpText(o: OptSpec): string {
  let right = o.help;
  const range = rangeText(o);
  const comma = o.kind === 'list' ? ', comma-separated' : '';
  if (range !== '') right += ` (${range}${comma}${o.rangeNote !== undefined ? `; ${o.rangeNote}` : ''})`;
  else if (o.rangeNote !== undefined) right += ` (${o.rangeNote})`;
  if (o.default !== undefined) right += ` [default ${o.default}]`;
  else if (o.defaultNote !== undefined) right += ` [default ${o.defaultNote}]`;
  if (o.env !== undefined) right += ` [env ${o.env}]`;
  if (o.repeat === true) right += ' (repeatable)';
  if (o.aliases !== undefined && o.aliases.length > 0) right += ` (also ${o.aliases.map((a) => `--${a}`).join(', ')})`;
  return right;
}

/** `--help` text generated from the table */
export function formatHelp(cmd: CommandSpec): string {
  const lefts = cmd.options.map(helpForm);
  const w = Math.max(...lefts.map((l) => l.length)) + 2;
  const lines: string[] = [];
  let group: string | undefined;
  cmd.options.forEach((o, i) => {
    if (o.group !== group) {
      group = o.group;
      lines.push('', ...(group === undefined ? ['options:'] : wrap(group, HELP_WIDTH)));
    } else if (i === 0) lines.push('', 'options:');
    const right = wrap(helpText(o), HELP_WIDTH - 2 - w);
    lines.push(`  ${lefts[i]!.padEnd(w)}${right[0]}`);
    for (const r of right.slice(1)) lines.push(`${' '.repeat(2 + w)}${r}`);
  });
  const usage = `usage: devmem ${cmd.name} ${cmd.usage ?? '[options]'}`;
  const epilog = cmd.epilog !== undefined ? `\n\n${cmd.epilog}` : '';
  return `${usage}\n\n${cmd.summary}\n${lines.join('\n')}${epilog}`;
}

function convert(o: OptSpec, raw: string): OptValue {
  const what = optLabel(o);
  let v: OptValue;
  switch (o.kind) {
    case 'flag':
      return true;
    case 'string':
      if (raw === '' && o.allowEmpty !== true) throw new UsageError(`${what}: empty value`);
      v = raw;
      break;
    case 'choice':
      if (!(o.choices ?? []).includes(raw)) throw new UsageError(`${what}: expected ${(o.choices ?? []).join(' or ')}, got '${raw}'`);
      v = raw;
      break;
    case 'list': {
      const items = raw.split(',');
      for (const it of items) {
        if (!(o.choices ?? []).includes(it)) {
          throw new UsageError(`${what}: expected a comma-separated list of ${(o.choices ?? []).join(', ')}, got '${raw}'`);
        }
      }
      v = items;
      break;
    }
    case 'int':
    case 'number':
      v = parseNumber(raw, what, o.min ?? -Infinity, o.max ?? Infinity, o.kind === 'int');
      break;
    case 'size': {
      const n = parseSize(raw, what);
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
        throw new UsageError(`${what}: expected a size in ${rangeText(o)}, got '${raw}'`);
      }
      if (o.multipleOf !== undefined && n % o.multipleOf !== 0) {
        throw new UsageError(`${what}: expected a multiple of ${fmtSize(o.multipleOf)}, got '${raw}'`);
      }
      v = n;
      break;
    }
  }
  const why = o.check?.(raw);
  if (why !== undefined) throw new UsageError(`${what}: ${why}`);
  return v;
}

/** the option each spelling names: `--name`, `--alias`, `-x` (a short-only option has no `--name`) */
function spellings(cmd: CommandSpec): { long: Map<string, OptSpec>; short: Map<string, OptSpec> } {
  const long = new Map<string, OptSpec>();
  const short = new Map<string, OptSpec>();
  for (const o of cmd.options) {
    if (o.long !== false || o.short === undefined) long.set(o.name, o);
    for (const a of o.aliases ?? []) long.set(a, o);
    if (o.short !== undefined) short.set(o.short, o);
  }
  return { long, short };
}

/** parses `argv` against the table; defaults filled in; throws `UsageError` */
export function parseOptions(cmd: CommandSpec, argv: readonly string[]): ParsedOptions {
  const { long, short } = spellings(cmd);
  const values = new Map<string, OptValue>();
  const given: string[] = [];
  const positionals: string[] = [];
  const tryHelp = `(try 'devmem ${cmd.name} --help')`;
  const set = (o: OptSpec, raw: string | null): void => {
    if (!given.includes(o.name)) given.push(o.name);
    if (raw === null) values.set(o.name, true);
    else if (o.repeat === true) values.set(o.name, [...((values.get(o.name) as string[] | undefined) ?? []), convert(o, raw) as string]);
    else values.set(o.name, convert(o, raw));
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const o = long.get(key);
      if (o === undefined) throw new UsageError(`unknown option '--${key}' ${tryHelp}`);
      if (o.kind === 'flag') {
        if (eq >= 0) throw new UsageError(`${optLabel(o)} takes no value`);
        set(o, null);
      } else if (eq >= 0) set(o, arg.slice(eq + 1));
      else {
        if (i + 1 >= argv.length) throw new UsageError(`${optLabel(o)}: missing value`);
        set(o, argv[++i]!);
      }
      continue;
    }
    // a cluster of short options: flags, then at most one that takes the rest (or the next word)
    for (let j = 1; j < arg.length; j++) {
      const o = short.get(arg[j]!);
      if (o === undefined) throw new UsageError(`unknown option '-${arg[j]}' ${tryHelp}`);
      if (o.kind === 'flag') {
        set(o, null);
        continue;
      }
      if (j + 1 < arg.length) set(o, arg.slice(j + 1));
      else {
        if (i + 1 >= argv.length) throw new UsageError(`${optLabel(o)}: missing value`);
        set(o, argv[++i]!);
      }
      break;
    }
  }
  positionals.push(...argv.slice(i));
  const max = cmd.positionals?.max ?? 0;
  if (positionals.length > max) {
    const extra = positionals[max]!;
    throw new UsageError(max === 0 ? `unexpected argument '${extra}' ${tryHelp}` : `at most ${max} ${cmd.positionals!.arg}, got '${extra}' too ${tryHelp}`);
  }
  for (const o of cmd.options) {
    if (values.has(o.name)) continue;
    if (o.kind === 'flag') values.set(o.name, false);
    else if (o.default !== undefined) values.set(o.name, convert(o, o.default));
  }
  return new ParsedOptions(values, given, positionals);
}
