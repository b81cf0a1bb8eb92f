#!/usr/bin/env node
/**
 * The `devmem` command: `demo` (the main job: a devmem TCP transfer between two simulated hosts,
 * validated on the device) and `bench` (throughput table against Node's own `net` over the
 * kernel's loopback). Mistakes on the command line print one line and exit with status 2.
 */
import { parseArgs } from 'node:util';
import { runBench } from './bench.js';
import { DEFAULT_TRANSFER, runTransfer, type TransferResult } from './transfer.js';
import { UsageError, fmtBytes, parseNumber, parseSize } from './args.js';

const USAGE = `usage: devmem <command> [options]

commands:
  demo     host A sends the ncdevmem pattern to host B, whose flow is steered to an rx queue
           bound to device memory; B receives with MSG_SOCK_DEVMEM, validates on the device and
           returns the tokens (the main job)
  bench    bulk TCP throughput: devmem and copy modes at MTU 1500 and 65535, next to Node's
           own net over the kernel's loopback

run 'devmem <command> --help' for the command's options`;

const DEMO_USAGE = `usage: devmem demo [options]

  --size N         bytes to send, with K/M/G suffixes (default 256M)
  --mtu N          link MTU, 68..65535 (default 1500)
  --loss P         packet loss probability on the wire, 0..1 (default 0)
  --seed N         seed for every random choice (default 1)
  --pcap FILE      write a capture (devmem payload frames: headers only, as tcpdump sees them)
  --mode M         devmem | copy (default devmem)
  --ipv6           run the transfer over IPv6 (fd00::1 → fd00::2, AF_INET6 sockets, a tcp6 rule)
  --gbps N         link rate (default 100)
  --delay-us N     one-way propagation delay in µs (default 5)
  --queues N       rx queues per NIC; the last one is bound to device memory (default 4)
  --dmabuf-size N  device memory bound to the queue (default 64M)
  --period N       ncdevmem pattern period, like ncdevmem -v N (default 7)
  --json           print one JSON object instead of the summary
  --quiet          no progress line
  -h, --help       this help`;

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '256M' },
      mtu: { type: 'string', default: '1500' },
      loss: { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      pcap: { type: 'string' },
      mode: { type: 'string', default: 'devmem' },
      ipv6: { type: 'boolean', default: false },
      gbps: { type: 'string', default: '100' },
      'delay-us': { type: 'string', default: '5' },
      queues: { type: 'string', default: '4' },
      'dmabuf-size': { type: 'string', default: '64M' },
      period: { type: 'string', default: '7' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const mode = values.mode;
  if (mode !== 'devmem' && mode !== 'copy') throw new UsageError(`--mode: expected devmem or copy, got '${mode}'`);
  const size = parseSize(values.size, '--size');
  const opts = {
    ...DEFAULT_TRANSFER,
    size,
    mode: mode as 'devmem' | 'copy',
    ipv6: values.ipv6,
    mtu: parseNumber(values.mtu, '--mtu', 576, 65535, true),
    loss: parseNumber(values.loss, '--loss', 0, 0.5, false),
    seed: parseNumber(values.seed, '--seed', 0, 0xffffffff, true),
    gbps: parseNumber(values.gbps, '--gbps', 0.001, 10000, false),
    delayUs: parseNumber(values['delay-us'], '--delay-us', 0, 10_000_000, false),
    rxQueues: parseNumber(values.queues, '--queues', 2, 64, true),
    dmabufSize: parseSize(values['dmabuf-size'], '--dmabuf-size'),
    period: parseNumber(values.period, '--period', 2, 256, true),
    pcap: values.pcap,
  };
  const progress = !values.quiet && process.stderr.isTTY === true;
  const t0 = Date.now();
  let last = 0;
  const r = await runTransfer({
    ...opts,
    onProgress: progress
      ? (bytes) => {
          const now = Date.now();
          if (now - last < 200 && bytes < size) return;
          last = now;
          const secs = (now - t0) / 1000;
          const pct = ((bytes / size) * 100).toFixed(0);
          process.stderr.write(`\r  ${fmtBytes(bytes)} / ${fmtBytes(size)} (${pct}%)  ${((bytes * 8) / Math.max(secs, 1e-3) / 1e9).toFixed(2)} Gbit/s  `);
        }
      : undefined,
  });
  if (progress) process.stderr.write('\r\x1b[K');
  if (values.json) console.log(JSON.stringify(r));
  else printSummary(r);
  return r.validated && r.tokensIssued === r.tokensReturned && r.hostPayloadBytesRead === 0 ? 0 : 1;
}

function printSummary(r: TransferResult): void {
  const lines = [
    `devmem demo: ${fmtBytes(r.bytes)} over TCP, MTU ${r.mtu}, loss ${r.loss}, seed ${r.seed}, mode ${r.mode}`,
    `  validated            ${r.validated ? 'yes' : 'NO'} (${r.mismatches} mismatching bytes, ${r.steeringErrors} steering errors)`,
    `  binding id           ${r.bindingId}`,
    `  device-memory bytes  ${r.dmabufBytes}   linear bytes ${r.linearBytes}`,
    `  tokens               issued ${r.tokensIssued}, returned ${r.tokensReturned}, most held at once ${r.tokensHighWater}`,
    `  host payload read    ${r.hostPayloadBytesRead} bytes`,
    `  time                 ${r.virtualSeconds.toFixed(4)} s virtual, ${r.wallSeconds.toFixed(2)} s wall`,
    `  goodput              ${r.gbps.toFixed(2)} Gbit/s wall-clock, ${r.virtualGbps.toFixed(2)} Gbit/s virtual`,
    `  TCP                  ${r.packets.dataSegsOut} data segments, ${r.packets.retransSegs} retransmitted (${r.packets.fastRetrans} fast, ${r.packets.timeouts} RTO); wire lost ${r.packets.wireLost} of ${r.packets.wireFrames}`,
    `  rx queue             ${r.rxQueue.rxPackets} packets, rx-alloc-fail ${r.rxQueue.rxAllocFail}, csum ok ${r.rxQueue.rxCsumUnnecessary}, csum bad ${r.rxQueue.rxCsumBad}`,
    `  page pool            alloc fast ${r.pagePool.allocFast}, slow ${r.pagePool.allocSlow}, empty ${r.pagePool.allocEmpty}, refill ${r.pagePool.allocRefill}; recycle ring ${r.pagePool.recycleRing}, cached ${r.pagePool.recycleCached}`,
  ];
  console.log(lines.join('\n'));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    console.log(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  switch (cmd) {
    case 'demo':
      return demo(rest);
    case 'bench':
      return runBench(rest);
    default:
      throw new UsageError(`unknown command '${cmd}' (try 'devmem --help')`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    const usage = err instanceof UsageError || (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'));
    console.error(`devmem: ${msg}`);
    process.exitCode = usage ? 2 : 1;
  },
);

