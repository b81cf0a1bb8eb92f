/**
 * The bench's real-link rows (`devmem bench --real`): bulk TCP between the Linux kernel and this
 * stack over a TAP device (with vnet-hdr offloads) and over VXLAN, each way, at MTU 1500 and
 * 9000, next to kernel ↔ kernel over a veth pair measured in the same run; and ping RTTs.
 *
 * The network (built once by `RealBench.open`, removed by `close` — and by the namespace helper's
 * exit hooks if the process dies):
 *  - namespace K holds the kernel side of every link: the TAP devices (moved in), kernel vxlan
 *    devices whose UDP socket lives in K and reaches our VxlanLink in the root namespace over an
 *    underlay veth pair (a /30 in 198.19.250.0/24 picked by the process id, so that two runs at
 *    once do not collide: .1 in K, .2 in the root namespace; the remote is not a
 *    local address, so the kernel's vxlan `localbypass` never applies), and one end of two veth
 *    pairs to namespace V (the kernel ↔ kernel baseline);
 *  - one real-mode `Network` with a host per link (`tap1500`, `vx9000`, …), listening on 5201.
 * Inner addresses are 198.19.N.0/24 (RFC 2544 benchmarking space): K is .1, we / V are .2.
 *
 * A run moves `bytes` once: the kernel side is a python3 sender (sends, shuts down, waits for
 * the peer's close, prints what it sent) or receiver (prints when listening; after the peer's
 * FIN prints what it received and the seconds from accept to end of stream). Throughput is
 * always taken at the receiver, from accept to end of stream; a run is valid when both ends
 * counted `bytes`. Kernel senders use cubic (this VM's default, bbr, paces at its estimate).
 */
import { ErrnoError, Network, TapLink, VxlanLink, constants as C, type Host, type Socket } from '../../index.js';
import { IcmpEchoResponder } from './icmp-echo.js';
import { BenchNetns, python3, sh, type Started } from './netns.js';

export type RealLinkKind = 'tap' | 'vxlan' | 'veth';
/** k2us: the kernel sends to us; us2k: we send to the kernel; k2k: kernel to kernel (veth) */
export type RealDir = 'k2us' | 'us2k' | 'k2k';

export interface RealRowSpec {
  link: RealLinkKind;
  dir: RealDir;
  mtu: number;
}

export interface RealRunResult {
  bytes: number;
  seconds: number;
  validated: boolean;
  problem: string;
  /** bytes the sender counted, and the receiver */
  sent: number;
  received: number;
}

export const REAL_MTUS = [1500, 9000] as const;
const PORT = 5201;
const VXLAN_KERNEL_PORT = 4789;
const SEND_CHUNK = 256 * 1024;
const RECV_IOV = 1 << 20;
/** the underlay /30 of this process: 198.19.250.4k+1 (K) and +2 (root namespace, our VxlanLink) */
const UNDER_BASE = 4 * (process.pid % 63);
const UNDER_K = `198.19.250.${UNDER_BASE + 1}`;
const UNDER_US = `198.19.250.${UNDER_BASE + 2}`;

/** a UDP echo (python3) bound to argv[1]:argv[2]: prints 'ready', then answers every datagram */
const ECHO_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print('ready', flush=True)
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
`;

/** argv[3] UDP echoes of 56 bytes to argv[1]:argv[2], 50 ms apart (as ping -i 0.05): a JSON list of RTTs in ms */
const ECHO_CLIENT_PY = `
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
out = []
for i in range(int(sys.argv[3])):
    t = time.perf_counter()
    s.sendto(b'x' * 56, (sys.argv[1], int(sys.argv[2])))
    s.recv(2048)
    out.append((time.perf_counter() - t) * 1e3)
    time.sleep(0.05)
print(json.dumps(out), flush=True)
`;

const ECHO_PORT = 7007;

/**
 * The least a userspace VXLAN responder can do (python3, bound to argv[1]:argv[2]): prints
 * 'ready', then answers every ICMP echo request inside a VXLAN datagram in place (inner MACs and
 * IPv4 addresses swapped, type 8 → 0 with the checksum adjusted incrementally; swapping the
 * addresses leaves the IPv4 checksum valid) and sends it back to the sender's VXLAN port argv[3]
 * (a kernel vxlan device sends from a per-flow source port and listens on its dstport). No ARP:
 * the kernel side has a permanent neighbour entry. The floor under `ping-vxlan`.
 */
const VXLAN_ECHO_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print('ready', flush=True)
buf = bytearray(2048)
while True:
    n, a = s.recvfrom_into(buf)
    if n < 8 + 14 + 20 + 8 or buf[20:22] != b'\\x08\\x00':
        continue
    ip = 22
    l4 = ip + (buf[ip] & 15) * 4
    if buf[ip + 9] != 1 or buf[l4] != 8:
        continue
    buf[8:14], buf[14:20] = buf[14:20], buf[8:14]
    buf[ip + 12:ip + 16], buf[ip + 16:ip + 20] = buf[ip + 16:ip + 20], buf[ip + 12:ip + 16]
    buf[l4] = 0
    c = ((buf[l4 + 2] << 8) | buf[l4 + 3]) + 0x0800
    c = (c & 0xffff) + (c >> 16)
    buf[l4 + 2] = c >> 8
    buf[l4 + 3] = c & 255
    s.sendto(memoryview(buf)[:n], (a[0], int(sys.argv[3])))
`;
/** the floor's VXLAN: its own VNI, subnet and UDP port next to our links' */
const VXLAN_ECHO_VNI = 99;
const VXLAN_ECHO_SUBNET = 9;
const VXLAN_ECHO_PORT = 4799;
const VXLAN_ECHO_MAC = '02:00:00:00:09:02';

/** the kernel-side receiver (python3): prints 'ready', then a JSON line of bytes and seconds from accept to EOF */
export const RECEIVER_PY = `
import json, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
t0 = time.perf_counter()
buf = bytearray(1 << 20)
mv = memoryview(buf)
n = 0
while True:
    k = c.recv_into(mv)
    if k == 0:
        break
    n += k
t1 = time.perf_counter()
c.close()
print(json.dumps({'received': n, 'seconds': t1 - t0}), flush=True)
`;

const SENDER_PY = `
import json, socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
try:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'cubic')
except OSError:
    pass
s.settimeout(300)
s.connect((ip, port))
chunk = memoryview(bytes(1 << 20))
left = n
while left > 0:
    k = min(left, len(chunk))
    s.sendall(chunk[:k])
    left -= k
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print(json.dumps({'sent': n}), flush=True)
`;

/** the inner subnet of each link and MTU: 198.19.<n>.0/24 */
function subnet(link: RealLinkKind, mtu: number): number {
  const base = link === 'vxlan' ? 1 : link === 'tap' ? 3 : 5;
  return base + (mtu === 1500 ? 0 : 1);
}

export function realRowName(s: RealRowSpec): string {
  return `${s.link}-${s.dir}-mtu${s.mtu}`;
}

/** every real row, in table order */
export function realRowSpecs(): RealRowSpec[] {
  const out: RealRowSpec[] = [];
  for (const mtu of REAL_MTUS) {
    out.push({ link: 'veth', dir: 'k2k', mtu });
    for (const link of ['tap', 'vxlan'] as const) for (const dir of ['k2us', 'us2k'] as const) out.push({ link, dir, mtu });
  }
  return out;
}

function parseJsonLine(text: string, key: string): Record<string, number> | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as Record<string, number>;
      if (typeof o[key] === 'number') return o;
    } catch {
      // not ours
    }
  }
  return null;
}

/** the medianless raw RTTs (ms) from ping's output, in order */
export function parsePingRtts(out: string): number[] {
  const rtts: number[] = [];
  for (const m of out.matchAll(/time=([\d.]+) ms/g)) rtts.push(Number(m[1]));
  return rtts;
}

export class RealBench {
  private readonly ns = new BenchNetns();
  private k = '';
  private v = '';
  private net: Network | null = null;
  private readonly hosts = new Map<string, Host>();
  private readonly links = new Map<string, TapLink | VxlanLink>();
  private readonly py = python3();
  /** our sockets of the run in progress, closed when it fails */
  private readonly sockets = new Set<Socket>();

  private constructor() {}

  /** builds the namespaces, devices and our hosts; on failure removes what it made and throws */
  static async open(): Promise<RealBench> {
    const rb = new RealBench();
    try {
      await rb.build();
    } catch (e) {
      await rb.close();
      throw e;
    }
    return rb;
  }

  private async build(): Promise<void> {
    const ns = this.ns;
    this.k = ns.addNetns('k');
    this.v = ns.addNetns('v');
    const k = this.k;
    const net = new Network({ mode: 'real' });
    this.net = net;
    // kernel ↔ kernel veth pairs (K .1, V .2)
    for (const mtu of REAL_MTUS) {
      const n = subnet('veth', mtu);
      const a = ns.devName(`e${mtu === 1500 ? 1 : 9}`);
      const b = ns.devName(`f${mtu === 1500 ? 1 : 9}`);
      sh(['ip', 'link', 'add', a, 'netns', k, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', b, 'netns', this.v, 'mtu', String(mtu)]);
      sh(['ip', '-n', k, 'addr', 'add', `198.19.${n}.1/24`, 'dev', a]);
      sh(['ip', '-n', this.v, 'addr', 'add', `198.19.${n}.2/24`, 'dev', b]);
      sh(['ip', '-n', k, 'link', 'set', a, 'up']);
      sh(['ip', '-n', this.v, 'link', 'set', b, 'up']);
    }
    // TAP: our device, the kernel side moved into K
    for (const mtu of REAL_MTUS) {
      const n = subnet('tap', mtu);
      const name = ns.devName(`t${mtu === 1500 ? 1 : 9}`);
      const link = new TapLink({ name, mtu, vnetHdr: true });
      ns.rootDevice(name);
      this.addOurHost(`tap${mtu}`, link, `198.19.${n}.2/24`);
      sh(['ip', 'link', 'set', name, 'netns', k]);
      sh(['ip', '-n', k, 'addr', 'add', `198.19.${n}.1/24`, 'dev', name]);
      sh(['ip', '-n', k, 'link', 'set', name, 'mtu', String(mtu), 'up']);
    }
    // VXLAN: underlay veth root ↔ K, kernel vxlan devices in K
    const uRoot = ns.devName('u');
    const uK = ns.devName('w');
    sh(['ip', 'link', 'add', uRoot, 'mtu', '9216', 'type', 'veth', 'peer', 'name', uK, 'netns', k, 'mtu', '9216']);
    ns.rootDevice(uRoot);
    sh(['sysctl', '-qw', `net.ipv6.conf.${uRoot}.disable_ipv6=1`]);
    sh(['ip', 'addr', 'add', `${UNDER_US}/30`, 'dev', uRoot]);
    sh(['ip', 'link', 'set', uRoot, 'up']);
    sh(['ip', '-n', k, 'addr', 'add', `${UNDER_K}/30`, 'dev', uK]);
    sh(['ip', '-n', k, 'link', 'set', uK, 'up']);
    for (const mtu of REAL_MTUS) {
      const n = subnet('vxlan', mtu);
      const vni = 100 + n;
      const link = await VxlanLink.open({
        local: { address: UNDER_US, port: 0 }, remote: { address: UNDER_K, port: VXLAN_KERNEL_PORT }, vni, mtu,
      });
      this.addOurHost(`vxlan${mtu}`, link, `198.19.${n}.2/24`);
      const dev = ns.devName(`x${mtu === 1500 ? 1 : 9}`);
      sh(['ip', '-n', k, 'link', 'add', dev, 'type', 'vxlan', 'id', String(vni), 'local', UNDER_K, 'dstport', String(VXLAN_KERNEL_PORT), 'nolearning']);
      sh(['bridge', '-n', k, 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', UNDER_US, 'port', String(link.localPort)]);
      sh(['ip', '-n', k, 'link', 'set', dev, 'mtu', String(mtu)]);
      sh(['ip', '-n', k, 'addr', 'add', `198.19.${n}.1/24`, 'dev', dev]);
      sh(['ip', '-n', k, 'link', 'set', dev, 'up']);
      // complete inner checksums: a partial one would reach our socket unfinished over the veth
      sh(['ip', 'netns', 'exec', k, 'ethtool', '-K', dev, 'tx', 'off']);
    }
  }

  private addOurHost(name: string, link: TapLink | VxlanLink, cidr: string): Host {
    const host = this.net!.addHost(name);
    host.addDevice('eth0', { link });
    host.ip.addAddress('eth0', cidr);
    this.hosts.set(name, host);
    this.links.set(name, link);
    return host;
  }

  /** link counters of our side of a row's link (for the JSON), or null for veth */
  linkStats(s: RealRowSpec): Record<string, number> | null {
    if (s.link === 'veth') return null;
    const l = this.links.get(`${s.link}${s.mtu}`);
    return l === undefined ? null : { ...(l.stats as unknown as Record<string, number>) };
  }

  /**
   * one transfer of `bytes` for the row; a run that has not finished after `timeoutS` seconds,
   * or throws, is a failed run: its kernel programs are killed so the next run starts clean
   */
  async run(s: RealRowSpec, bytes: number, timeoutS: number): Promise<RealRunResult> {
    const n = subnet(s.link, s.mtu);
    const host = this.hosts.get(`${s.link}${s.mtu}`);
    const work = s.dir === 'k2k' ? this.kernelToKernel(n, bytes) : s.dir === 'k2us' ? this.kernelToUs(host!, n, bytes) : this.usToKernel(host!, n, bytes);
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result after ${timeoutS} s`)), timeoutS * 1000);
    });
    try {
      return await Promise.race([work, guard]);
    } catch (e) {
      work.catch(() => {});
      this.ns.killChildren();
      for (const so of this.sockets) so.close();
      const problem = e instanceof Error ? e.message : String(e);
      return { bytes: 0, seconds: 0, validated: false, problem, sent: 0, received: 0 };
    } finally {
      clearTimeout(timer);
      this.sockets.clear();
    }
  }

  private socket(host: Host): Socket {
    const so = host.socket(C.AF_INET, C.SOCK_STREAM);
    this.sockets.add(so);
    return so;
  }

  private async kernelToKernel(n: number, bytes: number): Promise<RealRunResult> {
    const rx = this.ns.start(this.v, [this.py, '-c', RECEIVER_PY, String(PORT)]);
    await rx.firstLine;
    const tx = this.ns.start(this.k, [this.py, '-c', SENDER_PY, `198.19.${n}.2`, String(PORT), String(bytes)]);
    const [r, t] = await Promise.all([rx.done, tx.done]);
    return this.kernelEnds(t, r, bytes);
  }

  private kernelEnds(t: { code: number | null; stdout: string; stderr: string }, r: { code: number | null; stdout: string; stderr: string }, bytes: number): RealRunResult {
    const sent = parseJsonLine(t.stdout, 'sent');
    const got = parseJsonLine(r.stdout, 'received');
    const out: RealRunResult = {
      bytes: got?.received ?? 0, seconds: got?.seconds ?? 0, sent: sent?.sent ?? 0, received: got?.received ?? 0,
      validated: false, problem: '',
    };
    out.problem = problemOf(out, bytes, t.code !== 0 ? `sender exited ${t.code}: ${t.stderr.trim()}` : r.code !== 0 ? `receiver exited ${r.code}: ${r.stderr.trim()}` : '');
    out.validated = out.problem === '';
    return out;
  }

  private async kernelToUs(host: Host, n: number, bytes: number): Promise<RealRunResult> {
    const ls = this.socket(host);
    try {
      ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
      ls.bind('0.0.0.0', PORT);
      ls.listen(4);
      const tx = this.ns.start(this.k, [this.py, '-c', SENDER_PY, `198.19.${n}.2`, String(PORT), String(bytes)]);
      const early = tx.done.then((t): never => {
        throw new Error(`sender exited ${t.code} before the connection: ${t.stderr.trim()}`);
      });
      early.catch(() => {});
      const conn = await Promise.race([ls.accept(), early]);
      this.sockets.add(conn);
      const t0 = process.hrtime.bigint();
      const iov = new Uint8Array(RECV_IOV);
      let received = 0;
      try {
        for (;;) {
          let k: number;
          try {
            k = await conn.recvmsgInto(iov, null, 0);
          } catch (e) {
            if (e instanceof ErrnoError && e.code === 'EAGAIN') continue;
            throw e;
          }
          if (k === 0) break;
          received += k;
        }
      } finally {
        conn.close();
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const t = await tx.done;
      const sent = parseJsonLine(t.stdout, 'sent')?.sent ?? 0;
      const out: RealRunResult = { bytes: received, seconds, sent, received, validated: false, problem: '' };
      out.problem = problemOf(out, bytes, t.code !== 0 ? `sender exited ${t.code}: ${t.stderr.trim()}` : '');
      out.validated = out.problem === '';
      return out;
    } finally {
      ls.close();
    }
  }

  private async usToKernel(host: Host, n: number, bytes: number): Promise<RealRunResult> {
    const rx = this.ns.start(this.k, [this.py, '-c', RECEIVER_PY, String(PORT)]);
    await rx.firstLine;
    const cs = this.socket(host);
    let sent = 0;
    try {
      await cs.connect(`198.19.${n}.1`, PORT);
      const chunk = new Uint8Array(SEND_CHUNK);
      while (sent < bytes) {
        const k = Math.min(chunk.length, bytes - sent);
        sent += await cs.send(k === chunk.length ? chunk : chunk.subarray(0, k));
      }
      cs.shutdown(C.SHUT_WR);
      // the receiver closes after our FIN: wait for its end of stream
      const sink = new Uint8Array(4096);
      while ((await cs.recvmsgInto(sink, null, 0)) > 0) {
        // the receiver sends nothing
      }
    } finally {
      cs.close();
    }
    const r = await rx.done;
    const got = parseJsonLine(r.stdout, 'received');
    const out: RealRunResult = { bytes: got?.received ?? 0, seconds: got?.seconds ?? 0, sent, received: got?.received ?? 0, validated: false, problem: '' };
    out.problem = problemOf(out, bytes, r.code !== 0 ? `receiver exited ${r.code}: ${r.stderr.trim()}` : '');
    out.validated = out.problem === '';
    return out;
  }

  /**
   * `count` pings (after one unrecorded, which resolves the neighbour) from namespace K to our
   * host over `link` at MTU 1500, or to namespace V over the veth; RTTs in ms
   */
  /**
   * `count` UDP echoes (after one unrecorded) from K to a python echo in V, over the same veth
   * and at the same pace as the pings: what any userspace responder that the kernel has to wake
   * costs on this machine — the floor under the ping rows of our links
   */
  async udpEchoFloor(count: number): Promise<number[]> {
    const dst = `198.19.${subnet('veth', 1500)}.2`;
    const echo = this.ns.start(this.v, [this.py, '-c', ECHO_PY, dst, String(ECHO_PORT)]);
    try {
      await echo.firstLine;
      const r = await this.ns.start(this.k, [this.py, '-c', ECHO_CLIENT_PY, dst, String(ECHO_PORT), String(count + 1)]).done;
      const rtts: unknown = JSON.parse(r.stdout.trim() || '[]');
      if (!Array.isArray(rtts) || rtts.some((x) => typeof x !== 'number')) throw new Error(`udp echo client: ${r.stderr.trim()}`);
      return (rtts as number[]).slice(1);
    } finally {
      echo.child.kill('SIGKILL');
      await echo.done;
    }
  }

  /**
   * `count` pings (after one unrecorded) from K, 50 ms apart as the ping rows, through a kernel
   * vxlan device of its own to a responder in the root namespace with no stack behind it: the
   * same kernel path as `ping-vxlan`. `python`: VXLAN_ECHO_PY, the least userspace work there can
   * be; `link`: our `VxlanLink` (the bench's transport, as `ping-vxlan` uses it) with an
   * `IcmpEchoResponder` in place of the stack — the link and Node's wake-up alone
   */
  async vxlanEchoFloor(count: number, responder: 'python' | 'link' = 'python'): Promise<number[]> {
    const k = this.k;
    const dev = this.ns.devName('xe');
    const dst = `198.19.${VXLAN_ECHO_SUBNET}.2`;
    sh(['ip', '-n', k, 'link', 'add', dev, 'type', 'vxlan', 'id', String(VXLAN_ECHO_VNI), 'local', UNDER_K, 'dstport', String(VXLAN_KERNEL_PORT), 'nolearning']);
    sh(['bridge', '-n', k, 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', UNDER_US, 'port', String(VXLAN_ECHO_PORT)]);
    sh(['ip', '-n', k, 'addr', 'add', `198.19.${VXLAN_ECHO_SUBNET}.1/24`, 'dev', dev]);
    sh(['ip', '-n', k, 'link', 'set', dev, 'up']);
    sh(['ip', 'netns', 'exec', k, 'ethtool', '-K', dev, 'tx', 'off']);
    sh(['ip', '-n', k, 'neigh', 'replace', dst, 'lladdr', VXLAN_ECHO_MAC, 'dev', dev, 'nud', 'permanent']);
    let echo: Started | null = null;
    let link: VxlanLink | null = null;
    try {
      if (responder === 'python') {
        echo = this.ns.start(null, [this.py, '-c', VXLAN_ECHO_PY, UNDER_US, String(VXLAN_ECHO_PORT), String(VXLAN_KERNEL_PORT)]);
        await echo.firstLine;
      } else {
        link = await VxlanLink.open({
          local: { address: UNDER_US, port: VXLAN_ECHO_PORT }, remote: { address: UNDER_K, port: VXLAN_KERNEL_PORT }, vni: VXLAN_ECHO_VNI, mtu: 1500,
        });
        link.attach(new IcmpEchoResponder(link));
      }
      const r = await this.ns.start(k, ['ping', '-n', '-c', String(count + 1), '-i', '0.05', '-W', '2', dst]).done;
      const rtts = parsePingRtts(r.stdout);
      if (rtts.length !== count + 1) throw new Error(`vxlan echo floor (${responder}): ${rtts.length} of ${count + 1} replies: ${r.stderr.trim()}`);
      return rtts.slice(1);
    } finally {
      if (echo !== null) {
        echo.child.kill('SIGKILL');
        await echo.done;
      }
      if (link !== null) await link.close();
      sh(['ip', '-n', k, 'link', 'del', dev]);
    }
  }

  async ping(link: RealLinkKind, count: number): Promise<number[]> {
    const dst = `198.19.${subnet(link, 1500)}.2`;
    const p = this.ns.start(this.k, ['ping', '-n', '-c', String(count + 1), '-i', '0.05', '-W', '2', dst]);
    const r = await p.done;
    const rtts = parsePingRtts(r.stdout);
    return rtts.slice(1);
  }

  /** closes our network (and with it the links), then removes namespaces and devices */
  async close(): Promise<void> {
    try {
      if (this.net !== null) await this.net.close();
    } finally {
      this.net = null;
      this.ns.dispose();
    }
  }
}

function problemOf(r: RealRunResult, bytes: number, exit: string): string {
  if (exit !== '') return exit;
  if (r.sent !== bytes) return `the sender counted ${r.sent} of ${bytes} bytes`;
  if (r.received !== bytes) return `the receiver counted ${r.received} of ${bytes} bytes`;
  if (!(r.seconds > 0)) return 'no receive time';
  return '';
}
