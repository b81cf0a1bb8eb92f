/**
 * `devmem ncdevmem`: the kernel selftest tool (tools/testing/selftests/drivers/net/hw/ncdevmem.c)
 * with its flags and its output. `-l -s ADDR -p PORT [-c ADDR] [-v N] [-t Q -q N] -f IF` sets up
 * the NIC and receives into device memory (server.ts); without -l, `-s ADDR -p PORT [-c ADDR]
 * [-z N] -f IF` sends each input line from device memory (devmem TX, client.ts); with neither -s
 * nor -c it runs the built-in negative tests. Without `--link` the interface lives on a simulated host whose peer
 * sends the ncdevmem pattern, or listens and prints what it receives (sim.ts); with it, on a real
 * link (link-env.ts). Exit status: 0 success, 1 a failed run (the tool's
 * `error(1, …)` cases), 2 a command-line mistake (one line on stderr, nothing else printed).
 */
import { InetAddr } from '../../index.js';
import { UsageError } from '../args.js';
import { ncdevmemHelp, parseNcdevmemArgs, type NcdevmemOptions } from './args.js';
import type { EnvPlan, NcdevmemEnv } from './env.js';
import { Log, processSink, type NcdevmemSink } from './log.js';
import { runDevmemTests } from './negative.js';
import { rxqNum } from './nic.js';
import { doServer, type ServerResult } from './server.js';
import { doClient, type ClientResult } from './client.js';
import { LinkEnv } from './link-env.js';
import { SimEnv } from './sim.js';

/** `devmem ncdevmem --help`: generated from the option table the parser uses (args.ts) */
export const NCDEVMEM_USAGE = ncdevmemHelp();

/** checks the combinations ncdevmem's main() checks, before anything is printed */
function plan(o: NcdevmemOptions): EnvPlan & { mode: 'negative' | 'server' | 'client' } {
  if (o.ifname === null) throw new UsageError('ncdevmem: Missing -f argument');
  if (o.addrs.length > 0 && o.links.length === 0) throw new UsageError('--addr: needs --link (the simulated host gets -s)');
  if (o.links.length > 0 && o.simGiven.length > 0) throw new UsageError(`--${o.simGiven[0]}: only for the simulated peer, not with --link`);
  const period = o.sim.period > 0 ? o.sim.period : o.validation > 0 ? o.validation : 7;
  if (o.serverIp === null && o.clientIp === null) {
    if ((o.startQueue < 0) !== (o.numQueues < 0)) throw new UsageError('ncdevmem: Both -t and -q are required');
    return { mode: 'negative', role: 'negative', ifname: o.ifname, server: null, client: null, port: 0, period };
  }
  if (o.startQueue < 0 && o.numQueues >= 0) throw new UsageError('ncdevmem: Missing -t argument');
  if (o.numQueues < 0 && o.startQueue >= 0) throw new UsageError('ncdevmem: Missing -q argument');
  if (o.serverIp === null) throw new UsageError('ncdevmem: Missing -s argument');
  if (o.port === null) throw new UsageError('ncdevmem: Missing -p argument');
  const s = InetAddr.parse(o.serverIp);
  const sText = s.toString();
  if (o.links.length === 0 && !isUnicast(s)) {
    throw new UsageError(`-s: the simulated host needs a unicast address, got '${o.serverIp}'`);
  }
  let cText: string | null = null;
  if (o.clientIp !== null) {
    const c = InetAddr.parse(o.clientIp);
    if (c.family !== s.family) throw new UsageError('-c: not the same IP version as -s');
    if (o.links.length === 0 && (!isUnicast(c) || c.equals(s))) {
      throw new UsageError(`-c: the simulated hosts need a unicast address other than -s, got '${o.clientIp}'`);
    }
    cText = c.toString();
  }
  const mode = o.listen ? 'server' : 'client';
  const serverOnly = o.simGiven.filter((g) => g !== 'sim-mtu' && g !== 'sim-loss');
  if (mode === 'client' && serverOnly.length > 0) throw new UsageError(`--${serverOnly[0]}: only for the server (-l); the client's peer just listens`);
  return { mode, role: mode, ifname: o.ifname, server: { family: s.family, addr: sText }, client: cText, port: o.port, period };
}

/**
 * Runs the command; returns the exit status. `observe` sees the environment once it exists
 * (tests inspect the host after the run).
 */
export async function runNcdevmem(argv: readonly string[], sink: NcdevmemSink = processSink, observe?: (env: NcdevmemEnv) => void): Promise<number> {
  const o = parseNcdevmemArgs(argv);
  if (o.help) {
    sink.stdout(`${NCDEVMEM_USAGE}\n`);
    return 0;
  }
  const p = plan(o);
  const log = new Log(sink);
  log.live = o.links.length > 0;
  log.quietStdout = o.json;
  const env: NcdevmemEnv = o.links.length > 0
    ? await LinkEnv.open({ ifname: p.ifname, links: o.links, addrs: o.addrs, queues: o.queues, seed: o.seed })
    : new SimEnv(p, { ...o.sim, queues: o.queues, seed: o.seed ?? 1 }, log);
  observe?.(env);
  // from the shell: should the event loop run dry while the run waits, say so and fail
  const stallGuard = (): void => {
    log.prErr('stalled: nothing left to run while waiting (the simulation went quiet)');
    log.flush();
    process.exitCode = 1;
  };
  if (sink === processSink) process.once('beforeExit', stallGuard);
  let code: number;
  const facts: RunFacts = { startQueue: o.startQueue, numQueues: o.numQueues, server: null, client: null };
  const input = p.mode === 'client' && sink.stdin !== undefined ? await sink.stdin() : new Uint8Array(0);
  try {
    code = await execute(env, o, p, log, facts, input);
  } catch (e) {
    code = fatal(log, e instanceof Error ? e.message : String(e));
  } finally {
    process.removeListener('beforeExit', stallGuard);
  }
  try {
    await env.close();
  } finally {
    log.flush();
  }
  // the peer failing makes a short stream look like a clean close: not a success
  if (code === 0 && env.peerError !== null) code = 1;
  const received = env instanceof SimEnv && p.mode === 'client' ? env.received : null;
  if (o.json) sink.stdout(`${JSON.stringify(jsonSummary(p.mode, code, o, facts, env.peerError, received))}\n`);
  return code;
}

/** what `execute` found out, for --json */
interface RunFacts {
  startQueue: number;
  numQueues: number;
  server: ServerResult | null;
  client: ClientResult | null;
}

/** the --json object */
function jsonSummary(
  mode: 'negative' | 'server' | 'client', exitCode: number, o: NcdevmemOptions, f: RunFacts, peerError: string | null, received: Uint8Array | null,
): Record<string, unknown> {
  const base = { mode, exitCode, ifname: o.ifname, startQueue: f.startQueue, numQueues: f.numQueues };
  const c = f.client;
  if (mode === 'client') {
    if (c === null) return base;
    return {
      ...base, bindingId: c.bindingId, lines: c.lines, bytes: c.bytes, iovecs: c.iovecs, maxChunk: o.maxChunk,
      completions: c.completions, hostVisibleBytes: c.hostVisibleBytes,
      // the simulated listener's output (what socat would print); null on a real link
      peerReceived: received === null ? null : Buffer.from(received).toString('latin1'), peerError,
    };
  }
  const r = f.server;
  if (mode === 'negative' || r === null) return base;
  return {
    ...base,
    bindingId: r.bindingId,
    bytes: r.totalReceived + r.linearBytes,
    dmabufBytes: r.totalReceived,
    linearBytes: r.linearBytes,
    tokensIssued: r.tokensIssued,
    tokensReturned: r.tokensReturned,
    pageAlignedFrags: r.pageAlignedFrags,
    nonPageAlignedFrags: r.nonPageAlignedFrags,
    validation: o.validation,
    validated: o.validation > 0 && exitCode === 0,
    mismatches: r.mismatches,
    hostBytesRead: r.hostBytesRead,
    peerError,
  };
}

/** main() of the tool once the command line is accepted: queue defaults, then the mode */
async function execute(env: NcdevmemEnv, o: NcdevmemOptions, p: ReturnType<typeof plan>, log: Log, facts: RunFacts, input: Uint8Array): Promise<number> {
  const dev = env.host.device(p.ifname);
  log.err(`using ifindex=${dev === null ? 0 : dev.ifindex}`);
  const nrx = rxqNum(env.host, p.ifname);
  let start = o.startQueue;
  let num = o.numQueues;
  if (p.mode === 'negative') {
    if (start < 0 && num < 0) {
      if (nrx < 0) return fatal(log, "couldn't detect number of queues");
      if (nrx < 2) return fatal(log, 'number of device queues is too low');
      start = Math.floor(nrx / 2);
      num = Math.floor(nrx / 2);
    }
    facts.startQueue = start;
    facts.numQueues = num;
    await env.prepare(start, num);
    return runDevmemTests(env, start, num, log);
  }
  if (start < 0 && num < 0) {
    if (nrx < 2) return fatal(log, 'number of device queues is too low');
    num = 1;
    start = nrx - num;
    log.err(`using queues ${start}..${start + num}`);
  }
  facts.startQueue = start;
  facts.numQueues = num;
  await env.prepare(start, num);
  if (p.mode === 'client') {
    const c = await doClient(env, {
      serverIp: p.server!.addr, family: p.server!.family, clientIp: p.client, port: p.port, maxChunk: o.maxChunk,
    }, input, log);
    facts.client = c;
    return c.exitCode;
  }
  const r = await doServer(env, {
    serverIp: p.server!.addr, family: p.server!.family, clientIp: p.client, port: p.port, validation: o.validation,
    startQueue: start, numQueues: num, stallUs: o.stallUs,
    // -b: the dma-buf is a whole number of rx buffers (the tool takes it from a hugetlb memfd)
    dmabufSize: o.rxBufSize > 0 ? Math.ceil(o.dmabufSize / o.rxBufSize) * o.rxBufSize : o.dmabufSize,
    ...(o.rxBufSize > 0 ? { rxBufSize: o.rxBufSize } : {}),
  }, log);
  facts.server = r;
  return r.exitCode;
}

/** neither unspecified, loopback nor multicast (what a simulated NIC can carry) */
function isUnicast(a: InetAddr): boolean {
  if (a.family === 4) {
    const top = a.v4 >>> 24;
    return a.v4 !== 0 && top !== 127 && top < 224;
  }
  if (a.w0 >>> 24 === 0xff) return false;
  return !(a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && (a.w3 === 0 || a.w3 === 1));
}

function fatal(log: Log, msg: string): number {
  log.prErr(msg);
  return 1;
}
