// Test harness for test/net: hosts (MemSpace + SkbCache + Netif + NetDevice + Ipv4Stack behind an
// InetLayer) on a virtual clock, a hub link that delivers frames after a fixed delay through
// Timers and records every frame, frame builders with an independent checksum, and virtual-time
// drivers. `Host.stack` is a thin number-address adapter over the real objects so the older
// tests read as before; new tests use `v4`, `inet`, `cfg`, `netif` directly. Not a test file.
import { InetAddr } from '../../src/inet/index.js';
import { MemSpace } from '../../src/mem/index.js';
import { NetDevice, type LinkPort, type NetDeviceOptions } from '../../src/netdev/index.js';
import {
  InetLayer, IpConfig, Ipv4Stack, ProtocolTable, type IcmpErr, type NeighParams, type OutputOptions, type PingOptions,
  type PingResult, type ReasmParams,
} from '../../src/net/index.js';
import { Netif } from '../../src/netif/index.js';
import { ICMP_DEST_UNREACH } from '../../src/wire/icmp.js';
import { SkbCache, skbCopyBits, skbFree, type SkBuff } from '../../src/skb/index.js';
import { Timer, VirtualScheduler, type TimerTarget } from '../../src/time/index.js';

export interface Frame {
  /** virtual time of transmission (µs) */
  t: number;
  /** name of the sending host */
  from: string;
  bytes: Uint8Array;
}

interface InFlight {
  skb: SkBuff;
  from: NetDevice;
  timer: Timer;
}

/** A broadcast domain: every frame reaches every other attached device after `delayUs`. */
export class TestLink implements LinkPort, TimerTarget {
  readonly ends: { dev: NetDevice; host: string }[] = [];
  readonly frames: Frame[] = [];
  private readonly inflight = new Map<number, InFlight>();
  private nextId = 0;
  /** drop every frame (a dead cable) */
  cut = false;

  constructor(readonly sched: VirtualScheduler, readonly delayUs = 10) {}

  attach(dev: NetDevice, host: string): void {
    this.ends.push({ dev, host });
    dev.link = this;
  }

  transmit(skb: SkBuff, from: NetDevice): void {
    const bytes = new Uint8Array(skb.len);
    if (skbCopyBits(skb, 0, bytes, 0, skb.len) !== 0) throw new Error('link: unreadable frame');
    const host = this.ends.find((e) => e.dev === from)?.host ?? '?';
    this.frames.push({ t: this.sched.now(), from: host, bytes });
    if (this.cut) {
      skbFree(skb);
      return;
    }
    const id = this.nextId++;
    const timer = new Timer(this, id);
    this.inflight.set(id, { skb, from, timer });
    this.sched.arm(timer, this.sched.now() + this.delayUs);
  }

  onTimer(t: Timer): void {
    const f = this.inflight.get(t.kind)!;
    this.inflight.delete(t.kind);
    for (const e of this.ends) if (e.dev !== f.from) e.dev.receiveFrame(f.skb);
    skbFree(f.skb);
  }

  /** frames sent by `host` */
  from(host: string): Frame[] {
    return this.frames.filter((f) => f.from === host);
  }
}

/** the pre-InetLayer handler shape, kept for the older tests */
export interface LegacyHandler {
  ipRcv(skb: SkBuff, src: number, dst: number, dev: NetDevice): void;
  ipErr?(e: IcmpErr): void;
}

/** number-address adapter over the new objects (older tests) */
export class LegacyStack {
  constructor(readonly v4: Ipv4Stack, readonly cfg: IpConfig, readonly netif: Netif, readonly protos: ProtocolTable) {}
  get stats(): Ipv4Stack['stats'] { return this.v4.stats; }
  get icmp(): Ipv4Stack['icmp'] { return this.v4.icmp; }
  get neigh(): Ipv4Stack['neigh'] { return this.v4.neigh; }
  get sched(): Ipv4Stack['sched'] { return this.v4.sched; }
  addDevice(dev: NetDevice): void { this.netif.addDevice(dev); }
  addAddress(dev: string, cidr: string): void { this.cfg.addAddress(dev, cidr); }
  addRoute(r: { dst: string; via?: string; dev?: string }): void { this.cfg.addRoute(r); }
  routes(): ReturnType<Ipv4Stack['routes']> { return this.v4.routes().filter((r) => r.dev !== 'lo'); }
  addresses(): ReturnType<Ipv4Stack['addresses']> { return this.v4.addresses().filter((a) => a.dev !== 'lo'); }
  isLocalAddress(a: number): boolean { return this.v4.isLocalV4(a); }
  routeOutput(d: number): { dev: NetDevice; src: number; nexthop: number; mtu: number; local: boolean } | null {
    const r = this.v4.route(InetAddr.v4(d));
    return r === null ? null : { dev: r.dev, src: r.src.v4, nexthop: r.nexthop.v4, mtu: r.mtu, local: r.local };
  }
  registerProtocol(proto: number, h: LegacyHandler): void {
    this.protos.set(proto, {
      rcv: (skb, m) => h.ipRcv(skb, m.src.w3, m.dst.w3, m.dev!),
      err: h.ipErr === undefined ? undefined : (e) => h.ipErr!(e),
    });
  }
  output(skb: SkBuff, src: number, dst: number, proto: number, opts?: OutputOptions): number {
    return this.v4.output(skb, InetAddr.v4(src), InetAddr.v4(dst), proto, opts);
  }
  ping(dst: string | number, opts?: PingOptions): Promise<PingResult> { return this.v4.ping(dst, opts); }
  addNeighbour(dev: string, ip: string, mac: number): void { this.cfg.addNeighbour(dev, ip, mac); }
  neighbours(): ReturnType<Ipv4Stack['neighbours']> { return this.v4.neighbours(); }
  confirmNeighbour(dev: NetDevice, nexthop: number): void { this.v4.confirmNeighbour(dev, InetAddr.v4(nexthop)); }
  sendDestUnreach(skb: SkBuff, code: number, info = 0): void { this.v4.icmp.sendError(skb, ICMP_DEST_UNREACH, code, info); }
}

export interface Host {
  name: string;
  mem: MemSpace;
  skbs: SkbCache;
  dev: NetDevice;
  netif: Netif;
  protos: ProtocolTable;
  inet: InetLayer;
  v4: Ipv4Stack;
  cfg: IpConfig;
  stack: LegacyStack;
}

export interface StackParams {
  neigh?: Partial<NeighParams>;
  reasm?: Partial<ReasmParams>;
}

export const MAC_A = 0x02000000000a;
export const MAC_B = 0x02000000000b;
export const MAC_C = 0x02000000000c;

export function makeHost(
  sched: VirtualScheduler, name: string, mac: number, cidr: string | null, link: TestLink | null, devOpts: NetDeviceOptions = {},
  params: StackParams = {},
): Host {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem);
  const netif = new Netif(mem, skbs, sched);
  const dev = new NetDevice(mem, skbs, sched, 'eth0', 2, { mac, ...devOpts });
  netif.addDevice(dev);
  const protos = new ProtocolTable();
  const inet = new InetLayer(protos);
  const v4 = new Ipv4Stack({ sched, skbs, netif, protos, neigh: params.neigh, reasm: params.reasm });
  inet.attach(v4);
  const cfg = new IpConfig(netif, v4);
  if (cidr !== null) cfg.addAddress('eth0', cidr);
  if (link !== null) link.attach(dev, name);
  return { name, mem, skbs, dev, netif, protos, inet, v4, cfg, stack: new LegacyStack(v4, cfg, netif, protos) };
}

/** A (10.0.0.1/24, MAC_A) and B (10.0.0.2/24, MAC_B) on one link */
export function twoHosts(delayUs = 10, devOpts: NetDeviceOptions = {}): { sched: VirtualScheduler; link: TestLink; a: Host; b: Host } {
  const sched = new VirtualScheduler();
  const link = new TestLink(sched, delayUs);
  const a = makeHost(sched, 'A', MAC_A, '10.0.0.1/24', link, devOpts);
  const b = makeHost(sched, 'B', MAC_B, '10.0.0.2/24', link, devOpts);
  return { sched, link, a, b };
}

/** fires every timer due up to now + `us`, then moves the clock to that instant */
export function runFor(sched: VirtualScheduler, us: number): void {
  const end = sched.now() + us;
  while (sched.step(end)) { /* fire */ }
  sched.advanceTo(end);
}

/** fires timers until none is due before `limitUs` (absolute) */
export function runUntil(sched: VirtualScheduler, limitUs: number): void {
  while (sched.step(limitUs)) { /* fire */ }
}

/** settles a promise's state for inspection after driving the scheduler */
export function track<T>(p: Promise<T>): { value?: T; error?: unknown; at?: number; done: boolean } {
  const s: { value?: T; error?: unknown; at?: number; done: boolean } = { done: false };
  p.then((v) => { s.value = v; s.done = true; }, (e: unknown) => { s.error = e; s.done = true; });
  return s;
}

/** lets pending promise callbacks run */
export function flushMicrotasks(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

// ---- bytes ----

export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  if (t.length % 2 !== 0) throw new Error(`odd hex length ${t.length}`);
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** naive RFC 1071 checksum (inverted), independent of src/wire/checksum.ts */
export function naiveCsum(b: Uint8Array, off = 0, len = b.length - off, seed = 0): number {
  let s = seed;
  for (let i = 0; i < len; i += 2) {
    s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

export function macBytes(m: number): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 5; i >= 0; i--) {
    out[i] = m % 256;
    m = Math.floor(m / 256);
  }
  return out;
}

export function ipBytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

export function u16(v: number): Uint8Array {
  return Uint8Array.of(v >>> 8, v & 0xff);
}

export function ethHeader(dst: number, src: number, type: number): Uint8Array {
  return concat(macBytes(dst), macBytes(src), u16(type));
}

export interface IpOpts {
  tos?: number;
  ident?: number;
  frag?: number;
  ttl?: number;
  proto: number;
  src: string;
  dst: string;
  /** override total length */
  totalLen?: number;
  /** override the version/IHL byte */
  vihl?: number;
  /** override the checksum */
  csum?: number;
  /** options bytes (IHL grows) */
  options?: Uint8Array;
}

/** an IPv4 header (+ payload) with a naive checksum */
export function ipPacket(o: IpOpts, payload: Uint8Array): Uint8Array {
  const opt = o.options ?? new Uint8Array(0);
  const hl = 20 + opt.length;
  const h = new Uint8Array(hl);
  h[0] = o.vihl ?? 0x40 | (hl >> 2);
  h[1] = o.tos ?? 0;
  h.set(u16(o.totalLen ?? hl + payload.length), 2);
  h.set(u16(o.ident ?? 0x1234), 4);
  h.set(u16(o.frag ?? 0x4000), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  h.set(ipBytes(o.src), 12);
  h.set(ipBytes(o.dst), 16);
  h.set(opt, 20);
  h.set(u16(o.csum ?? naiveCsum(h)), 10);
  return concat(h, payload);
}

/** an ICMP message with a naive checksum */
export function icmpMsg(type: number, code: number, rest: number, data: Uint8Array): Uint8Array {
  const m = concat(Uint8Array.of(type, code, 0, 0, rest >>> 24, (rest >>> 16) & 0xff, (rest >>> 8) & 0xff, rest & 0xff), data);
  m.set(u16(naiveCsum(m)), 2);
  return m;
}

/** the ping payload pattern: bytes i & 0xff */
export function pattern(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = i & 0xff;
  return p;
}

/** hands a crafted frame to `dev` as the wire would (the device copies it) */
export function inject(h: { skbs: SkbCache; dev: NetDevice }, frame: Uint8Array): void {
  const buf = new Uint8Array(frame);
  const skb = h.skbs.wrap(buf, new DataView(buf.buffer));
  h.dev.receiveFrame(skb);
  skbFree(skb);
}

/** hands a frame straight to the host's link layer (bypassing the NIC model); takes `skb` */
export function netifReceive(h: Host, skb: SkBuff): void {
  h.netif.netifReceive(skb, h.dev);
}
