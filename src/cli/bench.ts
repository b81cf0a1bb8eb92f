/**
 * `devmem bench`: bulk TCP in the simulated network (devmem and copy modes, MTU 1500 and 65535)
 * next to Node's own `net` over the kernel's loopback, measured in the same run; one table of
 * Gbit/s (wall clock, one core) with ratios to the Node-`net` row, and heap growth per packet.
 * Throughput is reported, never asserted.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { DEFAULT_TRANSFER, runTransfer, type TransferResult } from './transfer.js';
import { UsageError, parseSize } from './args.js';

const USAGE = `usage: devmem bench [options]

  --size N       bytes per simulated transfer (default 1G)
  --runs N       runs per simulated row; the median is reported (default 3)
  --node-size N  bytes for the Node net baseline (default 1G)
  --json         one JSON object per row
  --quick        64M transfers, 256M baseline (for a smoke run)
  -h, --help     this help

Rows: devmem and copy mode at MTU 1500 and 65535 over a 100 Gbit/s, 5 µs simulated wire
(virtual time; throughput is wall-clock goodput of the whole simulation on one core), and Node's
net module over 127.0.0.1 (the Linux kernel's TCP, MTU 65536, GSO/GRO, checksum offload).`;

export interface BenchRow {
  name: string;
  mode: string;
  mtu: number;
  gbps: number;
  ratio: number;
  bytes: number;
  wallSeconds: number;
  checksum: string;
  copies: string;
  validated: boolean;
  heapBytesPerPacket?: number;
  packets?: number;
  runs?: number;
  minGbps?: number;
  maxGbps?: number;
}

const SIM_CSUM = 'TX: computed by the simulated NIC per frame; RX: verified by the simulated NIC per frame';

function copiesOf(mode: 'devmem' | 'copy'): string {
  return mode === 'devmem'
    ? '2: app → socket send buffer; wire frame → device memory (NIC DMA); validation runs on the device'
    : '3: app → socket send buffer; wire frame → host page (NIC DMA); host page → app buffer (recv)';
}

/** Node `net` over 127.0.0.1, both ends in this process (the anchor benchmark's method) */
function nodeNetBaseline(total: number): Promise<{ bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
    let received = 0;
    let t0 = 0n;
    const server = net.createServer((sock) => {
      sock.on('data', (buf: Buffer) => {
        received += buf.length;
        if (received >= total) {
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          sock.destroy();
          server.close();
          resolve({ bytes: received, seconds: secs });
        }
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no address'));
      const client = net.connect(addr.port, '127.0.0.1', () => {
        client.setNoDelay(true);
        t0 = process.hrtime.bigint();
        let sent = 0;
        const pump = (): void => {
          while (sent < total) {
            const n = Math.min(chunk.length, total - sent);
            sent += n;
            if (!client.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              client.once('drain', pump);
              return;
            }
          }
          client.end();
        };
        pump();
      });
      client.on('error', () => {});
    });
  });
}

function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
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
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const size = values.size ? parseSize(values.size, '--size') : values.quick ? 64 << 20 : 1 << 30;
  const runs = values.runs ? Number(values.runs) : values.quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new UsageError(`--runs: expected an integer in 1..20, got '${values.runs}'`);
  const nodeSize = values['node-size'] ? parseSize(values['node-size'], '--node-size') : values.quick ? 256 << 20 : 1 << 30;
  if (size < 1 << 20) throw new UsageError('--size: at least 1M');
  const log = (s: string): void => {
    if (!values.json) process.stderr.write(s);
  };

  log('node net over 127.0.0.1 … ');
  const base = await nodeNetBaseline(nodeSize);
  const baseGbps = (base.bytes * 8) / base.seconds / 1e9;
  log(`${baseGbps.toFixed(2)} Gbit/s\n`);

  const rows: BenchRow[] = [];
  const configs: { mode: 'devmem' | 'copy'; mtu: number }[] = [
    { mode: 'devmem', mtu: 1500 },
    { mode: 'copy', mtu: 1500 },
    { mode: 'devmem', mtu: 65535 },
    { mode: 'copy', mtu: 65535 },
  ];
  // warm-up so that JIT compilation does not count against the first row
  await runTransfer({ ...DEFAULT_TRANSFER, size: 16 << 20, mode: 'devmem', mtu: 1500 });
  await runTransfer({ ...DEFAULT_TRANSFER, size: 16 << 20, mode: 'copy', mtu: 65535 });
  for (const c of configs) {
    log(`${c.mode} MTU ${c.mtu} … `);
    const results: TransferResult[] = [];
    for (let i = 0; i < runs; i++) results.push(await runTransfer({ ...DEFAULT_TRANSFER, size, mode: c.mode, mtu: c.mtu }));
    results.sort((x, y) => x.gbps - y.gbps);
    const r = results[results.length >> 1]!;
    log(`${r.gbps.toFixed(2)} Gbit/s (median of ${runs}: ${results.map((x) => x.gbps.toFixed(2)).join(', ')})\n`);
    rows.push({
      name: `${c.mode}-mtu${c.mtu}`, mode: c.mode, mtu: c.mtu, gbps: r.gbps, ratio: r.gbps / baseGbps, bytes: r.bytes,
      wallSeconds: r.wallSeconds, checksum: SIM_CSUM, copies: copiesOf(c.mode), validated: results.every((x) => x.validated),
      packets: r.packets.dataSegsOut, runs, minGbps: results[0]!.gbps, maxGbps: results[results.length - 1]!.gbps,
    });
  }
  rows.push({
    name: 'node-net-loopback', mode: 'kernel', mtu: 65536, gbps: baseGbps, ratio: 1, bytes: base.bytes,
    wallSeconds: base.seconds, checksum: 'offloaded (loopback)', copies: '2: user → kernel skb; skb → user', validated: true,
  });

  // heap growth per packet in the steady state of a devmem run: forced GCs at two points
  // inside the transfer, growth divided by the data packets between them
  const gc = gcFn();
  const samples: { bytes: number; heap: number }[] = [];
  const heapSize = Math.min(size, 128 << 20);
  await runTransfer({
    ...DEFAULT_TRANSFER, size: heapSize, mode: 'devmem', mtu: 1500,
    onProgress: (bytes) => {
      if (bytes < 16 << 20) return;
      gc();
      samples.push({ bytes, heap: process.memoryUsage().heapUsed });
    },
  });
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const packetsBetween = Math.max(1, Math.round((last.bytes - first.bytes) / 1460));
  const perPacket = (last.heap - first.heap) / packetsBetween;
  rows[0]!.heapBytesPerPacket = perPacket;
  if (values.json) {
    for (const r of rows) console.log(JSON.stringify(r));
  } else {
    const pad = (s: string, n: number): string => s.padEnd(n);
    console.log(`\n${pad('row', 20)}${pad('MTU', 7)}${pad('Gbit/s', 9)}${pad('× node net', 12)}copies`);
    for (const r of rows) {
      console.log(`${pad(r.name, 20)}${pad(String(r.mtu), 7)}${pad(r.gbps.toFixed(2), 9)}${pad(r.ratio.toFixed(3), 12)}${r.copies}`);
    }
    console.log(`\nchecksums (simulated rows): ${SIM_CSUM}`);
    console.log(`heap growth in the steady state of a devmem MTU 1500 run: ${perPacket.toFixed(3)} bytes per data packet (${packetsBetween} packets between two forced GCs)`);
  }
  return rows.every((r) => r.validated) ? 0 : 1;
}
