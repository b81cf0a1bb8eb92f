/**
 * `devmem conformance`'s option table and its parse: `devmem conformance --help` and the parser
 * are both generated from CONFORMANCE_COMMAND. Whether DIR holds scripts, and whether --filter
 * matches one, are the command's checks (it has to list the directory).
 */
import { UsageError } from '../args.js';
import { parseOptions, type CommandSpec } from './table.js';

export type ConformanceMode = 'ipv4' | 'ipv6' | 'ipv4-mapped-ipv6';

export const CONFORMANCE_COMMAND: CommandSpec = {
  name: 'conformance',
  usage: '[DIR] [options]',
  positionals: { arg: 'DIR', max: 1 },
  summary: `Runs packetdrill scripts (*.pkt under DIR) against the stack in virtual time: a line per script
(pass / fail with the first mismatch / skip with the missing feature) and a total.
DIR defaults to $PACKETDRILL_DIR, else ../shared/packetdrill next to the repository.
Exit 0: every script passed or was skipped; 1: a script failed (or --baseline was not met);
2: a mistake on the command line, or no scripts to run.`,
  options: [
    { name: 'ipv6', kind: 'flag', help: "IPv6 addresses and sockets (packetdrill's ipv6 mode)" },
    { name: 'ipv4-mapped-ipv6', kind: 'flag', help: 'IPv4 on the wire, AF_INET6 sockets' },
    { name: 'all-modes', kind: 'flag', help: 'ipv4, ipv6 and ipv4-mapped-ipv6 in turn' },
    { name: 'filter', kind: 'string', arg: 'SUBSTR', allowEmpty: true, help: 'only scripts whose path contains SUBSTR' },
    {
      name: 'define', short: 'D', kind: 'string', arg: 'SYM=VAL', repeat: true, example: 'x=1',
      check: (raw) => (raw.indexOf('=') <= 0 ? `expected SYM=VALUE, got '${raw}'` : undefined),
      help: "a packetdrill symbol (adds to the mode's defaults)",
    },
    { name: 'json', kind: 'flag', help: 'one JSON object: {passed, failed, skipped, total, scripts:[{script, result, reason}]} (with --all-modes: an object per mode)' },
    { name: 'markdown', kind: 'flag', help: 'the Markdown report (counts, every failing and skipped script with its cause)' },
    { name: 'baseline', kind: 'string', arg: 'FILE', help: 'exit 1 when a mode passes fewer scripts than FILE ({"ipv4": N, ...}) records' },
    { name: 'help', short: 'h', kind: 'flag', help: 'this help' },
  ],
};

export interface ConformanceArgs {
  help: boolean;
  /** DIR as given (undefined: the default) */
  dir: string | undefined;
  modes: ConformanceMode[];
  filter: string;
  defines: Map<string, string>;
  json: boolean;
  markdown: boolean;
  baseline: string | undefined;
}

/** `devmem conformance` argv → its settings; throws `UsageError` */
export function parseConformanceArgs(argv: readonly string[]): ConformanceArgs {
  const v = parseOptions(CONFORMANCE_COMMAND, argv);
  if (v.flag('ipv6') && v.flag('ipv4-mapped-ipv6')) throw new UsageError('conformance: --ipv6 and --ipv4-mapped-ipv6 exclude each other');
  const one: ConformanceMode = v.flag('ipv6') ? 'ipv6' : v.flag('ipv4-mapped-ipv6') ? 'ipv4-mapped-ipv6' : 'ipv4';
  const defines = new Map<string, string>();
  for (const d of v.list('define')) {
    const eq = d.indexOf('=');
    defines.set(d.slice(0, eq), d.slice(eq + 1));
  }
  return {
    help: v.flag('help'),
    dir: v.positionals[0],
    modes: v.flag('all-modes') ? ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'] : [one],
    filter: v.str('filter') ?? '',
    defines,
    json: v.flag('json'),
    markdown: v.flag('markdown'),
    baseline: v.str('baseline'),
  };
}
