/**
 * Unit-level harness: TcpProto instances over a fake `IpLayer` that carries L4 bytes between
 * hosts in virtual time (fixed delay, optional drop hook), completing CHECKSUM_PARTIAL like a
 * NIC and making the receiver verify it. IPv4 and IPv6 alike; no Ethernet, ARP or NDP.
 */
import assert from 'node:assert/strict';
import { InetAddr, addrEquals, familyOf, isV4, pseudoHeaderSum, type Addr } from '../../src/inet/index.js';
import { MemSpace } from '../../src/mem/index.js';
import { IcmpErr, RxMeta, type IpLayer, type OutputOptions, type Route, type Transport } from '../../src/net/index.js';
import { Rng } from '../../src/rand/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, SkbCache, skbCopyBits, skbFree, skbPut, type SkBuff,
} from '../../src/skb/index.js';
import { RecvState, TcpProto, tcpRecvmsg, type TcpSock, type TcpSockOwner } from '../../src/tcp/index.js';
import { Timer, VirtualScheduler, type TimerTarget } from '../../src/time/index.js';
import { csumFinish, csumFold, csumPartial } from '../../src/wire/checksum.js';

export interface Wire {
  t: number;
  from: string;
  src: InetAddr;
  dst: InetAddr;
  bytes: Uint8Array;
}

type Dev = Route['dev'];

export class FakeIp implements IpLayer {
  protos: (Transport | null)[] = new Array<Transport | null>(256).fill(null);
  readonly dev: Dev;
  /** per-destination path MTU overrides (the IP layer's PMTU cache) */
  readonly pmtu = new Map<string, number>();
  /** destinations whose next hop never answers: each datagram is reported as a local EHOSTUNREACH after 3 s */
  readonly unreachable = new Set<string>();
  outputs = 0;

  constructor(
    readonly net: FakeNet,
    readonly name: string,
    readonly addrs: InetAddr[],
    public mtu = 1500,
  ) {
    this.dev = { ifindex: 1, name: 'eth0', tso: false, gsoMaxSize: 65536, mtu } as unknown as Dev;
  }

  route(dst: Addr, _oif?: number): Route | null {
    const fam = familyOf(dst);
    const src = this.addrs.find((a) => a.family === fam);
    if (src === undefined) return null;
    if (this.net.hostFor(dst) === null && !this.unreachable.has(InetAddr.from(dst).toString())) return null;
    const p = this.pmtu.get(InetAddr.from(dst).toString());
    return { family: fam, dev: this.dev, src, nexthop: InetAddr.from(dst), mtu: p ?? this.mtu, local: false };
  }

  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, _opts?: OutputOptions): number {
    this.outputs++;
    const len = skb.len;
    const bytes = new Uint8Array(len);
    skbCopyBits(skb, 0, bytes, 0, len);
    const gsoSize = skb.gsoSize;
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      const at = skb.csumStart - skb.data + skb.csumOffset;
      const dv = new DataView(bytes.buffer);
      dv.setUint16(at, csumFinish(csumPartial(bytes, dv, 0, len, 0)));
    }
    skbFree(skb);
    const hlen = proto === 6 ? (bytes[12]! >> 4) << 2 : 0;
    if (gsoSize > 0 && proto === 6 && len - hlen > gsoSize && !(this.dev as unknown as { tso: boolean }).tso) {
      // no TSO: the stack's software GSO cuts the skb into MSS segments (PSH / FIN on the last, CWR on the first)
      const dv0 = new DataView(bytes.buffer);
      const seq0 = dv0.getUint32(4);
      const flags0 = bytes[13]!;
      for (let off = hlen; off < len; off += gsoSize) {
        const n = Math.min(gsoSize, len - off);
        const piece = new Uint8Array(hlen + n);
        piece.set(bytes.subarray(0, hlen));
        piece.set(bytes.subarray(off, off + n), hlen);
        const pdv = new DataView(piece.buffer);
        pdv.setUint32(4, (seq0 + off - hlen) >>> 0);
        let f = off > hlen ? flags0 & ~0x80 : flags0;
        if (off + n < len) f &= ~0x09;
        piece[13] = f;
        pdv.setUint16(16, csumFold(pseudoHeaderSum(src, dst, 6, piece.length)));
        pdv.setUint16(16, csumFinish(csumPartial(piece, pdv, 0, piece.length, 0)));
        this.deliver(piece, src, dst, proto);
      }
      return 0;
    }
    this.deliver(bytes, src, dst, proto);
    return 0;
  }

  private deliver(bytes: Uint8Array, src: Addr, dst: Addr, proto: number): void {
    const w: Wire = { t: this.net.sched.now(), from: this.name, src: InetAddr.from(src), dst: InetAddr.from(dst), bytes };
    if (this.unreachable.has(w.dst.toString())) {
      this.net.later(3_000_000, () => this.reportLocal(w, proto));
      return;
    }
    this.net.send(w, proto);
  }

  /** what NET-A's neighbour failure does: a local EHOSTUNREACH quoting the datagram */
  reportLocal(w: Wire, proto: number): void {
    const e = new IcmpErr();
    e.family = w.dst.family;
    e.errno = 113; // EHOSTUNREACH
    e.fatal = false;
    e.type = e.family === 4 ? 3 : 1;
    e.code = e.family === 4 ? 1 : 3;
    e.local = true;
    e.src.set(w.src);
    e.dst.set(w.dst);
    e.proto = proto;
    e.buf = w.bytes;
    e.dv = new DataView(w.bytes.buffer);
    e.l4Off = 0;
    e.l4Len = w.bytes.length;
    this.protos[proto]?.err?.(e);
  }

  isLocalAddress(a: Addr): boolean {
    return this.addrs.some((x) => addrEquals(x, a));
  }

  register(proto: number, t: Transport): void {
    this.protos[proto] = t;
  }

  unregister(proto: number): void {
    this.protos[proto] = null;
  }

  sendPortUnreach(): void {}
}

export class FakeHost {
  readonly mem: MemSpace;
  readonly skbs: SkbCache;
  /** receive buffers come from the NIC's own pool (as page pools are preallocated) */
  readonly rxSkbs = new SkbCache(new MemSpace());
  readonly ip: FakeIp;
  readonly tcp: TcpProto;
  constructor(net: FakeNet, name: string, addrs: string[], seed: number, memBytes = 1 << 30, mtu = 1500, maxFrags?: number) {
    this.mem = new MemSpace({ maxHostBytes: memBytes });
    this.skbs = new SkbCache(this.mem, 4096, maxFrags);
    this.ip = new FakeIp(net, name, addrs.map((a) => InetAddr.parse(a)), mtu);
    this.tcp = new TcpProto(this.ip, this.skbs, this.mem, net.sched, new Rng(seed));
  }
}

class Later implements TimerTarget {
  readonly timer = new Timer(this, 0);
  constructor(readonly fn: () => void) {}
  onTimer(): void {
    this.fn();
  }
}

export class FakeNet {
  readonly sched = new VirtualScheduler();
  readonly hosts: FakeHost[] = [];
  readonly log: Wire[] = [];
  delayUs = 50;
  /** return true to drop a datagram */
  drop: ((w: Wire) => boolean) | null = null;
  private readonly meta = new RxMeta();

  addHost(name: string, addrs: string[], opts: { memBytes?: number; mtu?: number; maxFrags?: number } = {}): FakeHost {
    const h = new FakeHost(this, name, addrs, 1000 + this.hosts.length, opts.memBytes, opts.mtu, opts.maxFrags);
    this.hosts.push(h);
    return h;
  }

  hostFor(a: Addr): FakeHost | null {
    return this.hosts.find((h) => h.ip.isLocalAddress(a)) ?? null;
  }

  later(us: number, fn: () => void): void {
    const l = new Later(fn);
    this.sched.arm(l.timer, this.sched.now() + us);
  }

  send(w: Wire, proto: number): void {
    this.log.push(w);
    if (this.drop !== null && this.drop(w)) return;
    this.later(this.delayUs, () => this.deliver(w, proto));
  }

  private deliver(w: Wire, proto: number): void {
    const h = this.hostFor(w.dst);
    if (h === null) return;
    // a TSO segment larger than a page arrives as one linear buffer (as GRO would hand it up)
    const big = w.bytes.length > 4000;
    const copy = big ? w.bytes.slice() : w.bytes;
    const skb = big ? h.rxSkbs.wrap(copy, new DataView(copy.buffer)) : h.rxSkbs.alloc(w.bytes.length, 0);
    assert.ok(skb !== null);
    const at = big ? 0 : skbPut(skb, w.bytes.length);
    if (!big) skb.buf.set(w.bytes, at);
    skb.ipSummed = CHECKSUM_NONE;
    skb.networkHeader = at;
    skb.transportHeader = at;
    const m = this.meta;
    m.family = isV4(w.dst) ? 4 : 6;
    m.src.set(w.src);
    m.dst.set(w.dst);
    m.dev = h.ip.dev;
    m.tos = 0;
    m.ttl = 64;
    m.linkBcast = false;
    const t = h.ip.protos[proto];
    if (t === null || t === undefined) {
      skbFree(skb);
      return;
    }
    t.rcv(skb, m);
  }

  /** runs timers until `pred()` or virtual `limitUs` from now; returns pred() */
  run(pred: () => boolean = () => false, limitUs = 600_000_000): boolean {
    const end = this.sched.now() + limitUs;
    while (!pred()) {
      if (!this.sched.step(end)) break;
    }
    return pred();
  }

  get now(): number {
    return this.sched.now();
  }
}

/** records the callbacks a socket gets */
export class Owner implements TcpSockOwner {
  readable = 0;
  writable = 0;
  states: string[] = [];
  acceptable = 0;
  tcpReadable(): void {
    this.readable++;
  }
  tcpWritable(): void {
    this.writable++;
  }
  tcpStateChange(tp: TcpSock): void {
    this.states.push(tp.stateName);
  }
  tcpAcceptable(): void {
    this.acceptable++;
  }
}

export function attach(tp: TcpSock): Owner {
  const o = new Owner();
  tp.sockOwner = o;
  return o;
}

/** reads everything queued on `tp` into a fresh array */
const scratch = new Uint8Array(1 << 20);
const rst = new RecvState();
const NONE = new Uint8Array(0);

export function drain(tp: TcpSock, max = 1 << 20): Uint8Array {
  if (tp.readableBytes <= 0) return NONE;
  const st = rst;
  st.reset(null, null);
  const iov = max <= scratch.length ? scratch : new Uint8Array(max);
  const r = tcpRecvmsg(tp, iov, max, 0, st);
  assert.ok(r >= 0, `recv ${r}`);
  return iov.slice(0, st.copied);
}

/** TCP segment fields of a logged datagram; seq and ack in the stack's int32 representation (wire/seq.ts) */
export function seg(w: Wire): { sport: number; dport: number; seq: number; ack: number; flags: number; len: number; doff: number } {
  const dv = new DataView(w.bytes.buffer);
  const doff = (w.bytes[12]! >> 4) * 4;
  return {
    sport: dv.getUint16(0), dport: dv.getUint16(2), seq: dv.getInt32(4), ack: dv.getInt32(8), flags: w.bytes[13]!,
    len: w.bytes.length - doff, doff,
  };
}
