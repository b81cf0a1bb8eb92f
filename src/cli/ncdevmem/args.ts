/**
 * Command line of `devmem ncdevmem`: one option table (NCDEVMEM_COMMAND) from which both the
 * parser and `devmem ncdevmem --help` are generated. The tool's flags are the kernel selftest's
 * getopt string "ls:c:p:v:q:t:f:z:b:", short only as in ncdevmem.c (they cluster as getopt
 * allows: `-lp 5201`, `-p5201`; the last of a repeated option wins), plus long options for real
 * links (`--link`, `--addr`) and for the simulated peer that stands in for the kernel's `socat`
 * when no link is given. Every mistake throws `UsageError` with a one-line message (the command
 * exits 2). Only syntax and ranges are checked here; whether the NIC accepts the queues is found
 * out at run time, as ncdevmem does, and the combinations are checked by the command (index.ts).
 */
import { InetAddr } from '../../index.js';
import { formatHelp, parseOptions, type CommandSpec } from '../options/table.js';

export type SimFault = 'none' | 'wrong-queue' | 'wrong-dmabuf';

export interface NcdevmemOptions {
  /** -l: server (listen) mode */
  listen: boolean;
  /** -s: server address as given (IPv4 text is used v4-mapped, as ncdevmem does) */
  serverIp: string | null;
  /** -c: client address (server: a 5-tuple rule) */
  clientIp: string | null;
  /** -p */
  port: number | null;
  /** -v: pattern period; 0 = no validation (the bytes are printed instead) */
  validation: number;
  /** -q (-1 = not given) */
  numQueues: number;
  /** -t (-1 = not given) */
  startQueue: number;
  /** -f */
  ifname: string | null;
  /** -z: client TX chunk size (accepted and unused in server mode, as in ncdevmem) */
  maxChunk: number;
  /** -b: server rx-buf-size (Linux 7.3 "rx-page-size", bytes per net_iov); 0 = not given */
  rxBufSize: number;
  /** --link SPEC (repeatable) */
  links: string[];
  /** --addr CIDR (repeatable) */
  addrs: string[];
  /** the simulated peer (used without --link); loss: --sim-loss, the wire's loss probability */
  sim: { bytes: number; fault: SimFault; mtu: number; period: number; loss: number };
  /** --stall-timeout: no-progress time (µs of network time) before the server fails with a diagnosis */
  stallUs: number;
  /** --dmabuf-size: bytes of the server's dma-buf (ncdevmem: 16000 pages) */
  dmabufSize: number;
  /** --queues: rx queues of the NIC model (simulated or on a link) */
  queues: number;
  /** --seed; null = not given (1 in the simulation, a cryptographic source on a real link) */
  seed: number | null;
  /** --json: one JSON object on stdout at the end (instead of the tool's stdout output) */
  json: boolean;
  /** the --sim-* options that were given (they apply only without --link) */
  simGiven: string[];
  help: boolean;
}

/** like ncdevmem's parse_address: IPv6 text, else IPv4 text (used v4-mapped) */
function checkAddr(v: string): string | undefined {
  return InetAddr.tryParse(v) === null ? `not an IPv4 or IPv6 address: '${v}'` : undefined;
}

const SIM = `simulated peer (without --link). Server: it sends like devmem.py's socat, from CLIENT_IP and
PORT when -c is given, else from its own address and an ephemeral port. Client: it listens on
SERVER_IP:PORT like 'socat -U - TCP-LISTEN:PORT' and prints what it receives on stdout:`;

/** the table: getopt "ls:c:p:v:q:t:f:z:b:" (short only), then the long options */
export const NCDEVMEM_COMMAND: CommandSpec = {
  name: 'ncdevmem',
  usage: `-f IFNAME [-l] [-s SERVER_IP] [-c CLIENT_IP] [-p PORT]
                       [-v N] [-q NUM_QUEUES] [-t START_QUEUE] [-z BYTES] [-b BYTES] [options]`,
  summary: `The kernel's ncdevmem selftest tool. With -l it enables header split, takes the devmem queues
out of RSS, steers the flow to them with an n-tuple rule, binds a dma-buf to them (netlink
bind-rx), accepts one connection and receives with MSG_SOCK_DEVMEM, returning every token with
SO_DEVMEM_DONTNEED. Without -l it is the client (devmem TX): it binds a dma-buf for TX (netlink
bind-tx), connects to SERVER_IP:PORT and sends each line of stdin from device memory with
sendmsg(MSG_ZEROCOPY) and an SCM_DEVMEM_DMABUF cmsg, waiting for each send's completion on the
error queue. With neither -s nor -c it runs the built-in negative tests.`,
  options: [
    { name: 'listen', short: 'l', long: false, kind: 'flag', help: 'server (listen) mode; without it, the client (devmem TX)' },
    {
      name: 'server', short: 's', long: false, kind: 'string', arg: 'SERVER_IP', check: checkAddr, example: '10.0.0.2',
      help: 'server: address to listen on; client: address to connect to (IPv4 is used as ::ffff:a.b.c.d on an IPv6 socket)',
    },
    {
      name: 'client', short: 'c', long: false, kind: 'string', arg: 'CLIENT_IP', check: checkAddr, example: '10.0.0.1',
      help: "the client's address: server: a 5-tuple rule (src-ip, src-port = PORT); client: bind() to CLIENT_IP:PORT before connecting",
    },
    { name: 'port', short: 'p', long: false, kind: 'int', arg: 'PORT', min: 1, max: 65535, help: 'port to listen on / connect to' },
    {
      name: 'validation', short: 'v', long: false, kind: 'int', arg: 'N', min: 0, max: 256, rangeNote: 'not 1',
      check: (raw) => (Number(raw) === 1 ? `the pattern period must be 0 (off) or 2..256, got '${raw}'` : undefined),
      help: "validate the received bytes against the pattern 1, 2, …, N-1, '\\n' (on the device); without -v (or with 0) the bytes are copied out and printed",
    },
    { name: 'queues-num', short: 'q', long: false, kind: 'int', arg: 'NUM_QUEUES', min: 1, max: 256, help: 'number of rx queues to bind' },
    {
      name: 'queue-start', short: 't', long: false, kind: 'int', arg: 'START_QUEUE', min: 0, max: 255,
      help: 'first rx queue to bind; without -t and -q: the last queue (the negative tests: the upper half of the queues)',
    },
    {
      name: 'ifname', short: 'f', long: false, kind: 'string', arg: 'IFNAME', example: 'eth0',
      check: (raw) => (/^[A-Za-z0-9_.:-]{1,15}$/.test(raw) ? undefined : `not an interface name: '${raw}'`),
      help: 'interface (required)',
    },
    {
      name: 'max-chunk', short: 'z', long: false, kind: 'int', arg: 'BYTES', min: 1, max: 1 << 30,
      help: 'client: split each line into iovecs of at most BYTES (offsets 0, BYTES, 2*BYTES, …; at most 1024 of them); without -z one iovec per line',
    },
    {
      // whether the NIC takes it (a power of two >= the page size, the driver's limit) is the
      // kernel's answer at bind time, as with the tool
      name: 'rx-buf-size', short: 'b', long: false, kind: 'int', arg: 'BYTES', min: 1, max: 0x7fffffff,
      help: 'server: rx buffer size (Linux 7.3 rx-page-size, netlink bind-rx rx-buf-size): net_iovs of BYTES, a power of two >= 4096 the NIC must accept; the dma-buf is rounded up to a multiple of it',
    },
    {
      name: 'link', kind: 'string', arg: 'SPEC', repeat: true, group: 'real links:', example: 'tap:t0',
      check: (raw) => (raw.trim() === '' ? 'empty link spec' : undefined),
      help: 'attach IFNAME to a real link: vxlan:local=IP:PORT,remote=IP:PORT,vni=N or tap:NAME[,queues=N]',
    },
    {
      name: 'addr', kind: 'string', arg: 'CIDR', repeat: true, group: 'real links:', example: '10.0.0.2/24',
      check: (raw) => (raw.trim() === '' ? 'empty address' : undefined),
      help: 'address for IFNAME on the link (v4 and v6)',
    },
    { name: 'sim-bytes', kind: 'size', arg: 'N', min: 1, max: 1 << 30, default: '1K', group: SIM, help: 'bytes the peer sends, K/M/G suffixes; 1K as devmem.py check_rx' },
    {
      name: 'sim-fault', kind: 'choice', arg: 'F', choices: ['none', 'wrong-queue', 'wrong-dmabuf'], default: 'none', group: SIM,
      help: "wrong-queue: another tenant's rule steers the flow to queue 0; wrong-dmabuf: another tenant's dma-buf is bound to the queue it lands on",
    },
    { name: 'sim-period', kind: 'int', arg: 'N', min: 2, max: 256, defaultNote: "-v's, else 7", group: SIM, help: 'pattern period the peer sends' },
    { name: 'sim-mtu', kind: 'int', arg: 'N', min: 1280, max: 65535, default: '1500', group: SIM, help: 'link MTU' },
    { name: 'sim-loss', kind: 'number', arg: 'P', min: 0, max: 1, default: '0', group: SIM, help: 'probability the wire loses a frame, each direction' },
    { name: 'queues', kind: 'int', arg: 'N', min: 1, max: 64, default: '4', group: 'both:', help: 'rx queues of our NIC model' },
    {
      name: 'dmabuf-size', kind: 'size', arg: 'N', min: 4096, max: 2 ** 32, multipleOf: 4096, default: '64000K', group: 'both:',
      help: 'server: device memory to bind, a multiple of 4K; 16000 pages by default, as the tool',
    },
    {
      name: 'stall-timeout', kind: 'number', arg: 'S', min: 0.01, max: 3600, default: '30', group: 'both:',
      help: "server: fail with a one-line diagnosis from the stack's counters when no byte arrived for S seconds (virtual time in the simulation, real time on a link); the C tool waits forever",
    },
    {
      name: 'seed', kind: 'int', arg: 'N', min: 0, max: 0xffffffff, group: 'both:',
      defaultNote: '1 in the simulation; on a real link a cryptographic source', help: 'seed of every random choice',
    },
    {
      name: 'json', kind: 'flag', group: 'both:',
      help: 'print one JSON object on stdout at the end (the tool\'s stdout output, "Validated buffer" lines or the bytes, is left out); stderr as without it',
    },
    { name: 'help', short: 'h', kind: 'flag', group: 'both:', help: 'this help' },
  ],
  epilog: 'exit status: 0 ok, 1 the run failed, 2 a mistake on the command line',
};

/** `devmem ncdevmem --help`, generated from the table */
export function ncdevmemHelp(): string {
  return formatHelp(NCDEVMEM_COMMAND);
}

export function defaultOptions(): NcdevmemOptions {
  return {
    listen: false, serverIp: null, clientIp: null, port: null, validation: 0, numQueues: -1, startQueue: -1, ifname: null,
    maxChunk: 0, rxBufSize: 0, links: [], addrs: [],
    sim: { bytes: 1024, fault: 'none', mtu: 1500, period: 0, loss: 0 },
    stallUs: 30_000_000,
    dmabufSize: 16000 * 4096,
    queues: 4,
    seed: null,
    json: false,
    simGiven: [],
    help: false,
  };
}

/** parses argv (without the command name) */
export function parseNcdevmemArgs(argv: readonly string[]): NcdevmemOptions {
  const v = parseOptions(NCDEVMEM_COMMAND, argv);
  const o = defaultOptions();
  const numOr = (name: string, dflt: number): number => (v.has(name) ? v.num(name) : dflt);
  o.listen = v.flag('listen');
  o.serverIp = v.str('server') ?? null;
  o.clientIp = v.str('client') ?? null;
  o.port = v.has('port') ? v.num('port') : null;
  o.validation = numOr('validation', 0);
  o.numQueues = numOr('queues-num', -1);
  o.startQueue = numOr('queue-start', -1);
  o.ifname = v.str('ifname') ?? null;
  o.maxChunk = numOr('max-chunk', 0);
  o.rxBufSize = numOr('rx-buf-size', 0);
  o.links = [...v.list('link')];
  o.addrs = [...v.list('addr')];
  o.sim = {
    bytes: v.num('sim-bytes'), fault: v.str('sim-fault') as SimFault, mtu: v.num('sim-mtu'), period: numOr('sim-period', 0), loss: v.num('sim-loss'),
  };
  o.stallUs = Math.round(v.num('stall-timeout') * 1e6);
  o.dmabufSize = v.num('dmabuf-size');
  o.queues = v.num('queues');
  o.seed = v.has('seed') ? v.num('seed') : null;
  o.json = v.flag('json');
  o.simGiven = v.given.filter((g) => g.startsWith('sim-'));
  o.help = v.flag('help');
  return o;
}
