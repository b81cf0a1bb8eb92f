// Hand-built IPv4/IPv6 frames for the NIC tests, byte by byte (no stack emitters), with an
// independent checksum so that the NIC's own arithmetic is checked against something else.
// Not a test file.
import { InetAddr } from '../../src/inet/index.js';

export const MAC_NIC = 0x020000000002;
export const MAC_PEER = 0x02aa000000ee;

/** RFC 1071 sum over byte arrays, folded (independent of src/wire/checksum) */
export function refSum(parts: Uint8Array[]): number {
  let s = 0;
  let odd = false;
  for (const p of parts) {
    for (const b of p) {
      s += odd ? b : b << 8;
      odd = !odd;
    }
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function addrBytes(a: string): Uint8Array {
  const x = InetAddr.parse(a);
  return x.family === 4 ? x.toBytes(true) : x.toBytes();
}

/** deterministic payload bytes */
export function payloadOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (Math.imul(seed + 7, 2654435761) >>> 0) | 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function eth(etherType: number): Uint8Array {
  const b = new Uint8Array(14);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, Math.floor(MAC_NIC / 0x100000000));
  dv.setUint32(2, MAC_NIC >>> 0);
  dv.setUint16(6, Math.floor(MAC_PEER / 0x100000000));
  dv.setUint32(8, MAC_PEER >>> 0);
  dv.setUint16(12, etherType);
  return b;
}

export interface L4Spec {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  /** TCP option bytes (a multiple of 4) */
  tcpOptions?: Uint8Array;
  payload?: Uint8Array;
  /** wrong checksum on purpose */
  badCsum?: boolean;
}

/** a TCP header + payload with its checksum over `pseudo` (the pseudo-header bytes) */
export function tcpSegment(pseudoOf: (l4len: number) => Uint8Array, s: L4Spec): Uint8Array {
  const opts = s.tcpOptions ?? new Uint8Array(0);
  const payload = s.payload ?? new Uint8Array(0);
  const h = new Uint8Array(20 + opts.length);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, s.sport ?? 40000);
  dv.setUint16(2, s.dport ?? 5201);
  dv.setUint32(4, (s.seq ?? 1000) >>> 0);
  dv.setUint32(8, (s.ack ?? 5000) >>> 0);
  h[12] = ((20 + opts.length) / 4) << 4;
  h[13] = s.flags ?? 0x10;
  dv.setUint16(14, s.window ?? 1024);
  h.set(opts, 20);
  const l4len = h.length + payload.length;
  const c = (~refSum([pseudoOf(l4len), h, payload]) & 0xffff) ^ (s.badCsum ? 0x5a5a : 0);
  dv.setUint16(16, c);
  return cat(h, payload);
}

export function udpDatagram(pseudoOf: (l4len: number) => Uint8Array, s: L4Spec): Uint8Array {
  const payload = s.payload ?? new Uint8Array(0);
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, s.sport ?? 40000);
  dv.setUint16(2, s.dport ?? 5201);
  dv.setUint16(4, 8 + payload.length);
  let c = ~refSum([pseudoOf(8 + payload.length), h, payload]) & 0xffff;
  if (c === 0) c = 0xffff;
  dv.setUint16(6, c);
  return cat(h, payload);
}

export function pseudo4(src: string, dst: string, proto: number): (l4len: number) => Uint8Array {
  return (l4len) => cat(addrBytes(src), addrBytes(dst), Uint8Array.of(0, proto), u16(l4len));
}

export function pseudo6(src: string, dst: string, proto: number): (l4len: number) => Uint8Array {
  return (l4len) => cat(addrBytes(src), addrBytes(dst), u32(l4len), Uint8Array.of(0, 0, 0, proto));
}

export interface Ip4Spec {
  src?: string;
  dst?: string;
  tos?: number;
  ttl?: number;
  id?: number;
  /** flags+offset word (DF = 0x4000, MF = 0x2000, offset in 8-byte units) */
  frag?: number;
  /** option bytes (a multiple of 4) */
  options?: Uint8Array;
  /** Ethernet padding after the datagram */
  pad?: number;
}

/** Ethernet + IPv4 header (IHL from the options) + `l4` bytes of protocol `proto` */
export function ipv4Frame(proto: number, l4: Uint8Array, s: Ip4Spec = {}): Uint8Array {
  const opts = s.options ?? new Uint8Array(0);
  const ihl = 20 + opts.length;
  const h = new Uint8Array(ihl);
  const dv = new DataView(h.buffer);
  h[0] = 0x40 | (ihl >> 2);
  h[1] = s.tos ?? 0;
  dv.setUint16(2, ihl + l4.length);
  dv.setUint16(4, s.id ?? 0);
  dv.setUint16(6, s.frag ?? 0x4000);
  h[8] = s.ttl ?? 64;
  h[9] = proto;
  h.set(addrBytes(s.src ?? '10.0.0.1'), 12);
  h.set(addrBytes(s.dst ?? '10.0.0.2'), 16);
  h.set(opts, 20);
  dv.setUint16(10, ~refSum([h]) & 0xffff);
  return cat(eth(0x0800), h, l4, new Uint8Array(s.pad ?? 0));
}

export interface Ip6Spec {
  src?: string;
  dst?: string;
  tclass?: number;
  flow?: number;
  hop?: number;
  /** extension header chain bytes; `firstNh` is the next-header value that names the first one */
  ext?: Uint8Array;
  firstNh?: number;
}

/** Ethernet + IPv6 header + extension headers + `l4` bytes */
export function ipv6Frame(proto: number, l4: Uint8Array, s: Ip6Spec = {}): Uint8Array {
  const ext = s.ext ?? new Uint8Array(0);
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, ((6 << 28) | ((s.tclass ?? 0) << 20) | (s.flow ?? 0x12345)) >>> 0);
  dv.setUint16(4, ext.length + l4.length);
  h[6] = ext.length > 0 ? (s.firstNh ?? 0) : proto;
  h[7] = s.hop ?? 64;
  h.set(addrBytes(s.src ?? '2001:db8::1'), 8);
  h.set(addrBytes(s.dst ?? '2001:db8::2'), 24);
  return cat(eth(0x86dd), h, ext, l4);
}

/** an options-style extension header (hop-by-hop, destination options) of `len8` × 8 bytes with PadN */
export function optHdr(next: number, len8: number): Uint8Array {
  const b = new Uint8Array(len8 * 8);
  b[0] = next;
  b[1] = len8 - 1;
  b[2] = 1; // PadN
  b[3] = len8 * 8 - 4;
  return b;
}

/** a fragment header */
export function fragHdr(next: number, offsetBytes: number, more: boolean, ident = 0x1234): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = next;
  dv.setUint16(2, (offsetBytes & 0xfff8) | (more ? 1 : 0));
  dv.setUint32(4, ident);
  return b;
}

export const V6_SRC = '2001:db8::1';
export const V6_DST = '2001:db8::2';

/** Ethernet + IPv6 + TCP frame with a valid checksum */
export function tcp6(s: L4Spec & Ip6Spec = {}): Uint8Array {
  return ipv6Frame(6, tcpSegment(pseudo6(s.src ?? V6_SRC, s.dst ?? V6_DST, 6), s), s);
}

export function udp6(s: L4Spec & Ip6Spec = {}): Uint8Array {
  return ipv6Frame(17, udpDatagram(pseudo6(s.src ?? V6_SRC, s.dst ?? V6_DST, 17), s), s);
}

export function tcp4(s: L4Spec & Ip4Spec = {}): Uint8Array {
  return ipv4Frame(6, tcpSegment(pseudo4(s.src ?? '10.0.0.1', s.dst ?? '10.0.0.2', 6), s), s);
}

/** verifies the TCP/UDP checksum of a whole frame (IPv4 or IPv6 without extension headers) independently */
export function l4ChecksumOk(frame: Uint8Array): boolean {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const et = dv.getUint16(12);
  if (et === 0x0800) {
    const ihl = (frame[14]! & 0x0f) * 4;
    const total = dv.getUint16(16);
    const proto = frame[23]!;
    const l4 = frame.subarray(14 + ihl, 14 + total);
    const ph = cat(frame.subarray(26, 34), Uint8Array.of(0, proto), u16(l4.length));
    return refSum([ph, l4]) === 0xffff;
  }
  const plen = dv.getUint16(18);
  const proto = frame[20]!;
  const l4 = frame.subarray(54, 54 + plen);
  const ph = cat(frame.subarray(22, 54), u32(l4.length), Uint8Array.of(0, 0, 0, proto));
  return refSum([ph, l4]) === 0xffff;
}
