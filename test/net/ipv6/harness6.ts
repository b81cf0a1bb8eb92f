// Test harness for test/net/ipv6: hosts (MemSpace + SkbCache + Netif + NetDevice + Ipv6Stack) on
// a virtual clock and IPv6 frame builders with an independent checksum; the hub link, virtual-time
// drivers and byte helpers are test/net/harness.ts's, re-exported. Not a test file.
import { InetAddr, type Addr } from '../../../src/inet/index.js';
import { MemSpace } from '../../../src/mem/index.js';
import { NetDevice, type NetDeviceOptions } from '../../../src/netdev/index.js';
import { Netif } from '../../../src/netif/index.js';
import { ProtocolTable, type IcmpErr, type RxMeta, type Transport } from '../../../src/net/index.js';
import { Ipv6Stack } from '../../../src/net/ipv6/index.js';
import { Rng } from '../../../src/rand/index.js';
import { SkbCache, skbCopyBits, skbFree, type SkBuff } from '../../../src/skb/index.js';
import { VirtualScheduler } from '../../../src/time/index.js';
import { MAC_A, MAC_B, TestLink as Hub, concat, ethHeader as ethHeaderOf, naiveCsum as naiveCsumOf, runFor, toHex } from '../harness.js';

export {
  MAC_A, MAC_B, MAC_C, concat, flushMicrotasks, hex, inject, macBytes, runFor, toHex, track,
} from '../harness.js';

export type { Frame } from '../harness.js';
/** every frame reaches every other attached device after `delayUs` (the IPv4 tests' link) */
export { TestLink as Hub } from '../harness.js';

/** a transport that records what it gets */
export class Recorder implements Transport {
  readonly got: { src: string; dst: string; family: number; tos: number; ttl: number; bytes: Uint8Array; linkBcast: boolean }[] = [];
  readonly errs: { errno: number; fatal: boolean; type: number; code: number; info: number; local: boolean; src: string; dst: string; proto: number; l4: Uint8Array }[] = [];

  rcv(skb: SkBuff, meta: RxMeta): void {
    const bytes = new Uint8Array(skb.len);
    skbCopyBits(skb, 0, bytes, 0, skb.len);
    this.got.push({
      src: InetAddr.from(meta.src).toString(), dst: InetAddr.from(meta.dst).toString(), family: meta.family, tos: meta.tos, ttl: meta.ttl,
      bytes, linkBcast: meta.linkBcast,
    });
    skbFree(skb);
  }

  err(e: IcmpErr): void {
    this.errs.push({
      errno: e.errno, fatal: e.fatal, type: e.type, code: e.code, info: e.info, local: e.local, src: InetAddr.from(e.src).toString(),
      dst: InetAddr.from(e.dst).toString(), proto: e.proto, l4: e.buf.slice(e.l4Off, e.l4Off + Math.min(8, e.l4Len)),
    });
  }
}

export interface Host6 {
  name: string;
  mem: MemSpace;
  skbs: SkbCache;
  netif: Netif;
  protos: ProtocolTable;
  dev: NetDevice;
  v6: Ipv6Stack;
}

/** fe80::ff:fe00:a etc. (modified EUI-64 of MAC_A / MAC_B / MAC_C) */
export const LL_A = InetAddr.parse('fe80::ff:fe00:a');
export const LL_B = InetAddr.parse('fe80::ff:fe00:b');
export const LL_C = InetAddr.parse('fe80::ff:fe00:c');
export const GA = InetAddr.parse('2001:db8::a');
export const GB = InetAddr.parse('2001:db8::b');

export function makeHost6(
  sched: VirtualScheduler, name: string, mac: number, link: Hub | null, opts: { rng?: Rng | null; dev?: NetDeviceOptions } = {},
): Host6 {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem);
  const netif = new Netif(mem, skbs, sched);
  const dev = new NetDevice(mem, skbs, sched, 'eth0', 2, { mac, ...opts.dev });
  netif.addDevice(dev);
  const protos = new ProtocolTable();
  const v6 = new Ipv6Stack({ sched, skbs, netif, protos, rng: opts.rng ?? null });
  if (link !== null) link.attach(dev, name);
  return { name, mem, skbs, netif, protos, dev, v6 };
}

/** A and B on one hub, DAD finished (run 2 s), global addresses 2001:db8::a / ::b /64 */
export function twoHosts6(delayUs = 10, opts: { dev?: NetDeviceOptions; globals?: boolean } = {}): { sched: VirtualScheduler; hub: Hub; a: Host6; b: Host6 } {
  const sched = new VirtualScheduler();
  const hub = new Hub(sched, delayUs);
  const a = makeHost6(sched, 'A', MAC_A, hub, { dev: opts.dev });
  const b = makeHost6(sched, 'B', MAC_B, hub, { dev: opts.dev });
  if (opts.globals !== false) {
    a.v6.addAddress(a.dev, GA, 64);
    b.v6.addAddress(b.dev, GB, 64);
  }
  runFor(sched, 2_000_000);
  hub.frames.length = 0;
  return { sched, hub, a, b };
}

/**
 * Host B (2001:db8::b/64, no DAD) alone on a hub, A's MAC known (and, with `defaultViaA`, a
 * default route via A), a recorder on UDP (17); the clock run 2 s and the hub's record cleared.
 */
export function receiverB(opts: { defaultViaA?: boolean } = {}): { sched: VirtualScheduler; hub: Hub; b: Host6; rec: Recorder } {
  const sched = new VirtualScheduler();
  const hub = new Hub(sched, 10);
  const b = makeHost6(sched, 'B', MAC_B, hub);
  b.v6.addAddress(b.dev, GB, 64, { nodad: true });
  b.v6.addNeighbour(b.dev, GA, MAC_A);
  if (opts.defaultViaA === true) b.v6.addRoute(InetAddr.ANY6, 0, GA, null);
  runFor(sched, 2_000_000);
  hub.frames.length = 0;
  const rec = new Recorder();
  b.protos.set(17, rec);
  return { sched, hub, b, rec };
}

// ---- bytes ----

export function addrBytes(a: Addr | string): Uint8Array {
  return (typeof a === 'string' ? InetAddr.parse(a) : InetAddr.from(a)).toBytes();
}

export function ethHeader(dst: number, src: number, type = 0x86dd): Uint8Array {
  return ethHeaderOf(dst, src, type);
}

/** naive RFC 1071 checksum (inverted) over `parts`, independent of src/wire/checksum.ts */
export function naiveCsum(...parts: Uint8Array[]): number {
  return naiveCsumOf(concat(...parts));
}

/** the IPv6 pseudo-header for an L4 checksum */
export function pseudo(src: string, dst: string, proto: number, len: number): Uint8Array {
  return concat(addrBytes(src), addrBytes(dst), Uint8Array.of(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, 0, 0, 0, proto));
}

export interface Ip6Opts {
  src: string;
  dst: string;
  nh: number;
  hlim?: number;
  tc?: number;
  /** override the payload length */
  plen?: number;
  /** override the first byte */
  vtf0?: number;
}

/** an IPv6 header + payload */
export function ip6(o: Ip6Opts, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(40);
  const tc = o.tc ?? 0;
  h[0] = o.vtf0 ?? (0x60 | (tc >>> 4));
  h[1] = (tc & 0x0f) << 4;
  const plen = o.plen ?? payload.length;
  h[4] = plen >>> 8;
  h[5] = plen & 0xff;
  h[6] = o.nh;
  h[7] = o.hlim ?? 64;
  h.set(addrBytes(o.src), 8);
  h.set(addrBytes(o.dst), 24);
  return concat(h, payload);
}

/** an ICMPv6 message with its checksum (naive) */
export function icmp6(src: string, dst: string, type: number, code: number, rest: Uint8Array): Uint8Array {
  const m = concat(Uint8Array.of(type, code, 0, 0), rest);
  const c = naiveCsum(pseudo(src, dst, 58, m.length), m);
  m[2] = c >>> 8;
  m[3] = c & 0xff;
  return m;
}

/** a UDP datagram with its checksum (naive) */
export function udp6(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const len = 8 + data.length;
  const m = concat(Uint8Array.of(sport >>> 8, sport & 0xff, dport >>> 8, dport & 0xff, len >>> 8, len & 0xff, 0, 0), data);
  const c = naiveCsum(pseudo(src, dst, 17, len), m);
  m[6] = c >>> 8;
  m[7] = c & 0xff;
  return m;
}

/** parsed view of an IPv6-over-Ethernet frame (tests) */
export function parseFrame(b: Uint8Array): { ethDst: string; ethType: number; src: string; dst: string; nh: number; hlim: number; payload: Uint8Array } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ethDst = toHex(b.subarray(0, 6)).replace(/ /g, ':');
  return {
    ethDst, ethType: dv.getUint16(12), src: InetAddr.fromBytes(b, 22).toString(), dst: InetAddr.fromBytes(b, 38).toString(), nh: b[20]!,
    hlim: b[21]!, payload: b.subarray(54, 54 + dv.getUint16(18)),
  };
}

export { Rng };
