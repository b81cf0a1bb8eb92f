/**
 * `devmem bench`: bulk TCP through the simulated stack next to two baselines measured in the same
 * run, so that figures travel between machines as ratios: a CPU floor (one JavaScript copy of
 * every payload byte at the same packet size) and Node's own `net` over the kernel's loopback.
 * Every row runs `--runs` times, interleaved round-robin (each round starts one row later), with
 * a GC before every run; each row reports the median and spread of its throughput, ns per data
 * packet, and its ratios to both baselines. `--compare DIR` drives a second build of the library
 * with the same code in the same process (rows `base:…`), for before/after figures on one
 * machine. The lossy rows run plain TCP (copy mode, MTU 1500) over a wire that loses 1 % / 5 %
 * of the frames (seeded) and report retransmissions per MB. `--real` adds rows against the Linux
 * kernel over TAP and VXLAN next to kernel ↔ kernel over veth, and ping RTTs (`bench/real.ts`).
 * Throughput is reported, never asserted.
 */
import os from 'node:os';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { UsageError } from './args.js';
import { formatHelp } from './options/table.js';
import { BENCH_COMMAND, parseBenchArgs } from './options/bench.js';
import { floorCopy, nodeNetLoopback } from './bench/baselines.js';
import { currentLibFile, loadLib, resolveLibFile, type BenchLib } from './bench/lib.js';
import { RecvShapeError, SimFixture, simTransfer, type RecvMethod } from './bench/sim.js';
import { txTransfer } from './bench/tx.js';
import { spread, type Spread } from './bench/stats.js';
import { realSupport, sweepStale } from './bench/netns.js';
import { RealBench, realRowName, realRowSpecs, type RealDir, type RealLinkKind } from './bench/real.js';

const TX_COPIES = {
  'devmem-tx': '1: device memory → wire frame (NIC DMA read at transmit); wire frame → host page (NIC DMA); host page → app buffer (recv)',
  zerocopy: '2: app buffer pinned (MSG_ZEROCOPY, no copy at send) → wire frame (NIC); wire frame → host page; host page → app buffer (recv)',
} as const;
const SIM_CSUM = 'TX: computed by the simulated NIC per frame; RX: verified by the simulated NIC per frame';
const NODE_MSS = 65483; // loopback MTU 65536 less IPv4, TCP and timestamp option headers
const LOSSES = [0.01, 0.05] as const;
const PINGS = 20;
const GOAL_TAP_GBPS = 5;
const GOAL_VXLAN9000_GBPS = 1;
const GOAL_PING_RATIO = 3;

interface Sample {
  bytes: number;
  seconds: number;
  validated: boolean;
  problem: string;
  round: number;
  /** lossy rows: the sender's retransmitted segments (null: the build does not count them) */
  retransSegs?: number | null;
  /** real rows: bytes the sender and the receiver counted */
  sent?: number;
  received?: number;
}

type RowKind = 'floor' | 'node' | 'sim' | 'real';

interface RowDef {
  name: string;
  kind: RowKind;
  lib: string;
  mode: string;
  family: 4 | 6;
  mtu: number;
  /** payload bytes per data packet (the MSS) */
  packet: number;
  bytesPerRun: number;
  copies: string;
  checksum: string;
  /** simulated rows: the wire's loss probability */
  loss: number;
  /** real rows: which link and direction */
  link?: RealLinkKind;
  dir?: RealDir;
  run: (bytes: number) => Promise<Omit<Sample, 'round'>>;
  samples: Sample[];
  failed: boolean;
}

export interface BenchRowReport {
  name: string;
  kind: RowKind;
  lib: string;
  mode: string;
  family: number;
  mtu: number;
  packetBytes: number;
  bytesPerRun: number;
  runs: number;
  gbps: Spread;
  samplesGbps: number[];
  nsPerPacket: Spread;
  ratioFloor: number;
  ratioNodeNet: number;
  /**
   * current build ÷ base build: ratio of medians, and the per-round ratios (current run ÷ base run
   * of the same round, next to each other in time) with their median — the steadier of the two
   * when the machine's speed drifts between rounds
   */
  vsBase?: { ofMedians: number; paired: Spread };
  /** simulated rows: the wire's loss probability per frame, each direction */
  loss?: number;
  /** simulated rows: median of the sender's retransmitted segments per 10^6 bytes (null: not counted by the build) */
  retransPerMB?: number | null;
  /** real rows: the link, the direction, and the ratio of the median to veth-k2k of the same MTU */
  link?: RealLinkKind;
  dir?: RealDir;
  ratioVeth?: number;
  validated: boolean;
  problems?: string[];
  copies: string;
  checksum: string;
}

/** a ping row of the real-link rows (RTT in ms) */
export interface PingReport {
  name: string;
  kind: 'ping';
  link: RealLinkKind;
  count: number;
  rttMs: Spread;
  samplesMs: number[];
  /** median RTT ÷ the veth row's */
  ratioVeth: number;
  /**
   * a floor row, no stack of ours behind it (50 ms apart, as the pings): `udp-echo-floor` — UDP
   * echoes from K to a python echo in V over the veth, what any userspace responder the kernel
   * has to wake costs on this machine; `vxlan-echo-floor` — pings from K through a kernel vxlan
   * device to a python ICMP echo over VXLAN in the root namespace, the same kernel path as
   * `ping-vxlan` with the least userspace work behind it; `vxlan-link-echo-floor` — the same
   * pings answered by our VxlanLink with an ICMP echo responder in place of the stack (the link
   * and Node's wake-up alone)
   */
  floor?: boolean;
}

/** a goal from the issues, reported (never asserted) */
export interface Goal {
  what: string;
  row: string;
  value: number;
  target: number;
  met: boolean;
}

function copiesOf(mode: string): string {
  return mode === 'devmem'
    ? '2: app → socket send buffer; wire frame → device memory (NIC DMA); validation runs on the device'
    : '3: app → socket send buffer; wire frame → host page (NIC DMA); host page → app buffer (recv)';
}

/**
 * A full, synchronous mark-compact before each run, so that no row inherits another's garbage.
 * Not the bare `gc()`: that one is V8's memory-reducing collection, which also clears weak type
 * feedback. The TCP send path's rarely taken branches (the last partial segment, the FIN) then
 * deoptimized on every run, as no program that never forces a GC sees them (`--trace-deopt`:
 * 4–6 deopts per run of the current build, 2 of base's, none with this call).
 */
function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (opts: { type: 'major'; execution: 'sync' }) => void;
  return () => gc({ type: 'major', execution: 'sync' });
}

function withTimeout<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The rows of round `round`: the list rotated by one row per round, and every current build's
 * row and its `base:` twin (adjacent in the list) in swapped order every other round, so that each
 * of the pair follows the other rows (a floor copy's cold caches, Node net's garbage) about
 * equally often — before, the current row always ran right after Node net.
 */
export function roundOrder<R extends { kind: string; mode: string; mtu: number; family: number; loss: number; lib: string }>(rows: R[], round: number): R[] {
  const n = rows.length;
  const out: R[] = [];
  for (let k = 0; k < n; k++) out.push(rows[(round + k) % n]!);
  // the pair order flips every round, and once more each full rotation (n even would otherwise tie
  // each rotation to one order)
  if ((round + Math.floor(round / n)) % 2 === 1) {
    const twins = (a: R, b: R): boolean => a.kind === 'sim' && b.kind === 'sim' && a.lib !== b.lib && a.mode === b.mode &&
      a.mtu === b.mtu && a.family === b.family && a.loss === b.loss;
    for (let i = 0; i + 1 < n; i++) {
      if (twins(out[i]!, out[i + 1]!)) {
        const t = out[i]!;
        out[i] = out[i + 1]!;
        out[i + 1] = t;
        i++;
      }
    }
  }
  return out;
}

function machine(): { nproc: number; cpu: string; node: string; loadavg: number[] } {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export async function runBench(argv: string[]): Promise<number> {
  // syntax, ranges and defaults: the option table (options/bench.ts), which also writes --help
  const args = parseBenchArgs(argv);
  if (args.help) {
    console.log(formatHelp(BENCH_COMMAND));
    return 0;
  }
  const { size, runs, nodeSize, realSize, groups } = args;
  if (groups.has('real')) {
    const why = realSupport();
    if (why !== '') throw new UsageError(`--real: ${why}`);
  }
  const recvOpt = args.recv;
  const libSpec = args.lib;
  const compareSpec = args.compare;
  let mainFile: string;
  let baseFile: string | null = null;
  try {
    mainFile = libSpec ? resolveLibFile(libSpec) : currentLibFile();
    if (compareSpec) baseFile = resolveLibFile(compareSpec);
  } catch (e) {
    throw new UsageError(errText(e));
  }
  const log = (s: string): void => {
    if (!args.json) process.stderr.write(s);
  };
  const notes: string[] = [];
  const gc = gcFn();
  const mach = machine();

  const cur = await loadLib('current', mainFile);
  const base = baseFile === null ? null : await loadLib('base', baseFile);
  const libs = base === null ? [cur] : [cur, base];
  let recv: RecvMethod = recvOpt === 'auto' ? (libs.every((l) => l.hasRecvmsgInto) ? 'recvmsgInto' : 'recvmsg') : recvOpt;
  if (recv === 'recvmsgInto') {
    for (const l of libs) if (!l.hasRecvmsgInto) throw new UsageError(`--recv recvmsgInto: ${l.file} has no Socket.recvmsgInto`);
  }

  // ---- rows ----
  const rows: RowDef[] = [];
  const mk = (r: Omit<RowDef, 'samples' | 'failed'>): RowDef => {
    const row = { ...r, samples: [], failed: false };
    rows.push(row);
    return row;
  };
  for (const mtu of groups.has('baselines') ? [1500, 65535] : []) {
    const packet = mtu - 40;
    mk({
      name: `floor-mtu${mtu}`, kind: 'floor', lib: '-', mode: 'copy', family: 4, mtu, packet, bytesPerRun: size,
      copies: '1: Uint8Array.set of each MSS-sized piece (64 MiB rings)', checksum: 'none', loss: 0,
      run: async (bytes) => ({ ...floorCopy(bytes, packet), validated: true, problem: '' }),
    });
  }
  if (groups.has('baselines')) {
    mk({
      name: 'node-net-loopback', kind: 'node', lib: '-', mode: 'kernel', family: 4, mtu: 65536, packet: NODE_MSS, bytesPerRun: nodeSize,
      copies: '2: user → kernel skb; skb → user', checksum: 'offloaded (loopback)', loss: 0,
      run: async (bytes) => ({ ...(await nodeNetLoopback(bytes)), validated: true, problem: '' }),
    });
  }
  // every simulated row keeps one fixture (network, hosts, binding, listener) for all its runs,
  // warm-up included; a failed run's fixture is closed and the next run opens a fresh one
  const fixtures = new Set<SimFixture>();
  const simRow = (lib: BenchLib, mode: 'devmem' | 'copy', mtu: number, ipv6: boolean, loss = 0): RowDef => {
    const prefix = lib === cur ? '' : `${lib.label}:`;
    const lossTag = loss === 0 ? '' : `-loss${Math.round(loss * 100)}`;
    let fx: SimFixture | null = null;
    return mk({
      name: `${prefix}${mode}${ipv6 ? '6' : ''}${lossTag}-mtu${mtu}`, kind: 'sim', lib: lib.label, mode, family: ipv6 ? 6 : 4, mtu,
      packet: mtu - (ipv6 ? 60 : 40), bytesPerRun: size, copies: copiesOf(mode), checksum: SIM_CSUM, loss,
      run: async (bytes) => {
        const what = `${lib.label} ${mode} MTU ${mtu}${loss === 0 ? '' : ` loss ${loss}`}`;
        if (fx === null || fx.broken) {
          if (fx !== null) {
            fixtures.delete(fx);
            fx.close();
          }
          fx = await SimFixture.open(lib, { mode, mtu, ipv6, loss });
          fixtures.add(fx);
        }
        const f = fx;
        try {
          const r = await withTimeout(f.run({ size: bytes, recv }), 60 + bytes / (loss === 0 ? 5e6 : 1e6), what);
          return { bytes: r.bytes, seconds: r.wallSeconds, validated: r.validated, problem: r.problem, retransSegs: r.retransSegs };
        } catch (e) {
          // a timed-out or thrown run: its fixture goes (closing the network settles the run)
          f.broken = true;
          throw e;
        }
      },
    });
  };
  // each base row right after its current row: interleaved runs of the pair are close in time
  for (const mode of ['devmem', 'copy'] as const) {
    for (const mtu of [1500, 65535]) {
      // copy-mtu1500 is the lossy group's 0 % row as well
      const wanted = groups.has(mode) || (mode === 'copy' && mtu === 1500 && groups.has('lossy'));
      if (wanted) for (const lib of libs) simRow(lib, mode, mtu, false);
    }
  }
  const lossRows: RowDef[] = [];
  if (groups.has('lossy')) for (const loss of LOSSES) for (const lib of libs) lossRows.push(simRow(lib, 'copy', 1500, false, loss));
  const v6rows = groups.has('ipv6') ? [simRow(cur, 'devmem', 1500, true), simRow(cur, 'devmem', 65535, true)] : [];
  // transmit rows (bench/tx.ts): the sender is what differs; this build only
  if (groups.has('tx')) {
    for (const [mode, mtu] of [['devmem-tx', 1500], ['devmem-tx', 65535], ['zerocopy', 1500], ['zerocopy', 65535]] as const) {
      mk({
        name: `${mode}-mtu${mtu}`, kind: 'sim', lib: 'current', mode, family: 4, mtu, packet: mtu - 40, bytesPerRun: size,
        copies: TX_COPIES[mode], checksum: SIM_CSUM, loss: 0,
        run: async (bytes) => {
          const r = await withTimeout(txTransfer({ mode, mtu, size: bytes }), 60 + bytes / 5e6, `${mode} MTU ${mtu}`);
          return { bytes: r.bytes, seconds: r.wallSeconds, validated: r.validated, problem: r.problem };
        },
      });
    }
  }
  let real: RealBench | null = null;
  const realRows: RowDef[] = [];
  if (groups.has('real')) {
    for (const spec of realRowSpecs()) {
      realRows.push(mk({
        name: realRowName(spec), kind: 'real', lib: '-', mode: spec.link === 'veth' ? 'kernel' : 'copy', family: 4, mtu: spec.mtu,
        packet: spec.mtu - 40, bytesPerRun: realSize, loss: 0, link: spec.link, dir: spec.dir,
        copies: spec.link === 'veth' ? 'kernel ↔ kernel' : `${spec.link} link ↔ the kernel`,
        checksum: spec.link === 'tap' ? 'vnet-hdr: partial checksums and GSO frames both ways' : spec.link === 'vxlan' ? 'complete inner checksums (kernel vxlan tx offload off)' : 'offloaded (veth)',
        run: async (bytes) => {
          const r = await real!.run(spec, bytes, 60 + bytes / 2e6);
          return { bytes: r.bytes, seconds: r.seconds, validated: r.validated, problem: r.problem, sent: r.sent, received: r.received };
        },
      }));
    }
  }

  const pings: PingReport[] = [];
  /** our side's link counters at the end (both directions of every run, warm-up included) */
  const realLinks: Record<string, Record<string, number>> = {};
  // the fixtures are closed whatever happens from here to the end of the rounds
  try {
    // ---- warm-up: JIT for every code path; picks the receive call; probes IPv6 and lossy base rows ----
    log(`warm-up (${libs.map((l) => l.file).join(', ')}) … `);
    const warmSim = Math.min(size, 16 << 20);
    for (;;) {
      try {
        for (const r of [...rows]) {
          if (r.kind !== 'sim' || v6rows.includes(r)) continue;
          let s: Omit<Sample, 'round'>;
          try {
            s = await r.run(warmSim);
          } catch (e) {
            if (!(lossRows.includes(r) && r.lib !== 'current') || e instanceof RecvShapeError) throw e;
            s = { bytes: 0, seconds: 0, validated: false, problem: errText(e) };
          }
          if (!s.validated && lossRows.includes(r) && r.lib !== 'current') {
            // an older build without a lossy wire (or whose TCP does not recover): its row is left out
            rows.splice(rows.indexOf(r), 1);
            notes.push(`${r.name} left out: the ${r.lib} build does not complete a transfer over a lossy wire (${s.problem})`);
            continue;
          }
          if (!s.validated) throw new Error(`${r.name}: ${s.problem}`);
          if (r.loss > 0 && s.retransSegs === null && !notes.some((n) => n.startsWith(`retx/MB: ${r.lib}`))) {
            notes.push(`retx/MB: ${r.lib} build has no retransmission counter (snmp().tcp or tcp.stats)`);
          }
        }
        break;
      } catch (e) {
        if (e instanceof RecvShapeError && recvOpt === 'auto' && recv === 'recvmsgInto') {
          recv = 'recvmsg';
          notes.push(`receive call: recvmsg (a build's recvmsgInto has another result shape)`);
          continue;
        }
        throw e;
      }
    }
    if (v6rows.length > 0) {
      let why = '';
      try {
        // a build without IPv6 may fail at once or wait forever (no route, no neighbour): 10 s
        for (const mtu of [1500, 65535]) {
          const probe = simTransfer(cur, { mode: 'devmem', mtu, ipv6: true, size: Math.min(size, 4 << 20), recv });
          const s = await withTimeout(probe, 10, `IPv6 devmem MTU ${mtu}`);
          if (!s.validated) {
            why = s.problem;
            break;
          }
        }
      } catch (e) {
        why = errText(e);
      }
      if (why !== '') {
        for (const r of v6rows) rows.splice(rows.indexOf(r), 1);
        notes.push(`IPv6 rows skipped: this build does not run a devmem transfer over IPv6 (${why})`);
      }
    }
    if (groups.has('baselines')) {
      floorCopy(Math.min(size, 64 << 20), 1460);
      await nodeNetLoopback(Math.min(nodeSize, 64 << 20));
    }
    if (realRows.length > 0) {
      const swept = sweepStale();
      if (swept.length > 0) notes.push(`removed what an earlier bench left behind: ${swept.join(', ')}`);
      real = await RealBench.open();
      for (const r of realRows) {
        const s = await r.run(Math.min(realSize, 8 << 20));
        if (!s.validated) {
          await real.close();
          throw new Error(`${r.name} (warm-up): ${s.problem}`);
        }
      }
    }
    // then two full-size runs of every lossless simulated row (interleaved as the rounds are): a
    // 16 MiB run leaves a build with more code still compiling in round 1, a JIT cost the rounds
    // must not count for one build and not the other; after one pass, code shared by rows of
    // different MTUs still deoptimized in round 1 (`--trace-deopt`)
    for (let pass = 0; pass < 2; pass++) {
      for (const r of rows) {
        if (r.kind !== 'sim' || r.loss !== 0) continue;
        gc();
        try {
          await r.run(r.bytesPerRun);
        } catch {
          // the rounds run it again and report the failure
        }
      }
    }
    log('done\n');

    // ---- interleaved rounds (then the pings), the real network removed whatever happens ----
    try {
      await rounds();
      if (real !== null) {
        for (const link of ['vxlan', 'veth', 'tap'] as const) {
          const rtts = await real.ping(link, PINGS);
          pings.push({ name: `ping-${link}-mtu1500`, kind: 'ping', link, count: rtts.length, rttMs: spread(rtts), samplesMs: rtts, ratioVeth: NaN });
        }
        // the floor under the ping rows: a userspace UDP echo the kernel must wake, over the same veth
        const echo = await real.udpEchoFloor(PINGS);
        pings.push({ name: 'udp-echo-floor-mtu1500', kind: 'ping', link: 'veth', count: echo.length, rttMs: spread(echo), samplesMs: echo, ratioVeth: NaN, floor: true });
        // and under ping-vxlan itself: the same kernel VXLAN path to a python ICMP echo over VXLAN
        const vxEcho = await real.vxlanEchoFloor(PINGS);
        pings.push({ name: 'vxlan-echo-floor-mtu1500', kind: 'ping', link: 'vxlan', count: vxEcho.length, rttMs: spread(vxEcho), samplesMs: vxEcho, ratioVeth: NaN, floor: true });
        // and our own VXLAN link with that responder's work in place of the stack
        const linkEcho = await real.vxlanEchoFloor(PINGS, 'link');
        pings.push({ name: 'vxlan-link-echo-floor-mtu1500', kind: 'ping', link: 'vxlan', count: linkEcho.length, rttMs: spread(linkEcho), samplesMs: linkEcho, ratioVeth: NaN, floor: true });
        const veth = pings.find((p) => p.name === 'ping-veth-mtu1500')!.rttMs.median;
        for (const p of pings) p.ratioVeth = p.rttMs.median / veth;
        for (const spec of realRowSpecs()) {
          const st = spec.dir === 'k2us' ? real.linkStats(spec) : null;
          if (st !== null) realLinks[`${spec.link}-mtu${spec.mtu}`] = st;
        }
      }
    } finally {
      if (real !== null) await real.close();
    }
  } finally {
    for (const f of fixtures) f.close();
    fixtures.clear();
  }

  async function rounds(): Promise<void> {
    for (let round = 0; round < runs; round++) {
      log(`round ${round + 1}/${runs}:`);
      for (const r of roundOrder(rows, round)) {
        if (r.failed) continue;
        gc();
        let s: Omit<Sample, 'round'>;
        try {
          s = await r.run(r.bytesPerRun);
        } catch (e) {
          s = { bytes: 0, seconds: 0, validated: false, problem: errText(e) };
        }
        r.samples.push({ ...s, round });
        if (!s.validated) {
          r.failed = true;
          log(` ${r.name} FAILED (${s.problem})`);
          continue;
        }
        log(` ${r.name} ${((s.bytes * 8) / s.seconds / 1e9).toFixed(2)}`);
      }
      log('\n');
    }
  }

  // ---- heap growth per packet in the steady state of a devmem MTU 1500 run (current build) ----
  const heapSamples: { bytes: number; heap: number }[] = [];
  if (groups.has('devmem')) await simTransfer(cur, {
    mode: 'devmem', mtu: 1500, ipv6: false, size: Math.min(size, 128 << 20), recv,
    onProgress: (bytes) => {
      if (bytes < 16 << 20) return;
      gc();
      heapSamples.push({ bytes, heap: process.memoryUsage().heapUsed });
    },
  });
  let heapPerPacket: number | null = null;
  let heapPackets = 0;
  if (heapSamples.length >= 2) {
    const first = heapSamples[0]!;
    const last = heapSamples[heapSamples.length - 1]!;
    heapPackets = Math.max(1, Math.round((last.bytes - first.bytes) / 1460));
    heapPerPacket = (last.heap - first.heap) / heapPackets;
  }

  // ---- report ----
  const gbpsOf = (s: Sample): number => (s.bytes * 8) / s.seconds / 1e9;
  const ok = (r: RowDef): Sample[] => r.samples.filter((s) => s.validated);
  const med = (name: string): number => {
    const r = rows.find((x) => x.name === name);
    return r === undefined ? NaN : spread(ok(r).map(gbpsOf)).median;
  };
  const nodeMed = med('node-net-loopback');
  const reports: BenchRowReport[] = rows.map((r) => {
    const good = ok(r);
    const g = spread(good.map(gbpsOf));
    const floorMed = med(`floor-mtu${r.mtu === 65536 ? 65535 : r.mtu}`);
    const rep: BenchRowReport = {
      name: r.name, kind: r.kind, lib: r.lib === '-' ? '-' : r.lib === 'current' ? cur.file : base!.file, mode: r.mode,
      family: r.family, mtu: r.mtu, packetBytes: r.packet, bytesPerRun: r.bytesPerRun, runs: good.length, gbps: g,
      samplesGbps: good.map(gbpsOf),
      nsPerPacket: spread(good.map((s) => (s.seconds * 1e9) / Math.ceil(s.bytes / r.packet))),
      ratioFloor: g.median / floorMed, ratioNodeNet: g.median / nodeMed,
      validated: !r.failed && good.length === runs, copies: r.copies, checksum: r.checksum,
    };
    if (r.kind === 'sim') {
      rep.loss = r.loss;
      const per = good.map((s) => (typeof s.retransSegs === 'number' ? s.retransSegs / (s.bytes / 1e6) : NaN));
      rep.retransPerMB = per.length > 0 && per.every(Number.isFinite) ? spread(per).median : null;
    }
    if (r.kind === 'real') {
      rep.link = r.link;
      rep.dir = r.dir;
      rep.ratioVeth = g.median / med(`veth-k2k-mtu${r.mtu}`);
    }
    if (r.kind === 'sim' && r.lib === 'current' && base !== null) {
      const b = rows.find((x) => x.kind === 'sim' && x.lib === 'base' && x.mode === r.mode && x.mtu === r.mtu && x.family === r.family && x.loss === r.loss);
      if (b !== undefined) {
        const paired: number[] = [];
        for (const s of good) {
          const t = ok(b).find((x) => x.round === s.round);
          if (t !== undefined) paired.push(gbpsOf(s) / gbpsOf(t));
        }
        rep.vsBase = { ofMedians: g.median / spread(ok(b).map(gbpsOf)).median, paired: spread(paired) };
      }
    }
    const problems = r.samples.filter((s) => !s.validated).map((s) => s.problem);
    if (problems.length > 0) rep.problems = problems;
    return rep;
  });
  const goals: Goal[] = [];
  if (real !== null) {
    const goal = (what: string, row: string, value: number, target: number, atMost = false): void => {
      goals.push({ what, row, value, target, met: Number.isFinite(value) && (atMost ? value <= target : value >= target) });
    };
    for (const mtu of [1500, 9000]) goal(`kernel → us over TAP with vnet-hdr offloads ≥ ${GOAL_TAP_GBPS} Gbit/s`, `tap-k2us-mtu${mtu}`, med(`tap-k2us-mtu${mtu}`), GOAL_TAP_GBPS);
    for (const dir of ['k2us', 'us2k']) goal(`VXLAN at MTU 9000 ≥ ${GOAL_VXLAN9000_GBPS} Gbit/s`, `vxlan-${dir}-mtu9000`, med(`vxlan-${dir}-mtu9000`), GOAL_VXLAN9000_GBPS);
    const pv = pings.find((p) => p.link === 'vxlan' && p.floor !== true);
    if (pv !== undefined) goal(`ping over VXLAN within ${GOAL_PING_RATIO}× kernel ↔ kernel over veth (median RTT ratio)`, pv.name, pv.ratioVeth, GOAL_PING_RATIO, true);
    const pf = pings.find((p) => p.name === 'udp-echo-floor-mtu1500');
    if (pf !== undefined) {
      notes.push(`ping floor: a python UDP echo over the veth (no stack of ours) answers in ${pf.rttMs.median.toFixed(3)} ms median, ${pf.ratioVeth.toFixed(2)}× the kernel's veth ping`);
    }
    const pxf = pings.find((p) => p.name === 'vxlan-echo-floor-mtu1500');
    if (pxf !== undefined) {
      notes.push(`ping floor over VXLAN: a python ICMP echo behind the kernel's vxlan device (no stack of ours) answers in ${pxf.rttMs.median.toFixed(3)} ms median, ${pxf.ratioVeth.toFixed(2)}× the kernel's veth ping`);
    }
    const plf = pings.find((p) => p.name === 'vxlan-link-echo-floor-mtu1500');
    if (plf !== undefined) {
      notes.push(`ping floor of our VXLAN link: the same echo on our VxlanLink in this process (no stack behind it) answers in ${plf.rttMs.median.toFixed(3)} ms median, ${plf.ratioVeth.toFixed(2)}× the kernel's veth ping`);
    }
  }
  const meta = {
    name: 'meta', machine: mach, groups: [...groups], goals, realLinks,
    /** the build the real rows ran (the one this command belongs to) */
    realLib: real === null ? null : currentLibFile(), loadavgAfter: os.loadavg().map((x) => Math.round(x * 100) / 100), runs, interleaved: 'round-robin, each round starting one row later; GC before every run',
    recv, libs: { current: cur.file, base: base?.file ?? null }, heapBytesPerPacket: heapPerPacket, heapPackets, notes,
  };

  if (args.json) {
    for (const r of reports) console.log(JSON.stringify(r));
    for (const p of pings) console.log(JSON.stringify(p));
    console.log(JSON.stringify(meta));
  } else {
    const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
    const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
    const pad = (s: string, n: number): string => s.padEnd(n);
    const failed = (r: BenchRowReport): string => (r.validated ? '' : `  FAILED: ${(r.problems ?? ['missing runs'])[0]}`);
    const head = `${pad('row', 26)}${pad('MTU', 7)}${pad('Gbit/s', 8)}${pad('min–max', 14)}${pad('IQR', 14)}${pad('ns/pkt', 9)}`;
    const body = (r: BenchRowReport): string =>
      `${pad(r.name, 26)}${pad(String(r.mtu), 7)}${pad(f2(r.gbps.median), 8)}${pad(`${f2(r.gbps.min)}–${f2(r.gbps.max)}`, 14)}` +
      `${pad(`${f2(r.gbps.q1)}–${f2(r.gbps.q3)}`, 14)}${pad(Number.isFinite(r.nsPerPacket.median) ? r.nsPerPacket.median.toFixed(0) : '-', 9)}`;
    const local = reports.filter((r) => r.kind !== 'real');
    if (local.length > 0) {
      console.log(`\n${head}${pad('× floor', 9)}${pad('× node', 8)}${pad('retx/MB', 9)}vs base (paired: median, min–max)`);
      for (const r of local) {
        const vs = r.vsBase === undefined ? '' : `${f3(r.vsBase.ofMedians)} (${f3(r.vsBase.paired.median)}, ${f3(r.vsBase.paired.min)}–${f3(r.vsBase.paired.max)})`;
        const retx = r.retransPerMB === undefined ? '' : r.retransPerMB === null ? '-' : r.retransPerMB.toFixed(2);
        console.log(`${body(r)}${pad(f3(r.ratioFloor), 9)}${pad(f3(r.ratioNodeNet), 8)}${pad(retx, 9)}${vs}${failed(r)}`);
      }
    }
    const realReps = reports.filter((r) => r.kind === 'real');
    if (realReps.length > 0) {
      console.log(`\nreal links (kernel namespaces made and removed by this run; ${realSize} bytes per transfer, Gbit/s at the receiver)`);
      console.log(`${head}× veth`);
      for (const r of realReps) console.log(`${body(r)}${f3(r.ratioVeth ?? NaN)}${failed(r)}`);
      for (const p of pings) {
        console.log(`${pad(p.name, 31)}RTT median ${p.rttMs.median.toFixed(3)} ms (min–max ${p.rttMs.min.toFixed(3)}–${p.rttMs.max.toFixed(3)}, ${p.count} pings), × veth ${f3(p.ratioVeth)}`);
      }
      for (const g of goals) console.log(`goal: ${g.what}: ${g.row} ${f2(g.value)} — ${g.met ? 'met' : 'not met'}`);
    }
    console.log(`\n${runs} runs per row, interleaved; medians; ns/pkt = wall time ÷ (bytes ÷ MSS); × floor against the floor row of the same MTU.`);
    console.log(`machine: ${mach.nproc} CPUs, ${mach.cpu}, node ${mach.node}, load average ${mach.loadavg.join(' ')} → ${meta.loadavgAfter.join(' ')}`);
    console.log(`library: ${cur.file}${base === null ? '' : `; base: ${base.file}`}; receive call: ${recv}`);
    if (reports.some((r) => r.kind === 'sim')) console.log(`checksums (simulated rows): ${SIM_CSUM}`);
    if (heapPerPacket !== null) console.log(`heap growth in the steady state of a devmem MTU 1500 run: ${heapPerPacket.toFixed(3)} bytes per data packet (${heapPackets} packets between two forced GCs)`);
    for (const n of notes) console.log(`note: ${n}`);
  }
  return reports.every((r) => r.validated) ? 0 : 1;
}
