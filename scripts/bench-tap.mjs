// Measurement (not a test): kernel → our stack over a TAP link. A kernel TCP sender in a
// namespace this script makes pushes BYTES to our host's listener (the whole stack: TapLink →
// FramePort → GRO → TCP → recv), per read mode and with/without vnet-hdr offloads; prints Gbit/s.
// Modes: worker | poll | worker-novnet | poll-novnet (the stack), link-worker | link-poll (the link
// alone: the tests' StubPeer ACKs every in-order segment, no stack; isolates the link's cost);
// worker-us2k | poll-us2k: the other direction, our host sends to a kernel receiver.
// Needs root, /dev/net/tun and a build (`npm run build`). Usage:
//   node scripts/bench-tap.mjs [--bytes N] [--mtu 1500] [--cc cubic|bbr|reno] [--runs worker,poll,worker-novnet] [--json] [--ss] [--recv into|recv] [--recv-size N]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { setTimeout } from 'node:timers';
import { constants as C, Network } from '../dist/src/index.js';
import { TapLink } from '../dist/src/link/tap/index.js';
import { RECEIVER_PY } from '../dist/src/cli/bench/real.js';
import { StubPeer, ipv4 } from '../dist/test/link/tap-helpers.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const BYTES = Number(opt('bytes', String(256 << 20)));
const MTU = Number(opt('mtu', '1500'));
const RUNS = opt('runs', 'link-worker,link-poll,worker,poll,worker-novnet').split(',');
const JSON_OUT = args.includes('--json');
/** the kernel sender's congestion control (this VM defaults to bbr, which paces at its RTT-based estimate) */
const CC = opt('cc', 'cubic');
/** bytes asked of each receive call */
const RECV = Number(opt('recv-size', String(1 << 16)));
/** the receive call: 'into' (recvmsgInto, one reused buffer) or 'recv' (allocates per call) */
const RECV_CALL = opt('recv', 'into');
/** print the kernel sender's `ss -tin` view (rtt, cwnd, the window we advertise) once mid-transfer */
const SS = args.includes('--ss');
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
  console.error('bench-tap: needs root and /dev/net/tun');
  process.exit(2);
}

const SENDER = `
import socket, sys
ip, port, n, cc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
chunk = bytes(range(256)) * 4096
s = socket.socket(); s.settimeout(60)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
s.connect((ip, port))
left = n
while left > 0:
    k = min(left, len(chunk)); s.sendall(chunk[:k] if k < len(chunk) else chunk); left -= k
s.shutdown(socket.SHUT_WR)
s.recv(1)
`;

// us2k modes: the kernel receives (prints 'ready', then the byte count and seconds from accept to EOF)
const RECEIVER = RECEIVER_PY;

function ip(...a) {
  return execFileSync('ip', a, { encoding: 'utf8' });
}

async function run(mode) {
  const io = mode.includes('poll') ? 'poll' : 'worker';
  const vnetHdr = !mode.endsWith('novnet');
  const tag = `${process.pid % 100000}`;
  const ns = `tapt-bench-${tag}`;
  const linkOnly = mode.startsWith('link-');
  const link = new TapLink({ name: `taptb${tag}`, io, vnetHdr, mtu: MTU });
  const net = new Network({ mode: 'real' });
  let peer = null;
  let host = null;
  if (linkOnly) {
    peer = new StubPeer(link, Uint8Array.from([2, 0, 0, 0, 0x86, 2]), ipv4('10.86.0.2'), { port: 5301, sendOnConnect: 0, gsoSize: 1448 });
    peer.verifyPattern = false;
    link.attach(peer);
  } else {
    host = net.addHost('us');
    host.addDevice('eth0', { link });
    host.ip.addAddress('eth0', '10.86.0.2/24');
  }
  ip('netns', 'add', ns);
  try {
    ip('netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    ip('link', 'set', link.name, 'netns', ns);
    ip('-n', ns, 'addr', 'add', '10.86.0.1/24', 'dev', link.name);
    ip('-n', ns, 'link', 'set', link.name, 'mtu', String(MTU), 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    let got = 0;
    let secs = 0;
    if (peer) {
      const child = spawn('ip', ['netns', 'exec', ns, PY, '-c', SENDER, '10.86.0.2', '5301', String(BYTES), CC], { stdio: 'inherit' });
      while (peer.tcpIn === 0) await sleep(1);
      const t0 = process.hrtime.bigint();
      while (!peer.tcpFinSeen) await sleep(1);
      secs = Number(process.hrtime.bigint() - t0) / 1e9;
      got = peer.tcpIn;
      await new Promise((r) => child.once('exit', r));
    } else if (mode.endsWith('us2k')) {
      const child = spawn('ip', ['netns', 'exec', ns, PY, '-c', RECEIVER, '5302'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      while (!out.includes('ready')) await sleep(5);
      const cs = host.socket(C.AF_INET, C.SOCK_STREAM);
      await cs.connect('10.86.0.1', 5302);
      const chunk = new Uint8Array(1 << 18);
      for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
      for (let left = BYTES; left > 0; left -= chunk.length) await cs.send(left >= chunk.length ? chunk : chunk.subarray(0, left));
      cs.shutdown(C.SHUT_WR);
      await new Promise((r) => child.once('exit', r));
      cs.close();
      const res = JSON.parse(out.slice(out.indexOf('{')));
      got = res.received;
      secs = res.seconds;
    } else {
      const ls = host.socket(C.AF_INET, C.SOCK_STREAM);
      ls.bind('0.0.0.0', 5301);
      ls.listen(4);
      const child = spawn('ip', ['netns', 'exec', ns, PY, '-c', SENDER, '10.86.0.2', '5301', String(BYTES), CC], { stdio: 'inherit' });
      const conn = await ls.accept();
      const t0 = process.hrtime.bigint();
      if (SS) {
        setTimeout(() => {
          const ss = spawn('ip', ['netns', 'exec', ns, 'ss', '-tin', 'dst', '10.86.0.2'], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          ss.stdout.on('data', (d) => { out += d; });
          ss.on('exit', () => console.error(`[${mode}] kernel ss:`, out.replace(/\s+/g, ' ').trim()));
        }, 300);
      }
      const into = new Uint8Array(RECV);
      for (;;) {
        // recvmsgInto: one reused buffer (what the devmem bench does); recv allocates per call
        const n = RECV_CALL === 'recv' ? (await conn.recv(RECV)).length : await conn.recvmsgInto(into, null);
        if (n === 0) break;
        got += n;
      }
      secs = Number(process.hrtime.bigint() - t0) / 1e9;
      conn.close();
      ls.close();
      await new Promise((r) => child.once('exit', r));
    }
    const st = { ...link.stats };
    const port = linkOnly ? null : net.links.find((l) => l.link === link);
    return {
      mode, mtu: MTU, cc: CC, bytes: got, secs, gbps: (got * 8) / secs / 1e9, rxFrames: st.rxFrames, rxGso: st.rxGso, txFrames: st.txFrames,
      rxBatches: st.rxBatches, polls: port?.stats.polls ?? 0, rxDirect: port?.stats.rxDirect ?? 0,
    };
  } finally {
    await net.close();
    await link.close();
    try { ip('netns', 'del', ns); } catch { /* already gone */ }
    await sleep(50);
  }
}

const rows = [];
for (const mode of RUNS) rows.push(await run(mode));
if (JSON_OUT) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log(`kernel → us over TAP, ${BYTES} bytes, MTU ${MTU}, kernel cc ${CC}`);
  console.log('mode            Gbit/s   MB/s   rx frames  (GSO)    tx frames  frames/batch  polls');
  for (const r of rows) {
    console.log(`${r.mode.padEnd(15)} ${r.gbps.toFixed(2).padStart(6)} ${(r.bytes / r.secs / 1e6).toFixed(0).padStart(6)} ${String(r.rxFrames).padStart(10)}  ${String(r.rxGso).padStart(6)}  ${String(r.txFrames).padStart(10)}  ${(r.rxFrames / Math.max(1, r.rxBatches)).toFixed(2).padStart(12)}  ${String(r.polls).padStart(5)}`);
  }
}
