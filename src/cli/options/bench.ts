/**
 * `devmem bench`'s option table and its parse: `devmem bench --help` and the parser are both
 * generated from BENCH_COMMAND. `parseBenchArgs` checks syntax, ranges and the one exclusion
 * (--ipv6 / --no-ipv6) and fills in the --quick-dependent defaults; whether the machine can run
 * the real-link rows, and whether --lib / --compare name a build, are the command's checks.
 */
import { UsageError } from '../args.js';
import { parseOptions, type CommandSpec } from './table.js';

/** the row groups, in the order the rows run */
export const BENCH_GROUPS = ['baselines', 'devmem', 'copy', 'ipv6', 'lossy', 'tx', 'real'] as const;
export type BenchGroup = (typeof BENCH_GROUPS)[number];
export type BenchRecv = 'auto' | 'recvmsgInto' | 'recvmsg';

const MAX_SIZE = 2 ** 40;

export const BENCH_COMMAND: CommandSpec = {
  name: 'bench',
  summary: `Bulk TCP through the simulated stack next to two baselines measured in the same run (a CPU floor:
one JavaScript copy of every payload byte; Node's own net over the kernel's loopback), so that
figures travel between machines as ratios. Every row runs --runs times, interleaved round-robin.
Throughput is reported, never asserted.`,
  options: [
    { name: 'runs', kind: 'int', arg: 'N', min: 1, max: 50, defaultNote: '5; --quick: 3', help: 'runs of every row, interleaved round-robin' },
    { name: 'size', kind: 'size', arg: 'N', min: 1 << 20, max: MAX_SIZE, defaultNote: '1G; --quick: 64M', help: 'bytes per simulated transfer and per floor run' },
    { name: 'node-size', kind: 'size', arg: 'N', min: 1, max: MAX_SIZE, defaultNote: '1G; --quick: 128M', help: 'bytes per Node net run' },
    { name: 'real-size', kind: 'size', arg: 'N', min: 1, max: MAX_SIZE, defaultNote: '256M; --quick: 32M', help: 'bytes per real-link transfer' },
    { name: 'quick', kind: 'flag', help: 'small transfers, 3 runs (a smoke run)' },
    {
      name: 'rows', kind: 'list', arg: 'LIST', choices: BENCH_GROUPS, defaultNote: 'all but real',
      help: 'the row groups to run: baselines is the floor and Node net',
    },
    { name: 'real', kind: 'flag', help: "add the real-link rows (the group 'real'); needs root, iproute2, ethtool, ping, python3 and /dev/net/tun, else one line and exit 2" },
    { name: 'json', kind: 'flag', help: "one JSON object per row, then one 'meta' object" },
    { name: 'lib', kind: 'string', arg: 'DIR', env: 'DEVMEM_BENCH_LIB', help: 'measure another build of the library (a checkout with dist/, or its index.js)' },
    { name: 'compare', kind: 'string', arg: 'DIR', env: 'DEVMEM_BENCH_COMPARE', help: "add 'base:' rows driven by the build in DIR, interleaved with the others" },
    { name: 'ipv6', kind: 'flag', help: 'IPv6 devmem rows (the default when the build supports IPv6 addresses)' },
    { name: 'no-ipv6', kind: 'flag', help: 'leave the IPv6 rows out' },
    {
      name: 'recv', kind: 'choice', arg: 'M', choices: ['auto', 'recvmsgInto', 'recvmsg'], default: 'auto',
      help: 'the receive call, one for every build; auto takes the allocation-free recvmsgInto when every build has it',
    },
    { name: 'help', short: 'h', kind: 'flag', help: 'this help' },
  ],
  epilog: `Rows: floor-mtuN (CPU floor: one Uint8Array copy of every payload byte in MSS-sized pieces),
node-net-loopback (Node's net over 127.0.0.1: the kernel's TCP), devmem-mtuN and copy-mtuN
(host A → host B over a 100 Gbit/s, 5 µs simulated wire; each run a new connection between
hosts kept for the row's runs, timed from connect to close, the simulation on one core),
devmem6-mtuN (the same over IPv6), copy-lossP-mtu1500 (lossy: copy mode over a wire that loses
P % of the frames each way, seeded; with copy-mtu1500 as the 0 % row), retx/MB: the
sender's retransmitted segments per 10^6 bytes. Transmit rows (group tx, this build only):
devmem-tx-mtuN (devmem TX: sendmsg from a TX-bound dma-buf, the NIC reads the payload from device
memory) and zerocopy-mtuN (MSG_ZEROCOPY of host buffers; copy-mtuN is its plain-send twin), both
received into a host buffer and validated there. Ratios: × floor (same MTU), × node net, and for
--compare the current build against the base build (lossy base rows only when that build runs
them). Real rows (--real; always the build this command belongs to, whatever --lib and
--compare say), in namespaces the run makes and removes: veth-k2k-mtuN (kernel → kernel over
veth), tap-DIR-mtuN (vnet-hdr offloads on) and vxlan-DIR-mtuN with DIR k2us (a kernel sender →
our listener) or us2k (our sender → a kernel receiver), N 1500 and 9000; Gbit/s taken at the
receiver, bytes counted on both ends, × veth (same MTU); ping-LINK-mtu1500: median RTT of 20
pings from the kernel namespace to us over vxlan / tap, and to the other namespace over veth;
udp-echo-floor-mtu1500: the same over veth to a python UDP echo (the floor under the ping rows);
vxlan-echo-floor-mtu1500: pings through a kernel vxlan device to a python ICMP echo over VXLAN
(the floor under ping-vxlan); vxlan-link-echo-floor-mtu1500: the same pings answered by our
VXLAN link with an echo responder in place of the stack (the link and Node's wake-up alone).`,
};

export interface BenchArgs {
  help: boolean;
  quick: boolean;
  runs: number;
  size: number;
  nodeSize: number;
  realSize: number;
  /** the groups to run (--rows, then --real, --ipv6 and --no-ipv6 applied) */
  groups: Set<BenchGroup>;
  json: boolean;
  /** --lib, else $DEVMEM_BENCH_LIB (undefined: this build) */
  lib: string | undefined;
  /** --compare, else $DEVMEM_BENCH_COMPARE */
  compare: string | undefined;
  recv: BenchRecv;
}

/** `devmem bench` argv → its settings; throws `UsageError` */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchArgs {
  const v = parseOptions(BENCH_COMMAND, argv);
  const quick = v.flag('quick');
  if (v.flag('ipv6') && v.flag('no-ipv6')) throw new UsageError('--ipv6 and --no-ipv6 exclude each other');
  const groups = new Set<BenchGroup>(v.has('rows') ? (v.list('rows') as BenchGroup[]) : BENCH_GROUPS.filter((g) => g !== 'real'));
  if (v.flag('real')) groups.add('real');
  if (v.flag('ipv6')) groups.add('ipv6');
  if (v.flag('no-ipv6')) groups.delete('ipv6');
  const envOr = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  return {
    help: v.flag('help'),
    quick,
    runs: v.has('runs') ? v.num('runs') : quick ? 3 : 5,
    size: v.has('size') ? v.num('size') : quick ? 64 << 20 : 1 << 30,
    nodeSize: v.has('node-size') ? v.num('node-size') : quick ? 128 << 20 : 1 << 30,
    realSize: v.has('real-size') ? v.num('real-size') : quick ? 32 << 20 : 256 << 20,
    groups,
    json: v.flag('json'),
    lib: v.str('lib') ?? envOr('DEVMEM_BENCH_LIB'),
    compare: v.str('compare') ?? envOr('DEVMEM_BENCH_COMPARE'),
    recv: v.str('recv') as BenchRecv,
  };
}
