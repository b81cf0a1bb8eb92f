/**
 * `node:util` parseArgs with the CLI's rules of the option tables: a value is taken as given even
 * when it starts with '-' (`--runs -1` is a value the range check then rejects, not Node's
 * "argument is ambiguous"), and every parse error is a one-line `UsageError` naming the
 * command's help (the command exits 2). No command uses it any more (every command parses with
 * its option table, table.ts); kept for code that drives parseArgs itself.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../args.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `--name VALUE` → `--name=VALUE` (and `-x VALUE` → `-xVALUE`) for every option that takes a value */
export function joinDashValues(argv: readonly string[], options: Options): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.short !== undefined) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && next.startsWith('-')) {
      out.push(a.startsWith('--') ? `${a}=${next}` : `${a}${next}`);
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** Node's parse errors, reworded as the option tables word them */
function reword(cmd: string, e: unknown): UsageError | unknown {
  if (!(e instanceof Error) || !('code' in e)) return e;
  const code = String((e as { code: unknown }).code);
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
  const help = `(try 'devmem ${cmd} --help')`;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option '${quoted}' ${help}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument '${quoted}' ${help}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = quoted.replace(/^-\w, /, '').split(' ')[0]!;
      return new UsageError(e.message.includes('argument missing') ? `${name}: missing value` : `${name} takes no value`);
    }
    default:
      return new UsageError(e.message.split('\n')[0]!);
  }
}

/** parseArgs(config) over `argv` with the rules above */
export function parseCommandArgs<T extends ParseArgsConfig>(cmd: string, argv: readonly string[], config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ ...config, args: joinDashValues(argv, config.options ?? {}) });
  } catch (e) {
    throw reword(cmd, e);
  }
}
