/**
 * Segment-level wire helpers for the TCP test harness (not a test file):
 *  - `SegSpec` → a complete Ethernet / IPv4|IPv6 / TCP frame with valid checksums (`buildFrame`),
 *    options either described (`OptSpec`, written in Linux's order) or given as raw bytes;
 *  - a transmitted frame → a parsed `Seg` (`parseFrame`), with its IP and TCP checksums verified
 *    by an independent RFC 1071 sum, and `segToString` in tcpdump / packetdrill notation
 *    (`S. 1000:1000(0) ack 5001 win 65535 <mss 1460,nop,wscale 7>`).
 */
import { InetAddr } from '../../../src/inet/index.js';
import { tcpFlagsToString } from '../../../src/wire/tcp.js';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const IPPROTO_TCP = 6;

/** TCP options to write, in Linux's layout (MSS; SACK-permitted+TS | NOP NOP TS | NOP NOP SACK-permitted; NOP WS; NOP NOP SACK) */
export interface OptSpec {
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  /** timestamps: [TSval, TSecr] */
  ts?: readonly [number, number];
  /** SACK blocks [start, end) */
  sack?: readonly (readonly [number, number])[];
}

/** one segment to inject (ports default to the connection's, window to 65535) */
export interface SegSpec {
  flags: number;
  seq: number;
  ack?: number;
  window?: number;
  urgent?: number;
  /** described options, or the raw option bytes (padded with EOL to a multiple of 4) */
  options?: OptSpec | Uint8Array;
  /** payload bytes, or a length (filled with a counting pattern from `seq`) */
  payload?: Uint8Array | number;
  sport?: number;
  dport?: number;
  /** IP TTL / hop limit (default 64) */
  ttl?: number;
}

/** parsed TCP options of a transmitted segment */
export interface SegOptions {
  mss: number | null;
  wscale: number | null;
  sackOk: boolean;
  ts: { val: number; ecr: number } | null;
  sack: [number, number][];
  /** packetdrill-style text of every option in wire order ("mss 1460,nop,wscale 7"), '' if none */
  text: string;
}

/** a transmitted TCP segment */
export interface Seg {
  /** virtual time it left the device, µs */
  t: number;
  family: 4 | 6;
  src: InetAddr;
  dst: InetAddr;
  ttl: number;
  tos: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent: number;
  options: SegOptions;
  payload: Uint8Array;
  /** the whole frame */
  frame: Uint8Array;
  /** checksum problems found (empty when both are right) */
  csumErrors: string[];
}

/** the byte of a payload given by length: a pattern keyed by its sequence number */
export function patternByte(seq: number): number {
  return (seq * 7 + 3) & 0xff;
}

export function patternPayload(seq: number, len: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = patternByte(seq + i);
  return p;
}

/** encodes `o` in Linux's order; the result is a multiple of 4 bytes */
export function encodeOptions(o: OptSpec): Uint8Array {
  const b: number[] = [];
  const u16 = (v: number): void => { b.push((v >>> 8) & 0xff, v & 0xff); };
  const u32 = (v: number): void => { b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff); };
  if (o.mss !== undefined) {
    b.push(2, 4);
    u16(o.mss);
  }
  if (o.ts !== undefined) {
    if (o.sackOk) b.push(4, 2);
    else b.push(1, 1);
    b.push(8, 10);
    u32(o.ts[0]);
    u32(o.ts[1]);
  } else if (o.sackOk) {
    b.push(1, 1, 4, 2);
  }
  if (o.wscale !== undefined) b.push(1, 3, 3, o.wscale);
  if (o.sack !== undefined && o.sack.length > 0) {
    b.push(1, 1, 5, 2 + 8 * o.sack.length);
    for (const [s, e] of o.sack) {
      u32(s);
      u32(e);
    }
  }
  return Uint8Array.from(b);
}

/** one's-complement sum of [off, off+len) added to `seed`, folded to 16 bits (RFC 1071) */
export function sum16(b: Uint8Array, off: number, len: number, seed = 0): number {
  let s = seed;
  for (let i = 0; i < len; i += 2) {
    s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function addrBytes(a: InetAddr, family: 4 | 6): Uint8Array {
  return family === 4 ? a.toBytes(true) : a.toBytes(false);
}

function pseudo(src: InetAddr, dst: InetAddr, family: 4 | 6, l4len: number): number {
  const s = addrBytes(src, family);
  const d = addrBytes(dst, family);
  let sum = sum16(s, 0, s.length);
  sum = sum16(d, 0, d.length, sum);
  sum += IPPROTO_TCP + (l4len & 0xffff) + (l4len >>> 16);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export interface FrameAddrs {
  family: 4 | 6;
  srcMac: number;
  dstMac: number;
  src: InetAddr;
  dst: InetAddr;
}

function putMac(b: Uint8Array, off: number, mac: number): void {
  for (let i = 5; i >= 0; i--) {
    b[off + i] = mac % 256;
    mac = Math.floor(mac / 256);
  }
}

/** the option bytes a spec asks for (raw bytes padded with EOL to 4) */
export function optionBytes(o: OptSpec | Uint8Array | undefined): Uint8Array {
  if (o === undefined) return new Uint8Array(0);
  if (o instanceof Uint8Array) {
    const out = new Uint8Array((o.length + 3) & ~3);
    out.set(o);
    return out;
  }
  return encodeOptions(o);
}

/** builds the frame for `s` (ports must be set); checksums are computed here */
export function buildFrame(a: FrameAddrs, s: SegSpec & { sport: number; dport: number }): Uint8Array {
  const opts = optionBytes(s.options);
  if (opts.length > 40) throw new RangeError(`TCP options too long: ${opts.length}`);
  const payload = typeof s.payload === 'number' ? patternPayload(s.seq, s.payload) : (s.payload ?? new Uint8Array(0));
  const thl = 20 + opts.length;
  const l4len = thl + payload.length;
  const l3len = a.family === 4 ? 20 : 40;
  const f = new Uint8Array(14 + l3len + l4len);
  const dv = new DataView(f.buffer);
  putMac(f, 0, a.dstMac);
  putMac(f, 6, a.srcMac);
  dv.setUint16(12, a.family === 4 ? ETH_P_IP : ETH_P_IPV6);
  const ip = 14;
  const ttl = s.ttl ?? 64;
  if (a.family === 4) {
    f[ip] = 0x45;
    dv.setUint16(ip + 2, 20 + l4len);
    dv.setUint16(ip + 4, 0);
    dv.setUint16(ip + 6, 0x4000);
    f[ip + 8] = ttl;
    f[ip + 9] = IPPROTO_TCP;
    f.set(addrBytes(a.src, 4), ip + 12);
    f.set(addrBytes(a.dst, 4), ip + 16);
    dv.setUint16(ip + 10, ~sum16(f, ip, 20) & 0xffff);
  } else {
    dv.setUint32(ip, 0x60000000);
    dv.setUint16(ip + 4, l4len);
    f[ip + 6] = IPPROTO_TCP;
    f[ip + 7] = ttl;
    f.set(addrBytes(a.src, 6), ip + 8);
    f.set(addrBytes(a.dst, 6), ip + 24);
  }
  const t = ip + l3len;
  dv.setUint16(t, s.sport);
  dv.setUint16(t + 2, s.dport);
  dv.setUint32(t + 4, s.seq >>> 0);
  dv.setUint32(t + 8, (s.ack ?? 0) >>> 0);
  f[t + 12] = (thl >>> 2) << 4;
  f[t + 13] = s.flags & 0xff;
  dv.setUint16(t + 14, s.window ?? 65535);
  dv.setUint16(t + 18, s.urgent ?? 0);
  f.set(opts, t + 20);
  f.set(payload, t + thl);
  const c = ~sum16(f, t, l4len, pseudo(a.src, a.dst, a.family, l4len)) & 0xffff;
  dv.setUint16(t + 16, c);
  return f;
}

function parseOptions(b: Uint8Array, off: number, len: number): SegOptions {
  const o: SegOptions = { mss: null, wscale: null, sackOk: false, ts: null, sack: [], text: '' };
  const parts: string[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = off;
  const end = off + len;
  while (i < end) {
    const kind = b[i]!;
    if (kind === 0) {
      parts.push('eol');
      break;
    }
    if (kind === 1) {
      parts.push('nop');
      i++;
      continue;
    }
    const ol = i + 1 < end ? b[i + 1]! : 0;
    if (ol < 2 || i + ol > end) {
      parts.push(`bad(${kind})`);
      break;
    }
    if (kind === 2 && ol === 4) {
      o.mss = dv.getUint16(i + 2);
      parts.push(`mss ${o.mss}`);
    } else if (kind === 3 && ol === 3) {
      o.wscale = b[i + 2]!;
      parts.push(`wscale ${o.wscale}`);
    } else if (kind === 4 && ol === 2) {
      o.sackOk = true;
      parts.push('sackOK');
    } else if (kind === 8 && ol === 10) {
      o.ts = { val: dv.getUint32(i + 2), ecr: dv.getUint32(i + 6) };
      parts.push(`TS val ${o.ts.val} ecr ${o.ts.ecr}`);
    } else if (kind === 5 && ol >= 10 && (ol - 2) % 8 === 0) {
      const blocks: string[] = [];
      for (let k = i + 2; k < i + ol; k += 8) {
        o.sack.push([dv.getUint32(k), dv.getUint32(k + 4)]);
        blocks.push(`${dv.getUint32(k)}:${dv.getUint32(k + 4)}`);
      }
      parts.push(`sack ${blocks.join(' ')}`);
    } else {
      parts.push(`opt${kind}(${ol})`);
    }
    i += ol;
  }
  o.text = parts.join(',');
  return o;
}

/** parses a transmitted frame; null for anything that is not a TCP segment in IPv4 / IPv6 */
export function parseFrame(frame: Uint8Array, t: number): Seg | null {
  if (frame.length < 14 + 20) return null;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const et = dv.getUint16(12);
  const ip = 14;
  let family: 4 | 6;
  let l4: number;
  let l4len: number;
  let src: InetAddr;
  let dst: InetAddr;
  let ttl: number;
  let tos: number;
  const errors: string[] = [];
  if (et === ETH_P_IP) {
    const ihl = (frame[ip]! & 15) * 4;
    if (frame[ip + 9] !== IPPROTO_TCP || (dv.getUint16(ip + 6) & 0x3fff) !== 0) return null;
    family = 4;
    l4 = ip + ihl;
    l4len = dv.getUint16(ip + 2) - ihl;
    src = InetAddr.v4(dv.getUint32(ip + 12));
    dst = InetAddr.v4(dv.getUint32(ip + 16));
    ttl = frame[ip + 8]!;
    tos = frame[ip + 1]!;
    if (sum16(frame, ip, ihl) !== 0xffff) errors.push('bad IPv4 header checksum');
  } else if (et === ETH_P_IPV6) {
    if (frame.length < 14 + 40 || frame[ip + 6] !== IPPROTO_TCP) return null;
    family = 6;
    l4 = ip + 40;
    l4len = dv.getUint16(ip + 4);
    src = InetAddr.fromBytes(frame.subarray(ip + 8, ip + 24));
    dst = InetAddr.fromBytes(frame.subarray(ip + 24, ip + 40));
    ttl = frame[ip + 7]!;
    tos = (dv.getUint32(ip) >>> 20) & 0xff;
  } else {
    return null;
  }
  if (l4 + l4len > frame.length || l4len < 20) return null;
  const thl = (frame[l4 + 12]! >>> 4) * 4;
  if (sum16(frame, l4, l4len, pseudo(src, dst, family, l4len)) !== 0xffff) errors.push('bad TCP checksum');
  return {
    t, family, src, dst, ttl, tos,
    sport: dv.getUint16(l4),
    dport: dv.getUint16(l4 + 2),
    seq: dv.getUint32(l4 + 4),
    ack: dv.getUint32(l4 + 8),
    flags: frame[l4 + 13]!,
    window: dv.getUint16(l4 + 14),
    urgent: dv.getUint16(l4 + 18),
    options: parseOptions(frame, l4 + 20, Math.max(0, thl - 20)),
    payload: frame.slice(l4 + thl, l4 + l4len),
    frame: frame.slice(),
    csumErrors: errors,
  };
}

/**
 * tcpdump / packetdrill notation; with `base` the sequence numbers are shown relative to the
 * ISNs (seq − base.seq, ack − base.ack) as packetdrill does.
 */
export function segToString(s: Seg, base?: { seq: number; ack: number }): string {
  const seq = base ? (s.seq - base.seq) >>> 0 : s.seq;
  const ack = base ? (s.ack - base.ack) >>> 0 : s.ack;
  const len = s.payload.length;
  let out = `${tcpFlagsToString(s.flags)} ${seq}:${(seq + len) >>> 0}(${len})`;
  if (s.flags & 0x10) out += ` ack ${ack}`;
  out += ` win ${s.window}`;
  if (s.options.text !== '') out += ` <${s.options.text}>`;
  return `${s.sport} > ${s.dport} ${out}`;
}
