/**
 * A fake IP layer for UDP unit tests: hosts on one "segment" that hand each other transport
 * payloads (copied byte for byte into the receiver's own skbs, so every host's memory accounting
 * stays its own), with hooks to corrupt, drop or inspect datagrams, and ICMP port unreachable
 * delivered back to the sender's `err` the way the real stacks do it.
 */
import { InetAddr, addrEquals, isV4, type Addr } from '../../src/inet/index.js';
import { MemSpace, NETMEM_NONE, PAGE_SIZE } from '../../src/mem/index.js';
import { IcmpErr, RxMeta, type IpLayer, type OutputOptions, type Route, type Transport } from '../../src/net/index.js';
import { SkbCache, skbAddFrag, skbCopyBits, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import { ERRNO } from '../../src/uapi/index.js';

export interface Sent {
  from: FakeIp;
  src: InetAddr;
  dst: InetAddr;
  proto: number;
  bytes: Uint8Array;
  opts: OutputOptions | undefined;
  /** deliver as a link-layer broadcast */
  bcast: boolean;
}

export class FakeNet {
  readonly hosts: FakeIp[] = [];
  readonly queue: Sent[] = [];
  /** called before delivery; return false to drop (may mutate bytes) */
  filter: ((s: Sent) => boolean) | null = null;

  /** delivers everything queued (and what delivery queues in turn); returns datagrams delivered */
  flush(): number {
    let n = 0;
    while (this.queue.length > 0) {
      const s = this.queue.shift()!;
      if (this.filter !== null && !this.filter(s)) continue;
      for (const h of this.hosts) {
        if (s.bcast ? h !== s.from : h.isLocalAddress(s.dst)) {
          h.deliver(s);
          n++;
          if (!s.bcast) break;
        }
      }
    }
    return n;
  }
}

export class FakeIp implements IpLayer {
  readonly mem = new MemSpace();
  readonly skbs = new SkbCache(this.mem);
  readonly addrs: InetAddr[];
  t: Transport | null = null;
  portUnreachSent = 0;
  outputs = 0;
  routeLookups = 0;
  /** path MTU per destination text (else the device MTU) */
  readonly pmtu = new Map<string, number>();
  /** result `output` returns (after queueing) — to simulate IP-layer failures */
  outputResult = 0;
  private readonly meta = new RxMeta();
  private readonly icmp = new IcmpErr();

  constructor(readonly net: FakeNet, addrs: string[], readonly mtu = 1500) {
    this.addrs = addrs.map((a) => InetAddr.parse(a));
    net.hosts.push(this);
  }

  route(dst: Addr): Route | null {
    this.routeLookups++;
    const v4 = isV4(dst);
    const src = this.addrs.find((a) => isV4(a) === v4);
    if (src === undefined) return null;
    const mtu = this.pmtu.get(InetAddr.from(dst).toString()) ?? this.mtu;
    return { family: v4 ? 4 : 6, dev: null as never, src, nexthop: InetAddr.from(dst), mtu, local: this.isLocalAddress(dst) };
  }

  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, opts?: OutputOptions): number {
    this.outputs++;
    const mtu = this.pmtu.get(InetAddr.from(dst).toString()) ?? this.mtu;
    if (opts?.df === true && skb.len + (isV4(dst) ? 20 : 40) > mtu) {
      skbFree(skb);
      return -ERRNO.EMSGSIZE; // DF over the known path MTU, as the real stacks answer
    }
    const bytes = new Uint8Array(skb.len);
    if (skbCopyBits(skb, 0, bytes, 0, skb.len) < 0) throw new Error('unreadable output');
    skbFree(skb);
    if (this.outputResult < 0) return this.outputResult;
    const d = InetAddr.from(dst);
    const bcast = isV4(d) ? d.v4 === 0xffffffff : (d.w0 >>> 24) === 0xff;
    this.net.queue.push({ from: this, src: InetAddr.from(src), dst: d, proto, bytes, opts: opts === undefined ? undefined : { ...opts }, bcast });
    return 0;
  }

  isLocalAddress(a: Addr): boolean {
    return this.addrs.some((x) => addrEquals(x, a)) || addrEquals(a, InetAddr.LOOPBACK4) || addrEquals(a, InetAddr.LOOPBACK6);
  }

  register(_proto: number, t: Transport): void {
    this.t = t;
  }

  unregister(): void {
    this.t = null;
  }

  /** answers like a stack: ICMP(v6) port unreachable to the sender, quoting the L4 header */
  sendPortUnreach(skb: SkBuff, meta: RxMeta): void {
    this.portUnreachSent++;
    const quote = new Uint8Array(8);
    skbCopyBits(skb, 0, quote, 0, 8);
    const sender = this.net.hosts.find((h) => h.isLocalAddress(meta.src) && h !== this);
    if (sender === undefined || sender.t === null || sender.t.err === undefined) return;
    const e = sender.icmp;
    e.family = meta.family;
    e.errno = ERRNO.ECONNREFUSED;
    e.fatal = true;
    e.type = meta.family === 4 ? 3 : 1;
    e.code = meta.family === 4 ? 3 : 4;
    e.info = 0;
    e.local = false;
    e.src.set(meta.src);
    e.dst.set(meta.dst);
    e.proto = 17;
    e.buf = quote;
    e.dv = new DataView(quote.buffer);
    e.l4Off = 0;
    e.l4Len = 8;
    sender.t.err(e);
  }

  /** an arbitrary ICMP error about a datagram this host sent (bytes = its L4 header) */
  icmpError(family: 4 | 6, src: Addr, dst: Addr, l4: Uint8Array, errno: number, fatal: boolean, type: number, code: number): void {
    const e = this.icmp;
    e.family = family;
    e.errno = errno;
    e.fatal = fatal;
    e.type = type;
    e.code = code;
    e.src.set(src);
    e.dst.set(dst);
    e.proto = 17;
    e.buf = l4;
    e.dv = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
    e.l4Off = 0;
    e.l4Len = l4.length;
    this.t!.err!(e);
  }

  /** builds a received skb (first 64 bytes linear, the rest in page frags) and hands it to UDP */
  deliver(s: Sent, ipSummed = 0): void {
    const skb = rxSkb(this.skbs, s.bytes);
    skb.ipSummed = ipSummed;
    const m = this.meta;
    m.family = isV4(s.dst) ? 4 : 6;
    m.src.set(s.src);
    m.dst.set(s.dst);
    m.linkBcast = s.bcast;
    m.ttl = 64;
    m.tos = 0;
    if (this.t === null) {
      skbFree(skb);
      return;
    }
    this.t.rcv(skb, m);
  }

  /** hands raw L4 bytes to UDP as if received from `src` */
  inject(src: string, dst: string, bytes: Uint8Array, ipSummed = 0): void {
    this.deliver({ from: this, src: InetAddr.parse(src), dst: InetAddr.parse(dst), proto: 17, bytes, opts: undefined, bcast: false }, ipSummed);
  }
}

/** an skb like a NIC with header split builds: up to 64 bytes linear, the rest in page frags */
export function rxSkb(skbs: SkbCache, bytes: Uint8Array): SkBuff {
  const head = Math.min(64, bytes.length);
  const skb = skbs.alloc(256, 64)!;
  skb.buf.set(bytes.subarray(0, head), skbPut(skb, head));
  const mem = skbs.mem;
  for (let done = head; done < bytes.length;) {
    const ref = mem.allocPage();
    if (ref === NETMEM_NONE) throw new Error('out of memory');
    const n = Math.min(PAGE_SIZE, bytes.length - done);
    mem.buf(ref).set(bytes.subarray(done, done + n), mem.offset(ref));
    if (!skbAddFrag(skb, ref, 0, n)) throw new Error('frag slots');
    done += n;
  }
  return skb;
}
