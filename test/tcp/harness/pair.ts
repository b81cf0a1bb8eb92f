/**
 * Two real stacks on a simulated wire, with every TCP segment each transmits counted and parsed
 * (not a test file). For the cases one stack alone cannot show: exchanges between two TCPs that
 * an injected segment could start (the ACK loop), and transfers that must survive forged input.
 * `injectTo(side, spec)` hands a crafted frame straight to that side's NIC, as if its peer had
 * sent it. A (10.0.0.1 / fd00::1) is the client, B (10.0.0.2 / fd00::2) the server.
 */
import assert from 'node:assert/strict';
import { constants as C, Network, type Host, type NetDevice, type SimWire } from '../../../src/index.js';
import { InetAddr } from '../../../src/inet/index.js';
import type { LinkPort } from '../../../src/netdev/index.js';
import { skbCopyBits, skbFree, type SkBuff } from '../../../src/skb/index.js';
import type { SockAddr } from '../../../src/socket/index.js';
import type { TcpSock } from '../../../src/tcp/index.js';
import { tcpSockOf } from './probe.js';
import { buildFrame, parseFrame, type Seg, type SegSpec } from './segment.js';

export const MAC_A = 0x02000000000a;
export const MAC_B = 0x02000000000b;

/** wraps a device's link: parses each transmitted TCP segment into `log`, then forwards the frame */
class Tap implements LinkPort {
  private buf = new Uint8Array(70_000);
  segs = 0;

  constructor(private readonly inner: LinkPort, private readonly pair: Pair, private readonly side: 'a' | 'b') {}

  transmit(skb: SkBuff, from: NetDevice): void {
    const n = skb.len;
    if (this.buf.length < n) this.buf = new Uint8Array(n);
    if (skbCopyBits(skb, 0, this.buf, 0, n) === 0) {
      const b = this.buf;
      const et = (b[12]! << 8) | b[13]!;
      if ((et === 0x0800 && b[23] === 6) || (et === 0x86dd && b[20] === 6)) {
        this.segs++;
        const s = this.pair.keepLog ? parseFrame(b.subarray(0, n), this.pair.net.now) : null;
        if (s !== null) this.pair.log.push({ side: this.side, seg: s });
      }
    }
    this.inner.transmit(skb, from);
  }
}

export class Pair {
  readonly net: Network;
  readonly a: Host;
  readonly b: Host;
  readonly ea: NetDevice;
  readonly eb: NetDevice;
  readonly wire: SimWire;
  readonly family: 4 | 6;
  readonly addrA: InetAddr;
  readonly addrB: InetAddr;
  /** TCP segments in order of transmission (when `keepLog`) */
  readonly log: { side: 'a' | 'b'; seg: Seg }[] = [];
  /** parse and keep every segment (off: count only, for long runs) */
  keepLog = true;
  private readonly tapA: Tap;
  private readonly tapB: Tap;

  constructor(o: { family?: 4 | 6; seed?: number; delayUs?: number; loss?: number; reorder?: number } = {}) {
    this.family = o.family ?? 4;
    this.net = new Network({ seed: o.seed ?? 1 });
    this.a = this.net.addHost('a');
    this.b = this.net.addHost('b');
    this.ea = this.a.addDevice('eth0', { rxQueues: 1, mac: MAC_A });
    this.eb = this.b.addDevice('eth0', { rxQueues: 1, mac: MAC_B });
    this.wire = this.net.connect(this.ea, this.eb, { gbps: 10, delayUs: o.delayUs ?? 50, loss: o.loss ?? 0, reorder: o.reorder ?? 0 });
    if (this.family === 4) {
      this.addrA = InetAddr.parse('10.0.0.1');
      this.addrB = InetAddr.parse('10.0.0.2');
      this.a.ip.addAddress('eth0', '10.0.0.1/24');
      this.b.ip.addAddress('eth0', '10.0.0.2/24');
      this.a.ip.addNeighbour('eth0', '10.0.0.2', MAC_B);
      this.b.ip.addNeighbour('eth0', '10.0.0.1', MAC_A);
    } else {
      this.addrA = InetAddr.parse('fd00::1');
      this.addrB = InetAddr.parse('fd00::2');
      this.a.ip.addAddress('eth0', 'fd00::1/64', { nodad: true });
      this.b.ip.addAddress('eth0', 'fd00::2/64', { nodad: true });
      this.a.ip.addNeighbour('eth0', 'fd00::2', MAC_B);
      this.b.ip.addNeighbour('eth0', 'fd00::1', MAC_A);
    }
    this.tapA = new Tap(this.ea.link!, this, 'a');
    this.tapB = new Tap(this.eb.link!, this, 'b');
    this.ea.link = this.tapA;
    this.eb.link = this.tapB;
  }

  /** TCP segments transmitted so far by each side */
  get segsA(): number { return this.tapA.segs; }
  get segsB(): number { return this.tapB.segs; }
  get segs(): number { return this.tapA.segs + this.tapB.segs; }

  get now(): number {
    return this.net.now;
  }

  run(us: number): void {
    this.net.runFor(us);
  }

  close(): void {
    this.net.close();
  }

  sockaddr(addr: InetAddr, port: number): SockAddr {
    return this.family === 4 ? { family: C.AF_INET, addr, port } : { family: C.AF_INET6, addr, port, flowinfo: 0, scopeId: 0 };
  }

  /** a listener on B:port, a client on A, the handshake, accept: non-blocking fds */
  establish(port = 5000): { lfd: number; cfd: number; sfd: number; ca: TcpSock; cb: TcpSock } {
    const af = this.family === 4 ? C.AF_INET : C.AF_INET6;
    const lfd = this.b.sys.socket(af, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
    assert.equal(this.b.sys.bind(lfd, this.sockaddr(this.family === 4 ? InetAddr.ANY4 : InetAddr.ANY6, port)), 0);
    assert.equal(this.b.sys.listen(lfd, 128), 0);
    const cfd = this.a.sys.socket(af, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
    assert.ok(this.a.sys.connect(cfd, this.sockaddr(this.addrB, port)) < 0);
    this.run(20_000);
    const sfd = this.b.sys.accept4(lfd, null, C.SOCK_NONBLOCK);
    assert.ok(sfd >= 0, `accept4: ${sfd}`);
    return { lfd, cfd, sfd, ca: tcpSockOf(this.a, cfd), cb: tcpSockOf(this.b, sfd) };
  }

  /**
   * hands a crafted segment to `to`'s NIC as if its peer sent it (ports must be given); `from`
   * spoofs another source address (the frame still comes from the peer's MAC)
   */
  injectTo(to: 'a' | 'b', spec: SegSpec & { sport: number; dport: number }, from?: InetAddr): void {
    const [src, dst, srcMac, dstMac, host, dev] = to === 'b'
      ? [from ?? this.addrA, this.addrB, MAC_A, MAC_B, this.b, this.eb]
      : [from ?? this.addrB, this.addrA, MAC_B, MAC_A, this.a, this.ea];
    const frame = buildFrame({ family: this.family, srcMac, dstMac, src, dst }, spec);
    const skb = host.kernel.skbs.wrap(frame, new DataView(frame.buffer));
    dev.receiveFrame(skb);
    skbFree(skb);
    // GRO may hold it: flush so that it is processed now, against the state it was built from
    for (const q of dev.rxQueues) if (q.groSkb !== null) dev.groFlush(q);
  }

  /** segments in the log sent in [t0, t1) */
  between(t0: number, t1 = Number.MAX_SAFE_INTEGER): { side: 'a' | 'b'; seg: Seg }[] {
    return this.log.filter((e) => e.seg.t >= t0 && e.seg.t < t1);
  }
}
