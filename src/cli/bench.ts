/**
 * `devmem bench`: bulk TCP through the simulated stack next to two baselines measured in the same
 * run, so that figures travel between machines as ratios: a CPU floor (one JavaScript copy of
 * every payload byte at the same packet size) and Node's own `net` over the kernel's loopback.
 * Every row runs `--runs` times, interleaved round-robin (each round starts one row later), with
 * a GC before every run; each row reports the median and spread of its throughput, ns per data
 * packet, and its ratios to both baselines. `--compare DIR` drives a second build of the library
 * with the same code in the same process (rows `base:…`), for before/after figures on one
 * machine. Throughput is reported, never asserted.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { UsageError, parseSize } from './args.js';
import { floorCopy, nodeNetLoopback } from './bench/baselines.js';
import { currentLibFile, loadLib, resolveLibFile, type BenchLib } from './bench/lib.js';
import { RecvShapeError, simTransfer, type RecvMethod } from './bench/sim.js';
import { spread, type Spread } from './bench/stats.js';

const USAGE = `usage: devmem bench [options]

  --runs N        runs of every row, interleaved round-robin (default 5; --quick: 3)
  --size N        bytes per simulated transfer and per floor run (default 1G; --quick: 64M)
  --node-size N   bytes per Node net run (default 1G; --quick: 128M)
  --quick         small transfers, 3 runs (a smoke run: well under 30 s)
  --json          one JSON object per row, then one 'meta' object
  --lib DIR       measure another build of the library (a checkout with dist/, or its index.js);
                  also DEVMEM_BENCH_LIB
  --compare DIR   add 'base:' rows driven by the build in DIR, interleaved with the others;
                  also DEVMEM_BENCH_COMPARE
  --ipv6          IPv6 devmem rows (the default when the build supports IPv6 addresses)
  --no-ipv6       leave the IPv6 rows out
  --recv M        auto | recvmsgInto | recvmsg: the receive call (one for every build; auto
                  takes the allocation-free recvmsgInto when every build has it)
  -h, --help      this help

Rows: floor-mtuN (CPU floor: one Uint8Array copy of every payload byte in MSS-sized pieces),
node-net-loopback (Node's net over 127.0.0.1: the kernel's TCP), devmem-mtuN and copy-mtuN
(host A → host B over a 100 Gbit/s, 5 µs simulated wire; wall clock of the whole simulation on
one core), devmem6-mtuN (the same over IPv6). Ratios: × floor (same MTU), × node net, and for
--compare the current build against the base build.`;

const SIM_CSUM = 'TX: computed by the simulated NIC per frame; RX: verified by the simulated NIC per frame';
const NODE_MSS = 65483; // loopback MTU 65536 less IPv4, TCP and timestamp option headers

interface Sample {
  bytes: number;
  seconds: number;
  validated: boolean;
  problem: string;
  round: number;
}

interface RowDef {
  name: string;
  kind: 'floor' | 'node' | 'sim';
  lib: string;
  mode: string;
  family: 4 | 6;
  mtu: number;
  /** payload bytes per data packet (the MSS) */
  packet: number;
  bytesPerRun: number;
  copies: string;
  checksum: string;
  run: (bytes: number) => Promise<Omit<Sample, 'round'>>;
  samples: Sample[];
  failed: boolean;
}

export interface BenchRowReport {
  name: string;
  kind: 'floor' | 'node' | 'sim';
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
  /** current build ÷ base build: ratio of medians and the spread of the per-round ratios */
  vsBase?: { ofMedians: number; paired: Spread };
  validated: boolean;
  problems?: string[];
  copies: string;
  checksum: string;
}

function copiesOf(mode: string): string {
  return mode === 'devmem'
    ? '2: app → socket send buffer; wire frame → device memory (NIC DMA); validation runs on the device'
    : '3: app → socket send buffer; wire frame → host page (NIC DMA); host page → app buffer (recv)';
}

function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
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

function machine(): { nproc: number; cpu: string; node: string; loadavg: number[] } {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export async function runBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string' },
      runs: { type: 'string' },
      'node-size': { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      lib: { type: 'string' },
      compare: { type: 'string' },
      ipv6: { type: 'boolean', default: false },
      'no-ipv6': { type: 'boolean', default: false },
      recv: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const quick = values.quick;
  const size = values.size ? parseSize(values.size, '--size') : quick ? 64 << 20 : 1 << 30;
  if (size < 1 << 20) throw new UsageError('--size: at least 1M');
  const runs = values.runs ? Number(values.runs) : quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new UsageError(`--runs: expected an integer in 1..50, got '${values.runs}'`);
  const nodeSize = values['node-size'] ? parseSize(values['node-size'], '--node-size') : quick ? 128 << 20 : 1 << 30;
  if (values.ipv6 && values['no-ipv6']) throw new UsageError('--ipv6 and --no-ipv6 exclude each other');
  const recvOpt = values.recv;
  if (recvOpt !== 'auto' && recvOpt !== 'recvmsgInto' && recvOpt !== 'recvmsg') throw new UsageError(`--recv: auto, recvmsgInto or recvmsg, got '${recvOpt}'`);
  const libSpec = values.lib ?? process.env.DEVMEM_BENCH_LIB;
  const compareSpec = values.compare ?? process.env.DEVMEM_BENCH_COMPARE;
  let mainFile: string;
  let baseFile: string | null = null;
  try {
    mainFile = libSpec ? resolveLibFile(libSpec) : currentLibFile();
    if (compareSpec) baseFile = resolveLibFile(compareSpec);
  } catch (e) {
    throw new UsageError(errText(e));
  }
  const log = (s: string): void => {
    if (!values.json) process.stderr.write(s);
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
  for (const mtu of [1500, 65535]) {
    const packet = mtu - 40;
    mk({
      name: `floor-mtu${mtu}`, kind: 'floor', lib: '-', mode: 'copy', family: 4, mtu, packet, bytesPerRun: size,
      copies: '1: Uint8Array.set of each MSS-sized piece (64 MiB rings)', checksum: 'none',
      run: async (bytes) => ({ ...floorCopy(bytes, packet), validated: true, problem: '' }),
    });
  }
  mk({
    name: 'node-net-loopback', kind: 'node', lib: '-', mode: 'kernel', family: 4, mtu: 65536, packet: NODE_MSS, bytesPerRun: nodeSize,
    copies: '2: user → kernel skb; skb → user', checksum: 'offloaded (loopback)',
    run: async (bytes) => ({ ...(await nodeNetLoopback(bytes)), validated: true, problem: '' }),
  });
  const simRow = (lib: BenchLib, mode: 'devmem' | 'copy', mtu: number, ipv6: boolean): RowDef => {
    const prefix = lib === cur ? '' : `${lib.label}:`;
    return mk({
      name: `${prefix}${mode}${ipv6 ? '6' : ''}-mtu${mtu}`, kind: 'sim', lib: lib.label, mode, family: ipv6 ? 6 : 4, mtu,
      packet: mtu - (ipv6 ? 60 : 40), bytesPerRun: size, copies: copiesOf(mode), checksum: SIM_CSUM,
      run: async (bytes) => {
        const r = await withTimeout(simTransfer(lib, { mode, mtu, ipv6, size: bytes, recv }), 60 + bytes / 5e6, `${lib.label} ${mode} MTU ${mtu}`);
        return { bytes: r.bytes, seconds: r.wallSeconds, validated: r.validated, problem: r.problem };
      },
    });
  };
  // each base row right after its current row: interleaved runs of the pair are close in time
  for (const mode of ['devmem', 'copy'] as const) {
    for (const mtu of [1500, 65535]) for (const lib of libs) simRow(lib, mode, mtu, false);
  }
  const v6rows = values['no-ipv6'] ? [] : [simRow(cur, 'devmem', 1500, true), simRow(cur, 'devmem', 65535, true)];

  // ---- warm-up: JIT for every code path; picks the receive call; probes IPv6 ----
  log(`warm-up (${libs.map((l) => l.file).join(', ')}) … `);
  const warmSim = Math.min(size, 16 << 20);
  for (;;) {
    try {
      for (const r of rows) {
        if (r.kind !== 'sim' || v6rows.includes(r)) continue;
        const s = await r.run(warmSim);
        if (!s.validated) throw new Error(`${r.name}: ${s.problem}`);
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
  floorCopy(Math.min(size, 64 << 20), 1460);
  await nodeNetLoopback(Math.min(nodeSize, 64 << 20));
  log('done\n');

  // ---- interleaved rounds ----
  for (let round = 0; round < runs; round++) {
    log(`round ${round + 1}/${runs}:`);
    for (let k = 0; k < rows.length; k++) {
      const r = rows[(round + k) % rows.length]!;
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

  // ---- heap growth per packet in the steady state of a devmem MTU 1500 run (current build) ----
  const heapSamples: { bytes: number; heap: number }[] = [];
  await simTransfer(cur, {
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
    if (r.kind === 'sim' && r.lib === 'current' && base !== null) {
      const b = rows.find((x) => x.kind === 'sim' && x.lib === 'base' && x.mode === r.mode && x.mtu === r.mtu && x.family === r.family);
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
  const meta = {
    name: 'meta', machine: mach, loadavgAfter: os.loadavg().map((x) => Math.round(x * 100) / 100), runs, interleaved: 'round-robin, each round starting one row later; GC before every run',
    recv, libs: { current: cur.file, base: base?.file ?? null }, heapBytesPerPacket: heapPerPacket, heapPackets, notes,
  };

  if (values.json) {
    for (const r of reports) console.log(JSON.stringify(r));
    console.log(JSON.stringify(meta));
  } else {
    const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
    const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
    const pad = (s: string, n: number): string => s.padEnd(n);
    console.log(`\n${pad('row', 22)}${pad('MTU', 7)}${pad('Gbit/s', 8)}${pad('min–max', 14)}${pad('IQR', 14)}${pad('ns/pkt', 9)}${pad('× floor', 9)}${pad('× node', 8)}vs base (paired min–max)`);
    for (const r of reports) {
      const vs = r.vsBase === undefined ? '' : `${f3(r.vsBase.ofMedians)} (${f3(r.vsBase.paired.min)}–${f3(r.vsBase.paired.max)})`;
      console.log(
        `${pad(r.name, 22)}${pad(String(r.mtu), 7)}${pad(f2(r.gbps.median), 8)}${pad(`${f2(r.gbps.min)}–${f2(r.gbps.max)}`, 14)}` +
        `${pad(`${f2(r.gbps.q1)}–${f2(r.gbps.q3)}`, 14)}${pad(r.nsPerPacket.median.toFixed(0), 9)}${pad(f3(r.ratioFloor), 9)}${pad(f3(r.ratioNodeNet), 8)}${vs}` +
        (r.validated ? '' : `  FAILED: ${(r.problems ?? ['missing runs'])[0]}`),
      );
    }
    console.log(`\n${runs} runs per row, interleaved; medians; ns/pkt = wall time ÷ (bytes ÷ MSS); × floor against the floor row of the same MTU.`);
    console.log(`machine: ${mach.nproc} CPUs, ${mach.cpu}, node ${mach.node}, load average ${mach.loadavg.join(' ')} → ${meta.loadavgAfter.join(' ')}`);
    console.log(`library: ${cur.file}${base === null ? '' : `; base: ${base.file}`}; receive call: ${recv}`);
    console.log(`checksums (simulated rows): ${SIM_CSUM}`);
    if (heapPerPacket !== null) console.log(`heap growth in the steady state of a devmem MTU 1500 run: ${heapPerPacket.toFixed(3)} bytes per data packet (${heapPackets} packets between two forced GCs)`);
    for (const n of notes) console.log(`note: ${n}`);
  }
  return reports.every((r) => r.validated) ? 0 : 1;
}
