#!/usr/bin/env node
/**
 * The `devmem` command: `demo` (the main job: a devmem TCP transfer between two simulated hosts,
 * validated on the device), `bench`, `ncdevmem`, `conformance`, `help CMD`, `--version`.
 * Exit status: 0 success; 1 a run that failed (validation, a stall, an error), with a one-line
 * diagnosis on stderr; 2 a mistake on the command line, with one line on stderr.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { runBench } from './bench.js';
import { runNcdevmem } from './ncdevmem/index.js';
import { runConformanceCli } from './conformance.js';
import { DEFAULT_TRANSFER, runTransfer, type TransferResult } from './transfer.js';
import { UsageError, fmtBytes } from './args.js';
import { HELP_WIDTH, formatHelp, parseOptions, wrap } from './options/table.js';
import { DEMO_COMMAND } from './demo/options.js';
import { demoReport, openReport, shellWord } from './report/index.js';

/** the package's version, read from its package.json (dist/src/cli/main.js → ../../../) */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(pkg.version);
}

async function demo(argv: string[]): Promise<number> {
  const v = parseOptions(DEMO_COMMAND, argv);
  if (v.flag('help')) {
    console.log(formatHelp(DEMO_COMMAND));
    return 0;
  }
  const ipv6 = v.flag('ipv6');
  const mtu = v.num('mtu');
  if (ipv6 && mtu < 1280) throw new UsageError(`--mtu: IPv6 needs 1280..65535, got '${mtu}'`);
  const size = v.num('size');
  const opts = {
    ...DEFAULT_TRANSFER,
    size,
    mode: v.str('mode') as 'devmem' | 'copy',
    ipv6,
    mtu,
    loss: v.num('loss'),
    duplicate: v.num('duplicate'),
    reorder: v.num('reorder'),
    corrupt: v.num('corrupt'),
    seed: v.num('seed'),
    gbps: v.num('rate'),
    delayUs: v.num('delay'),
    rxQueues: v.num('queues'),
    dmabufSize: v.num('dmabuf-size'),
    period: v.num('period'),
    stallUs: v.num('stall-timeout') * 1e6,
    pcap: v.str('pcap'),
  };
  const pcap = v.str('pcap');
  if (pcap !== undefined) {
    // a path that cannot be written is a bad value (exit 2), found before the run, as --report's
    try {
      closeSync(openSync(pcap, 'w'));
    } catch (e) {
      throw new UsageError(`--pcap: cannot write '${pcap}' (${e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : String(e)})`);
    }
  }
  const report = openReport(v.str('report'));
  const progress = !v.flag('quiet') && process.stderr.isTTY === true;
  const t0 = Date.now();
  let last = 0;
  const r = await runTransfer({
    ...opts,
    probe: report?.sampler,
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
  if (v.flag('json')) console.log(JSON.stringify(r));
  else printSummary(r);
  if (report !== null) {
    report.write(demoReport(opts, r, report.sampler, ['devmem', 'demo', ...argv].map(shellWord).join(' ')));
    if (!v.flag('json')) console.log(`  report               ${report.path}`);
  }
  if (r.failure !== null) {
    console.error(`devmem demo: FAILED: ${r.failure}`);
    return 1;
  }
  const ok = r.validated && r.tokensIssued === r.tokensReturned && r.hostPayloadBytesRead === 0;
  if (!ok) console.error(`devmem demo: FAILED: ${r.mismatches} mismatching bytes, ${r.steeringErrors} steering errors, ${r.tokensIssued - r.tokensReturned} tokens not returned, ${r.hostPayloadBytesRead} payload bytes read by the host`);
  return ok ? 0 : 1;
}

function printSummary(r: TransferResult): void {
  const lines = [
    `devmem demo: ${fmtBytes(r.bytes)} of ${fmtBytes(r.size)} over TCP, MTU ${r.mtu}, loss ${r.loss}, seed ${r.seed}, mode ${r.mode}`,
    `  result               ${r.failure === null ? (r.validated ? 'completed' : 'completed, NOT valid') : 'FAILED (see below)'}`,
    `  validated            ${r.validated ? 'yes' : 'NO'} (${r.mismatches} mismatching bytes, ${r.steeringErrors} steering errors)`,
    `  binding id           ${r.bindingId}`,
    `  device-memory bytes  ${r.dmabufBytes}   linear bytes ${r.linearBytes}`,
    `  tokens               issued ${r.tokensIssued}, returned ${r.tokensReturned}, most held at once ${r.tokensHighWater}`,
    `  host payload read    ${r.hostPayloadBytesRead} bytes (${r.hostVisiblePayloadBytes} through the stack: DMA reads, copies)`,
    `  time                 ${r.virtualSeconds.toFixed(4)} s virtual, ${r.wallSeconds.toFixed(2)} s wall`,
    `  goodput              ${r.gbps.toFixed(2)} Gbit/s wall-clock, ${r.virtualGbps.toFixed(2)} Gbit/s virtual`,
    `  TCP                  ${r.packets.dataSegsOut} data segments, ${r.packets.retransSegs} retransmitted (${r.packets.fastRetrans} fast, ${r.packets.timeouts} RTO); wire lost ${r.packets.wireLost} of ${r.packets.wireFrames}`,
    `  rx queue             ${r.rxQueue.rxPackets} packets, rx-alloc-fail ${r.rxQueue.rxAllocFail}, csum ok ${r.rxQueue.rxCsumUnnecessary}, csum bad ${r.rxQueue.rxCsumBad}`,
    `  page pool            alloc fast ${r.pagePool.allocFast}, slow ${r.pagePool.allocSlow}, empty ${r.pagePool.allocEmpty}, refill ${r.pagePool.allocRefill}; recycle ring ${r.pagePool.recycleRing}, cached ${r.pagePool.recycleCached}`,
  ];
  console.log(lines.join('\n'));
}

/**
 * The commands: the dispatcher and the top-level help are both generated from this table, so a
 * command is listed exactly when it runs. Each command parses its own arguments from its own
 * option table (demo/options.ts, options/bench.ts, options/conformance.ts, ncdevmem/args.ts);
 * `help CMD` runs `CMD --help`.
 */
const COMMANDS: readonly { name: string; about: string; run: (argv: string[]) => Promise<number> | number }[] = [
  {
    name: 'demo',
    about: 'host A sends the ncdevmem pattern to host B, whose flow is steered to an rx queue bound to device memory; B receives with MSG_SOCK_DEVMEM, validates on the device and returns the tokens (the main job)',
    run: demo,
  },
  {
    name: 'bench',
    about: "bulk TCP throughput: devmem and copy modes at MTU 1500 and 65535, next to Node's own net over the kernel's loopback",
    run: runBench,
  },
  {
    name: 'ncdevmem',
    about: "the kernel selftest's ncdevmem (-l -s -c -p -v -q -t -f -z -b): with -l receives into device memory, without it sends stdin from device memory (devmem TX), with a simulated peer or over a real link; the negative tests when neither -s nor -c is given",
    run: (argv) => runNcdevmem(argv),
  },
  {
    name: 'conformance',
    about: 'packetdrill scripts (../shared/packetdrill or DIR) against the stack in virtual time: a line per script and a total',
    run: runConformanceCli,
  },
];

function findCommand(name: string): ((argv: string[]) => Promise<number> | number) | undefined {
  return COMMANDS.find((c) => c.name === name)?.run;
}

/** the top-level help, generated from COMMANDS */
function usage(): string {
  const rows: [string, string][] = [
    ...COMMANDS.map((c): [string, string] => [c.name, c.about]),
    ['help CMD', 'the options of CMD (the same as CMD --help)'],
  ];
  const w = Math.max(...rows.map(([l]) => l.length)) + 2;
  const body = rows.map(([l, r]) => `  ${l.padEnd(w)}${wrap(r, HELP_WIDTH - 2 - w).join(`\n  ${' '.repeat(w)}`)}`).join('\n');
  return `usage: devmem <command> [options]

commands:
${body}

  -V, --version  the package version
  -h, --help     this help

run 'devmem <command> --help' (or 'devmem help <command>') for the command's options`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help') {
    console.log(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    if (rest.length > 0) throw new UsageError(`${cmd} takes no arguments (got '${rest.join(' ')}')`);
    console.log(version());
    return 0;
  }
  if (cmd === 'help') {
    if (rest.length === 0) {
      console.log(usage());
      return 0;
    }
    const [topic, ...more] = rest;
    if (more.length > 0) throw new UsageError(`help: one command at a time (got '${rest.join(' ')}')`);
    const run = findCommand(topic!);
    if (run === undefined) throw new UsageError(`help: unknown command '${topic}' (try 'devmem --help')`);
    return run(['--help']);
  }
  const run = findCommand(cmd);
  if (run === undefined) throw new UsageError(`unknown command '${cmd}' (try 'devmem --help')`);
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // one line, whatever the error (Node's own parseArgs messages span three)
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    const usage = err instanceof UsageError || (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'));
    console.error(`devmem: ${msg}`);
    process.exitCode = usage ? 2 : 1;
  },
);

