import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { runNcdevmem } from '../../src/cli/ncdevmem/index.js';
import { parseNcdevmemArgs } from '../../src/cli/ncdevmem/args.js';
import { buildEmptyQueuesBindRx, decodeReply, type RawBindResult } from '../../src/cli/ncdevmem/bind-rx-raw.js';
import type { NcdevmemEnv } from '../../src/cli/ncdevmem/env.js';
import { SimEnv } from '../../src/cli/ncdevmem/sim.js';
import { UsageError } from '../../src/cli/args.js';
import { Log } from '../../src/cli/ncdevmem/log.js';
import { doServer } from '../../src/cli/ncdevmem/server.js';
import { constants as C, NcdevmemPattern } from '../../src/index.js';
import { liveFds, runSim as run, watchEnd } from './ncdevmem-run.js';
import { ncdevmemOverVxlan } from './ncdevmem-link.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function devmem(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
}

interface Frag { page: number; inPage: number; offset: number; size: number; token: number; total: number; id: number }

function frags(lines: readonly string[]): Frag[] {
  const re = /^received frag_page=(\d+), in_page_offset=(\d+), frag_offset=(\d+), frag_size=(\d+), token=(\d+), total_received=(\d+), dmabuf_id=(\d+)$/;
  const outl: Frag[] = [];
  for (const l of lines) {
    const m = re.exec(l);
    if (m === null) continue;
    const [page, inPage, offset, size, token, total, id] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
    outl.push({ page, inPage, offset, size, token, total, id });
  }
  return outl;
}

/** ncdevmem undid its NIC setup: its rule is gone and RSS spreads over every queue again */
function assertRestored(env: SimEnv): void {
  const h = env.host;
  assert.equal(h.ethtool.ntupleRules(env.ifname).length, 0, 'ncdevmem deleted its rule');
  const nrx = h.ethtool.getChannels(env.ifname).rx;
  const indir = h.ethtool.getRss(env.ifname);
  assert.deepEqual([...new Set(indir)].sort((a, b) => a - b), Array.from({ length: nrx }, (_, i) => i), 'RSS spreads over every queue again');
}

describe('devmem ncdevmem: command line', () => {
  it('--help lists the flags and exits 0; the command list names ncdevmem', () => {
    const r = devmem(['ncdevmem', '--help']);
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['-l', '-s SERVER_IP', '-c CLIENT_IP', '-p PORT', '-v N', '-q NUM_QUEUES', '-t START_QUEUE', '-f IFNAME', '-z BYTES', '--link', '--addr', '--sim-bytes', '--sim-fault']) {
      assert.ok(r.stdout.includes(f), `help mentions ${f}`);
    }
    assert.match(devmem(['--help']).stdout, /ncdevmem/);
  });

  const mistakes: string[][] = [
    ['-x', '-f', 'eth0'],
    ['-f'],
    ['-l', '-s', '10.0.0.2', '-p', '5201'],
    ['-f', 'eth0', '-p', 'abc', '-s', '10.0.0.2', '-l'],
    ['-f', 'eth0', '-p', '70000', '-s', '10.0.0.2', '-l'],
    ['-f', 'eth0', '-v', '1'],
    ['-f', 'eth0', '-v', '300'],
    ['-f', 'eth0', '-t', '1'],
    ['-f', 'eth0', '-q', '-1'],
    ['-f', 'eth0', '-s', '10.0.0.2', '-l'],
    ['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '--sim-bytes', '1K'],
    ['-f', 'eth0', '-c', '10.0.0.1', '-p', '5201', '-l'],
    ['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-l', '-t', '3'],
    ['-f', 'eth0', '-s', 'not-an-ip', '-p', '5201', '-l'],
    ['-f', 'eth0', '-s', '10.0.0.2', '-c', 'fd00::1', '-p', '5201', '-l'],
    ['-f', 'eth0', '-s', '0.0.0.0', '-p', '5201', '-l'],
    ['-f', 'eth0', '-s', '10.0.0.2', '-c', '10.0.0.2', '-p', '5201', '-l'],
    ['-f', 'eth0', '--sim-fault', 'gremlins'],
    ['-f', 'eth0', '--sim-bytes', '0'],
    ['-f', 'eth0', '--addr', '10.0.0.2/24'],
    ['-f', 'eth0', '--link', 'vxlan:local=127.0.0.1:1,remote=127.0.0.1:2,vni=1', '--sim-bytes', '1M'],
    ['-f', 'eth0', '--link', 'vxlan:local=127.0.0.1:1,remote=127.0.0.1:2,vni=1', '--link', 'tap:x'],
    ['-f', 'eth0', '--link', 'carrier-pigeon:1'],
    ['-f', 'eth0', 'extra'],
    ['-f', 'eth0', '--bogus'],
    ['-f', 'eth0', '--help=yes'],
    ['-f', 'bad name!'],
  ];
  it('every mistake is a UsageError with a one-line message, before anything is printed', async () => {
    for (const args of mistakes) {
      let printed = '';
      const sink = { stdout: (t: string) => (printed += t), stderr: (t: string) => (printed += t) };
      await assert.rejects(runNcdevmem(args, sink), (e: unknown) => {
        assert.ok(e instanceof UsageError, `${args.join(' ')}: ${String(e)}`);
        assert.ok(e.message.length > 0 && !e.message.includes('\n'), e.message);
        return true;
      });
      assert.equal(printed, '', args.join(' '));
    }
  });

  for (const args of [mistakes[0]!, mistakes[2]!, mistakes[9]!, mistakes[15]!]) {
    it(`mistake 'ncdevmem ${args.join(' ')}' from the shell: one line on stderr, nothing on stdout, exit 2`, () => {
      const r = devmem(['ncdevmem', ...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^devmem: /);
      assert.equal(r.stdout, '');
    });
  }

  it('getopt rules: clusters, attached values, the last of a repeated option wins, long options with =', () => {
    const o = parseNcdevmemArgs(['-lp5201', '-v', '9', '-v7', '-feth3', '-s', '10.1.2.3', '-t', '2', '-q1', '--sim-bytes=4K', '--seed', '5']);
    assert.equal(o.listen, true);
    assert.equal(o.port, 5201);
    assert.equal(o.validation, 7);
    assert.equal(o.ifname, 'eth3');
    assert.equal(o.serverIp, '10.1.2.3');
    assert.equal(o.startQueue, 2);
    assert.equal(o.numQueues, 1);
    assert.equal(o.sim.bytes, 4096);
    assert.equal(o.seed, 5);
    assert.equal(parseNcdevmemArgs(['-f', 'eth0', '-z', '3']).maxChunk, 3);
    const d = parseNcdevmemArgs(['-f', 'eth0']);
    assert.equal(d.listen, false);
    assert.equal(d.startQueue, -1);
    assert.equal(d.numQueues, -1);
    assert.equal(d.validation, 0);
  });
});

describe('devmem ncdevmem: the negative tests (neither -s nor -c)', () => {
  it('`devmem ncdevmem -f eth0` runs them and exits 0', () => {
    const r = devmem(['ncdevmem', '-f', 'eth0']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    // in the tool's order: RSS, HDS on, empty queues refused, HDS default, refused, HDS on, bound, channels refused
    const want = [
      /^Running: ethtool -X eth0 equal 2$/,
      /^TCP header split: on$/,
      /^YNL failed: Kernel error: missing attribute: \.queues\.id$/,
      /^TCP header split: auto$/,
      /^YNL failed: Kernel error: 'tcp-data-split is disabled'$/,
      /^TCP header split: on$/,
      /^got dmabuf id=\d+$/,
      /^setting channel count rx:2 tx:2$/,
      /^YNL set channels: /,
      /^ncdevmem: ok$/,
    ];
    let at = 0;
    for (const l of lines) if (at < want.length && want[at]!.test(l)) at++;
    assert.equal(at, want.length, `steps in order; stopped before ${String(want[at])}\n${r.stderr}`);
  });

  it('leaves the NIC as it found it: nothing bound, no fd open, RSS and header split back, queue count unchanged', async () => {
    const r = await run(['-f', 'eth0']);
    assert.equal(r.code, 0, r.err);
    const h = r.env.host;
    assert.equal(r.atEnd.bindings, 0);
    assert.equal(r.atEnd.fds, 0);
    assert.equal(h.ethtool.getChannels('eth0').rx, 4);
    assert.equal(h.ethtool.getRings('eth0').tcpDataSplit, 'unknown');
    assertRestored(r.env);
  });

  it('explicit -t/-q: bound queues 1..2 of 4 pass; a range past the last queue fails the "must succeed" bind (exit 1)', async () => {
    const ok = await run(['-f', 'eth0', '-t', '1', '-q', '2']);
    assert.equal(ok.code, 0, ok.err);
    assert.ok(ok.lines.includes('setting channel count rx:2 tx:2'));
    const bad = await run(['-f', 'eth0', '-t', '3', '-q', '2']);
    assert.equal(bad.code, 1);
    assert.equal(bad.lines.filter((l) => l.startsWith('ncdevmem: ')).at(-1), 'ncdevmem: Failed to bind');
    assert.equal(bad.atEnd.bindings, 0);
    assert.equal(bad.atEnd.fds, 0);
  });

  it('a NIC with one rx queue: "number of device queues is too low", exit 1', async () => {
    const r = await run(['-f', 'eth0', '--queues', '1']);
    assert.equal(r.code, 1);
    assert.ok(r.lines.includes('ncdevmem: number of device queues is too low'), r.err);
  });
});

describe('devmem ncdevmem -l: devmem receive from the simulated peer', () => {
  it('-v 7, 256 KiB over IPv4 with a 5-tuple: every frag on the bound dmabuf, validated on the device, every token returned, host read 0 bytes', async () => {
    const size = 256 * 1024;
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-c', '10.0.0.1', '-p', '5201', '-v', '7', '--sim-bytes', '256K']);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.lines.includes('Running: ethtool -N eth0 flow-type tcp4 src-ip 10.0.0.1 dst-ip 10.0.0.2 src-port 5201 dst-port 5201 queue 3'));
    assert.ok(r.lines.includes('Running: ethtool -X eth0 equal 3'));
    assert.ok(r.lines.includes('Waiting or connection on ::ffff:10.0.0.2:5201'));
    assert.ok(r.lines.includes('Got connection from ::ffff:10.0.0.1:5201'), 'the peer came from -c and -p, like socat in check_rx');
    const id = Number(/^got dmabuf id=(\d+)$/m.exec(r.err)![1]);
    const fs = frags(r.lines);
    assert.ok(fs.length > 100, `${fs.length} frags`);
    let total = 0;
    const tokens = new Set<number>();
    for (const f of fs) {
      assert.equal(f.id, id);
      assert.equal(f.page, Math.floor(f.offset / 4096));
      assert.equal(f.inPage, f.offset % 4096);
      assert.ok(f.size > 0 && f.size <= 4096);
      total += f.size;
      assert.equal(f.total, total);
      tokens.add(f.token);
    }
    assert.equal(total, size);
    // each token went back before the next recvmsg: the token space stays small
    assert.ok(tokens.size < fs.length);
    assert.equal(r.out, 'Validated buffer\n'.repeat(fs.length));
    assert.ok(r.lines.includes('ncdevmem: client exited'));
    assert.ok(r.lines.includes(`page_aligned_frags=${fs.filter((f) => f.size === 4096).length}, non_page_aligned_frags=${fs.filter((f) => f.size !== 4096).length}`));
    assert.ok(r.lines.includes(`summary: received ${size} bytes (${size} in device memory, 0 linear), tokens issued ${fs.length}, returned ${fs.length}, host bytes read 0 (the stack: 0)`), r.err);
    assert.equal(r.env.peerSent, size);
    assert.equal(r.env.peerError, null);
    const h = r.env.host;
    assert.equal(r.atEnd.bindings, 0);
    assert.equal(r.atEnd.fds, 0, 'sockets, netlink and dma-buf fds all closed');
    assert.equal(h.ethtool.getRings('eth0').tcpDataSplit, 'unknown');
    assertRestored(r.env);
    // cleanup order as the tool's: rule deleted, then RSS reset
    const del = r.lines.indexOf('Running: ethtool -N eth0 delete 0');
    assert.ok(del > 0 && r.lines.indexOf('Running: ethtool -X eth0 default') > del);
  });

  it('IPv6 without -c: a 3-tuple tcp6 rule, the default queue (the last), MTU 9000, -v 8', async () => {
    const r = await run(['-l', '-f', 'eth1', '-s', 'fd00::2', '-p', '7000', '-v', '8', '--sim-bytes', '100K', '--sim-mtu', '9000', '--queues', '8']);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.lines.includes('using queues 7..8'));
    assert.ok(r.lines.includes('Running: ethtool -N eth1 flow-type tcp6 dst-ip fd00::2 dst-port 7000 queue 7'));
    assert.ok(r.lines.includes('Waiting or connection on fd00::2:7000'));
    assert.ok(r.lines.some((l) => /^Got connection from fd00::1:\d+$/.test(l)));
    assert.equal(frags(r.lines).reduce((s, f) => s + f.size, 0), 100 * 1024);
    assert.ok(r.lines.some((l) => l.startsWith('summary: received 102400 bytes') && l.endsWith('host bytes read 0 (the stack: 0)')));
    assertRestored(r.env);
  });

  it('-t/-q bind two queues; the rule steers to the first', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '192.168.7.9', '-p', '5201', '-v', '7', '-t', '1', '-q', '2', '--sim-bytes', '8K']);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.lines.includes('Running: ethtool -X eth0 equal 1'));
    assert.ok(r.lines.includes('Running: ethtool -N eth0 flow-type tcp4 dst-ip 192.168.7.9 dst-port 5201 queue 1'));
    assert.equal(frags(r.lines).reduce((s, f) => s + f.size, 0), 8192);
  });

  it('without -v the bytes are copied out of device memory and printed (a counted host read)', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '--sim-bytes', '3000']);
    assert.equal(r.code, 0, r.err);
    const want = new Uint8Array(3000);
    new NcdevmemPattern(7).generate(want, 0, 3000);
    assert.equal(r.out, Buffer.from(want).toString('latin1'));
    assert.ok(r.lines.some((l) => l.endsWith('host bytes read 3000 (the stack: 0)')), r.err);
  });

  it('-s written v4-mapped (::ffff:a.b.c.d) is IPv4: a tcp4 rule on the plain address', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '::ffff:10.0.0.2', '-p', '5201', '-v', '7']);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.lines.includes('Running: ethtool -N eth0 flow-type tcp4 dst-ip 10.0.0.2 dst-port 5201 queue 3'), r.err);
    assert.ok(r.lines.includes('Waiting or connection on ::ffff:10.0.0.2:5201'));
  });

  it('--json: stdout is one object with the run\'s counts (the tool\'s stdout lines left out); a failed validation shows in it', async () => {
    const ok = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '--sim-bytes', '20K', '--json']);
    assert.equal(ok.code, 0, ok.err);
    const j = JSON.parse(ok.out) as Record<string, unknown>;
    const fs = frags(ok.lines);
    assert.deepEqual(j, {
      mode: 'server', exitCode: 0, ifname: 'eth0', startQueue: 3, numQueues: 1, bindingId: fs[0]!.id, bytes: 20480, dmabufBytes: 20480,
      linearBytes: 0, tokensIssued: fs.length, tokensReturned: fs.length, pageAlignedFrags: fs.filter((f) => f.size === 4096).length,
      nonPageAlignedFrags: fs.filter((f) => f.size !== 4096).length, validation: 7, validated: true, mismatches: 0, hostBytesRead: 0, peerError: null,
    });
    const bad = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '8', '--sim-period', '7', '--sim-bytes', '4K', '--json']);
    assert.equal(bad.code, 1);
    const b = JSON.parse(bad.out) as Record<string, unknown>;
    assert.equal(b.validated, false);
    assert.ok((b.mismatches as number) > 20);
    const neg = await run(['-f', 'eth0', '--json']);
    assert.deepEqual(JSON.parse(neg.out), { mode: 'negative', exitCode: 0, ifname: 'eth0', startQueue: 2, numQueues: 2 });
  });

  it('the same seed twice gives the same output, line for line', async () => {
    const args = ['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '--sim-bytes', '32K', '--seed', '3'];
    const a = await run(args);
    const b = await run(args);
    assert.equal(a.code, 0);
    assert.equal(a.err, b.err);
  });
});

describe('devmem ncdevmem -l: failures', () => {
  it('a flow that lands on another tenant\'s dma-buf: "received on wrong dmabuf_id: flow steering error", exit 1, own setup undone', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '--sim-fault', 'wrong-dmabuf']);
    assert.equal(r.code, 1);
    const id = Number(/^got dmabuf id=(\d+)$/m.exec(r.err)![1]);
    const fs = frags(r.lines);
    assert.equal(fs.length, 1, 'fails on the first foreign piece');
    assert.notEqual(fs[0]!.id, id);
    const i = r.lines.indexOf('ncdevmem: received on wrong dmabuf_id: flow steering error');
    assert.ok(i > 0, r.err);
    assert.ok(!r.lines.includes('ncdevmem: ok'));
    assert.equal(r.out, '', 'nothing validated');
    const h = r.env.host;
    // only the tenant's rule and binding remain
    assert.deepEqual(h.ethtool.ntupleRules('eth0').map((x) => x.loc), [0]);
    assert.ok(r.lines.includes('Running: ethtool -N eth0 delete 1'));
    assert.equal(r.atEnd.bindings, 1, 'only the tenant\'s binding is left');
    assert.equal(r.atEnd.fds, 2, 'only the tenant\'s dma-buf and netlink fds are open');
    assert.equal(h.kernel.bindings.size, 0, 'the tenant\'s netlink socket closed with the env');
  });

  it('data without devmem cmsgs (the flow steered to an ordinary queue): "flow steering error", exit 1', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '--sim-fault', 'wrong-queue', '--sim-bytes', '64K']);
    assert.equal(r.code, 1);
    assert.equal(frags(r.lines).length, 0);
    assert.ok(r.lines.some((l) => /^recvmsg ret=\d+$/.test(l) && l !== 'recvmsg ret=0'));
    assert.equal(r.lines.filter((l) => l.startsWith('ncdevmem: ')).at(-1), 'ncdevmem: flow steering error');
    assert.equal(r.atEnd.bindings, 0);
    assert.equal(r.atEnd.fds, 0);
    assert.deepEqual(r.env.host.ethtool.ntupleRules('eth0').map((x) => x.loc), [0], 'only the tenant\'s rule is left');
  });

  it('bytes that do not follow the -v pattern: "Failed validation" lines, then "validation failed", exit 1', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '8', '--sim-period', '7', '--sim-bytes', '16K']);
    assert.equal(r.code, 1);
    assert.ok(r.lines.some((l) => /^Failed validation: \d+ byte\(s\) differ from the pattern, first at stream offset 6$/.test(l)), r.err);
    assert.ok(r.lines.includes('ncdevmem: validation failed'));
    assert.equal(r.atEnd.bindings, 0);
  });

  it('a start queue past the NIC\'s queues: RSS refuses it, "Failed to configure rss", exit 1, header split restored', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-t', '9', '-q', '1']);
    assert.equal(r.code, 1);
    assert.ok(r.lines.includes('ncdevmem: Failed to configure rss'), r.err);
    assert.equal(r.env.host.ethtool.getRings('eth0').tcpDataSplit, 'unknown');
    assert.equal(r.atEnd.fds, 0);
  });

  it('a bound queue range past the last queue: the bind fails with the kernel\'s extack, exit 1, rule and RSS undone', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-t', '3', '-q', '2']);
    assert.equal(r.code, 1);
    assert.ok(r.lines.some((l) => l.startsWith('netdev_bind_rx: ')), r.err);
    assert.ok(r.lines.includes('ncdevmem: Failed to bind'));
    assertRestored(r.env);
    assert.equal(r.atEnd.bindings, 0);
  });
});

describe('devmem ncdevmem: the raw bind-rx with empty queue entries', () => {
  it('is byte-exact: nlmsghdr, genlmsghdr, ifindex, fd, then one empty NLA_F_NESTED queues nest per entry', () => {
    const b = buildEmptyQueuesBindRx(0x14, 2, 7, 2);
    assert.deepEqual([...b], [
      44, 0, 0, 0, 0x14, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0,
      13, 1, 0, 0,
      8, 0, 1, 0, 2, 0, 0, 0,
      8, 0, 3, 0, 7, 0, 0, 0,
      4, 0, 2, 0x80,
      4, 0, 2, 0x80,
    ]);
  });

  it('decodes an error ack with extack TLVs; stops on garbage without throwing', () => {
    // NLMSG_ERROR, capped, with TLVs: error -22, echoed header, MSG "bad", MISS_TYPE 1, MISS_NEST 36
    const msg = 'bad\0';
    const len = 16 + 4 + 16 + (4 + 4) + 8 + 8;
    const d = new Uint8Array(len);
    const dv = new DataView(d.buffer);
    dv.setUint32(0, len, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 0x300, true);
    dv.setInt32(16, -22, true);
    dv.setUint32(20, 44, true);
    let p = 36;
    dv.setUint16(p, 8, true);
    dv.setUint16(p + 2, 1, true);
    d.set(new TextEncoder().encode(msg), p + 4);
    p += 8;
    dv.setUint16(p, 8, true);
    dv.setUint16(p + 2, 5, true);
    dv.setUint32(p + 4, 1, true);
    p += 8;
    dv.setUint16(p, 8, true);
    dv.setUint16(p + 2, 6, true);
    dv.setUint32(p + 4, 36, true);
    const out: RawBindResult = { errno: 0 };
    assert.equal(decodeReply(d, 0x14, out), true);
    assert.deepEqual(out, { errno: 22, msg: 'bad', missingAttr: 1, missingNest: 36 });
    // truncated, zero-length and overlong messages: no answer, no exception
    for (const junk of [d.subarray(0, 10), new Uint8Array(16), (() => {
      const j = new Uint8Array(20);
      new DataView(j.buffer).setUint32(0, 4000, true);
      return j;
    })()]) {
      const o: RawBindResult = { errno: 0 };
      assert.equal(decodeReply(junk, 0x14, o), false);
    }
  });
});

describe('devmem ncdevmem: edges', () => {
  it('a NIC that splits at a fixed offset leaves payload in the head: SCM_DEVMEM_LINEAR pieces, validated in stream order with the frags', async () => {
    let out = '';
    let err = '';
    const seen: { env: NcdevmemEnv | null } = { env: null };
    const args = ['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '--sim-bytes', '64K'];
    const atEnd = { fds: -1, bindings: -1 };
    const code = await runNcdevmem(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) }, (e) => {
      seen.env = e;
      watchEnd(e, atEnd);
      // headers are 14 + 20 + 32 bytes; split 100 bytes further on
      e.host.ethtool.setRings('eth0', { hdsFixedSplit: 166 });
    });
    assert.equal(code, 0, err);
    const lines = err.split('\n');
    const linear = lines.filter((l) => l.startsWith('SCM_DEVMEM_LINEAR. dmabuf_cmsg->frag_size='));
    assert.ok(linear.length > 10, `${linear.length} linear pieces`);
    const linBytes = linear.reduce((s, l) => s + Number(l.split('=')[1]), 0);
    const dmaBytes = frags(lines).reduce((s, f) => s + f.size, 0);
    assert.equal(linBytes + dmaBytes, 64 * 1024);
    assert.ok(lines.includes(`summary: received ${64 * 1024} bytes (${dmaBytes} in device memory, ${linBytes} linear), tokens issued ${frags(lines).length}, returned ${frags(lines).length}, host bytes read 0 (the stack: 0)`), err);
    assert.ok(!err.includes('Failed validation'));
    assert.equal(out, 'Validated buffer\n'.repeat(linear.length + frags(lines).length));
    assert.deepEqual(atEnd, { fds: 0, bindings: 0 });
    assert.ok(seen.env !== null);
  });

  it('a peer that gives up before connecting ends the wait for accept: "Failed to accept", exit 1, setup undone', async () => {
    const sim = new SimEnv({ ifname: 'eth0', server: { family: 4, addr: '10.0.0.2' }, client: null, port: 5201, period: 7 },
      { bytes: 1, fault: 'none', queues: 4, mtu: 1500, seed: 1 }, new Log({ stdout: () => {}, stderr: () => {} }));
    let err = '';
    const log = new Log({ stdout: () => {}, stderr: (t) => (err += t) });
    const env: NcdevmemEnv = {
      host: sim.host, ifname: 'eth0', peerError: 'connect: ECONNREFUSED',
      prepare: () => Promise.resolve(),
      peerStart: () => {},
      peerGaveUp: () => Promise.resolve('connect: ECONNREFUSED'),
      close: () => sim.close(),
    };
    const r = await doServer(env, { serverIp: '10.0.0.2', family: 4, clientIp: null, port: 5201, validation: 7, startQueue: 3, numQueues: 1 }, log);
    log.flush();
    assert.equal(r.exitCode, 1);
    assert.match(err, /^ncdevmem: Failed to accept: the peer gave up: connect: ECONNREFUSED$/m);
    assert.equal(liveFds(sim.host), 0);
    assert.equal(sim.host.kernel.bindings.size, 0);
    assert.equal(sim.host.ethtool.ntupleRules('eth0').length, 0);
    await env.close();
  });
});

describe('devmem ncdevmem --link: over a real VXLAN link (UDP on loopback)', () => {
  it('check_rx as devmem.py runs it: our peer stack sends the pattern from -c:-p, ncdevmem -v 7 validates on the device and exits 0', { timeout: 60_000 }, async () => {
    const srv = await ncdevmemOverVxlan(['-l', '-f', 'eth0', '-s', '10.9.0.2', '-c', '10.9.0.1', '-p', '5201', '-v', '7'], 42, 11, 12);
    try {
      const h = srv.peer;
      const s = h.socket(C.AF_INET, C.SOCK_STREAM);
      s.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
      s.bind('10.9.0.1', 5201);
      await s.connect('10.9.0.2', 5201);
      const size = 256 * 1024;
      const buf = new Uint8Array(size);
      new NcdevmemPattern(7).generate(buf, 0, size);
      await s.send(buf);
      s.close();
      const code = await srv.exited;
      assert.equal(code, 0, srv.err);
      const lines = srv.err.split('\n');
      const fs = frags(lines);
      assert.equal(fs.reduce((n, f) => n + f.size, 0), size);
      assert.ok(lines.includes('Got connection from ::ffff:10.9.0.1:5201'));
      assert.ok(lines.includes(`summary: received ${size} bytes (${size} in device memory, 0 linear), tokens issued ${fs.length}, returned ${fs.length}, host bytes read 0 (the stack: 0)`), srv.err);
      assert.equal(srv.out, 'Validated buffer\n'.repeat(fs.length));
    } finally {
      await srv.close();
    }
  });

  it('a bad --link spec is a usage error (exit 2, one line); a port already in use fails the run (exit 1)', async () => {
    const bad = devmem(['ncdevmem', '-l', '-f', 'eth0', '-s', '10.9.0.2', '-p', '5201', '--link', 'vxlan:local=127.0.0.1:1']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    try {
      const r = devmem(['ncdevmem', '-l', '-f', 'eth0', '-s', '10.9.0.2', '-p', '5201', '--link', `vxlan:local=127.0.0.1:${s.address().port},remote=127.0.0.1:9,vni=1`]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /EADDRINUSE|in use/i);
    } finally {
      s.close();
    }
  });
});
