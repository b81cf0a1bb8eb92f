/**
 * Command line of `devmem ncdevmem`: the kernel selftest's getopt string "ls:c:p:v:q:t:f:z:b:"
 * (short options cluster as getopt allows: `-lp 5201`, `-p5201`; the last of a repeated option
 * wins), plus long options for real links (`--link`, `--addr`) and for the simulated peer that
 * stands in for the kernel's `socat` when no link is given. Every mistake throws `UsageError`
 * with a one-line message (the command exits 2). Only syntax and ranges are checked here;
 * whether the NIC accepts the queues is found out at run time, as ncdevmem does.
 */
import { InetAddr } from '../../index.js';
import { UsageError, parseNumber, parseSize } from '../args.js';

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

/** getopt "ls:c:p:v:q:t:f:z:b:" */
const SHORT_WITH_ARG = new Set(['s', 'c', 'p', 'v', 'q', 't', 'f', 'z', 'b']);
const LONG_WITH_ARG = new Set([
  'link', 'addr', 'sim-bytes', 'sim-fault', 'queues', 'sim-mtu', 'sim-period', 'seed', 'sim-loss', 'stall-timeout', 'dmabuf-size',
]);
const LONG_FLAGS = new Set(['help', 'json']);

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
  const o = defaultOptions();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      if (i + 1 < argv.length) throw new UsageError(`ncdevmem: unexpected argument '${argv[i + 1]}'`);
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (LONG_FLAGS.has(name)) {
        if (eq >= 0) throw new UsageError(`ncdevmem: option '--${name}' takes no value`);
        if (name === 'help') o.help = true;
        else o.json = true;
        continue;
      }
      if (!LONG_WITH_ARG.has(name)) throw new UsageError(`ncdevmem: unknown option '--${name}' (try 'devmem ncdevmem --help')`);
      let v: string;
      if (eq >= 0) v = a.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`ncdevmem: option '--${name}' requires an argument`);
        v = argv[++i]!;
      }
      applyLong(o, name, v);
      continue;
    }
    if (a.length < 2 || a[0] !== '-') throw new UsageError(`ncdevmem: unexpected argument '${a}'`);
    // a cluster of short options
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (c === 'l') {
        o.listen = true;
        continue;
      }
      if (c === 'h') {
        o.help = true;
        continue;
      }
      if (!SHORT_WITH_ARG.has(c)) throw new UsageError(`ncdevmem: invalid option -- '${c}' (try 'devmem ncdevmem --help')`);
      let v: string;
      if (j + 1 < a.length) v = a.slice(j + 1);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`ncdevmem: option requires an argument -- '${c}'`);
        v = argv[++i]!;
      }
      applyShort(o, c, v);
      break;
    }
  }
  return o;
}

function applyShort(o: NcdevmemOptions, c: string, v: string): void {
  switch (c) {
    case 's':
      o.serverIp = checkAddr(v, '-s');
      return;
    case 'c':
      o.clientIp = checkAddr(v, '-c');
      return;
    case 'p':
      o.port = parseNumber(v, '-p', 1, 65535, true);
      return;
    case 'v': {
      const n = parseNumber(v, '-v', 0, 256, true);
      if (n === 1) throw new UsageError(`-v: the pattern period must be 0 (off) or 2..256, got '${v}'`);
      o.validation = n;
      return;
    }
    case 'q':
      o.numQueues = parseNumber(v, '-q', 1, 256, true);
      return;
    case 't':
      o.startQueue = parseNumber(v, '-t', 0, 255, true);
      return;
    case 'f':
      if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(v)) throw new UsageError(`-f: not an interface name: '${v}'`);
      o.ifname = v;
      return;
    case 'z':
      o.maxChunk = parseNumber(v, '-z', 1, 1 << 30, true);
      return;
    case 'b':
      // whether the NIC takes it (a power of two >= the page size, the driver's limit) is the
      // kernel's answer at bind time, as with the tool
      o.rxBufSize = parseNumber(v, '-b', 1, 0x7fffffff, true);
      return;
  }
}

function applyLong(o: NcdevmemOptions, name: string, v: string): void {
  if (name.startsWith('sim-') && !o.simGiven.includes(name)) o.simGiven.push(name);
  switch (name) {
    case 'link':
      if (v.trim() === '') throw new UsageError('--link: empty link spec');
      o.links.push(v);
      return;
    case 'addr':
      if (v.trim() === '') throw new UsageError('--addr: empty address');
      o.addrs.push(v);
      return;
    case 'sim-bytes':
      o.sim.bytes = parseSize(v, '--sim-bytes');
      if (o.sim.bytes > 1 << 30) throw new UsageError(`--sim-bytes: at most 1G, got '${v}'`);
      return;
    case 'sim-fault':
      if (v !== 'none' && v !== 'wrong-queue' && v !== 'wrong-dmabuf') {
        throw new UsageError(`--sim-fault: expected none, wrong-queue or wrong-dmabuf, got '${v}'`);
      }
      o.sim.fault = v;
      return;
    case 'queues':
      o.queues = parseNumber(v, '--queues', 1, 64, true);
      return;
    case 'sim-mtu':
      o.sim.mtu = parseNumber(v, '--sim-mtu', 1280, 65535, true);
      return;
    case 'sim-period':
      o.sim.period = parseNumber(v, '--sim-period', 2, 256, true);
      return;
    case 'seed':
      o.seed = parseNumber(v, '--seed', 0, 0xffffffff, true);
      return;
    case 'sim-loss':
      o.sim.loss = parseNumber(v, '--sim-loss', 0, 1, false);
      return;
    case 'stall-timeout':
      o.stallUs = Math.round(parseNumber(v, '--stall-timeout', 0.01, 3600, false) * 1e6);
      return;
    case 'dmabuf-size': {
      const n = parseSize(v, '--dmabuf-size');
      if (n % 4096 !== 0) throw new UsageError(`--dmabuf-size: expected a multiple of 4K, got '${v}'`);
      if (n > 2 ** 32) throw new UsageError(`--dmabuf-size: expected a size in 4K..4G, got '${v}'`);
      o.dmabufSize = n;
      return;
    }
  }
}

/** like ncdevmem's parse_address: IPv6 text, else IPv4 text (used v4-mapped) */
function checkAddr(v: string, what: string): string {
  const a = InetAddr.tryParse(v);
  if (a === null) throw new UsageError(`${what}: not an IPv4 or IPv6 address: '${v}'`);
  return v;
}
