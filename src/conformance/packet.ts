/**
 * Packets on the interpreter's side of the test device: builds the inbound frames a script
 * injects (Ethernet + IPv4/IPv6 + TCP with the option bytes exactly as written, or an ICMP /
 * ICMPv6 error quoting a TCP header) with correct checksums, and parses the frames the stack
 * sends into `LivePacket`s for matching. Not a per-packet path of the stack: clarity over speed.
 */
import type { InetAddr } from '../inet/index.js';
import type { TcpOptSpec } from './ast.js';

export const FLAG_FIN = 0x01;
export const FLAG_SYN = 0x02;
export const FLAG_RST = 0x04;
export const FLAG_PSH = 0x08;
export const FLAG_ACK = 0x10;
export const FLAG_URG = 0x20;
export const FLAG_ECE = 0x40;
export const FLAG_CWR = 0x80;
/** AE (accurate ECN), the low bit of byte 12, kept as bit 8 here */
export const FLAG_AE = 0x100;

/** flag letters → bits; null for AccECN digits (not supported) */
export function flagBits(flags: string): number | null {
  let b = 0;
  for (const c of flags) {
    switch (c) {
      case 'F': b |= FLAG_FIN; break;
      case 'S': b |= FLAG_SYN; break;
      case 'R': b |= FLAG_RST; break;
      case 'P': b |= FLAG_PSH; break;
      case '.': b |= FLAG_ACK; break;
      case 'U': b |= FLAG_URG; break;
      case 'E': b |= FLAG_ECE; break;
      case 'W': b |= FLAG_CWR; break;
      case 'A': b |= FLAG_AE; break;
      default: return null;
    }
  }
  return b;
}

/** bits → packetdrill's letters (`S.`, `P.`, `F.`) */
export function flagString(b: number): string {
  let s = '';
  if (b & FLAG_FIN) s += 'F';
  if (b & FLAG_SYN) s += 'S';
  if (b & FLAG_RST) s += 'R';
  if (b & FLAG_PSH) s += 'P';
  if (b & FLAG_URG) s += 'U';
  if (b & FLAG_ECE) s += 'E';
  if (b & FLAG_CWR) s += 'W';
  if (b & FLAG_AE) s += 'A';
  if (b & FLAG_ACK) s += '.';
  return s === '' ? '-' : s;
}

/** what the stack sent (a TCP segment of either family) */
export interface LivePacket {
  /** virtual time it left the device, µs */
  t: number;
  family: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  tos: number;
  ttl: number;
  flowlabel: number;
  ipv4CsumOk: boolean;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  options: Uint8Array;
  payload: Uint8Array;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

function sum16(b: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  let i = 0;
  for (; i + 1 < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  if (i < len) s += b[off + i]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** the Internet checksum of `len` bytes plus an accumulated sum */
export function inetChecksum(b: Uint8Array, off: number, len: number, acc = 0): number {
  return ~fold(sum16(b, off, len, acc)) & 0xffff;
}

function pseudo(family: 4 | 6, src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  let s = sum16(src, 0, src.length) + sum16(dst, 0, dst.length);
  s += proto + (family === 4 ? len : (len >>> 16) + (len & 0xffff));
  return s;
}

export interface IpFields {
  family: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  tos: number;
  ttl: number;
  flowlabel: number;
}

/** wraps an L4 payload in an IPv4/IPv6 header (no options, DF set, id 0) */
export function buildIp(ip: IpFields, proto: number, l4: Uint8Array): Uint8Array {
  if (ip.family === 4) {
    const p = new Uint8Array(20 + l4.length);
    const dv = new DataView(p.buffer);
    p[0] = 0x45;
    p[1] = ip.tos;
    dv.setUint16(2, p.length);
    dv.setUint16(6, 0x4000);
    p[8] = ip.ttl;
    p[9] = proto;
    p.set(ip.src, 12);
    p.set(ip.dst, 16);
    dv.setUint16(10, inetChecksum(p, 0, 20));
    p.set(l4, 20);
    return p;
  }
  const p = new Uint8Array(40 + l4.length);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, ((6 << 28) | (ip.tos << 20) | (ip.flowlabel & 0xfffff)) >>> 0);
  dv.setUint16(4, l4.length);
  p[6] = proto;
  p[7] = ip.ttl;
  p.set(ip.src, 8);
  p.set(ip.dst, 24);
  p.set(l4, 40);
  return p;
}

export interface TcpFields {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  options: Uint8Array;
  payloadLen: number;
}

/** a TCP segment (zero payload bytes) with its checksum for `ip` */
export function buildTcp(ip: IpFields, f: TcpFields): Uint8Array {
  const hl = 20 + f.options.length;
  const t = new Uint8Array(hl + f.payloadLen);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, f.sport);
  dv.setUint16(2, f.dport);
  dv.setUint32(4, f.seq >>> 0);
  dv.setUint32(8, f.ack >>> 0);
  t[12] = ((hl / 4) << 4) | ((f.flags >> 8) & 1);
  t[13] = f.flags & 0xff;
  dv.setUint16(14, f.win & 0xffff);
  dv.setUint16(18, f.urg & 0xffff);
  t.set(f.options, 20);
  dv.setUint16(16, inetChecksum(t, 0, t.length, pseudo(ip.family, ip.src, ip.dst, 6, t.length)));
  return t;
}

/** an ICMP (v4) or ICMPv6 error quoting `quoted` (an IP packet; its first bytes are kept) */
export function buildIcmpError(ip: IpFields, type: number, code: number, info: number, quoted: Uint8Array): Uint8Array {
  const q = quoted.subarray(0, Math.min(quoted.length, ip.family === 4 ? (quoted[0]! & 0xf) * 4 + 8 : 40 + 8));
  const m = new Uint8Array(8 + q.length);
  const dv = new DataView(m.buffer);
  m[0] = type;
  m[1] = code;
  dv.setUint32(4, info >>> 0);
  m.set(q, 8);
  if (ip.family === 4) dv.setUint16(2, inetChecksum(m, 0, m.length));
  else dv.setUint16(2, inetChecksum(m, 0, m.length, pseudo(6, ip.src, ip.dst, 58, m.length)));
  return buildIp(ip, ip.family === 4 ? 1 : 58, m);
}

/** an Ethernet frame around an IP packet */
export function ethFrame(dstMac: number, srcMac: number, family: 4 | 6, ipPkt: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + ipPkt.length);
  const dv = new DataView(f.buffer);
  dv.setUint16(0, Math.floor(dstMac / 2 ** 32));
  dv.setUint32(2, dstMac >>> 0);
  dv.setUint16(6, Math.floor(srcMac / 2 ** 32));
  dv.setUint32(8, srcMac >>> 0);
  dv.setUint16(12, family === 4 ? ETH_P_IP : ETH_P_IPV6);
  f.set(ipPkt, 14);
  return f;
}

/** address bytes on the wire: 4 for IPv4, 16 for IPv6 */
export function addrBytes(a: InetAddr, family: 4 | 6): Uint8Array {
  return a.toBytes(family === 4);
}

/** parses an Ethernet frame the stack sent; null when it is not TCP over IPv4/IPv6 */
export function parseFrame(frame: Uint8Array, t: number): LivePacket | null {
  if (frame.length < 14) return null;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const et = dv.getUint16(12);
  let off = 14;
  let family: 4 | 6;
  let src: Uint8Array;
  let dst: Uint8Array;
  let tos: number;
  let ttl: number;
  let flowlabel = 0;
  let l4len: number;
  let csumOk = true;
  if (et === ETH_P_IP) {
    if (frame.length < off + 20) return null;
    const ihl = (frame[off]! & 0xf) * 4;
    if (frame[off + 9] !== 6) return null;
    family = 4;
    tos = frame[off + 1]!;
    ttl = frame[off + 8]!;
    src = frame.slice(off + 12, off + 16);
    dst = frame.slice(off + 16, off + 20);
    csumOk = inetChecksum(frame, off, ihl) === 0;
    const total = dv.getUint16(off + 2);
    l4len = total - ihl;
    off += ihl;
  } else if (et === ETH_P_IPV6) {
    if (frame.length < off + 40) return null;
    if (frame[off + 6] !== 6) return null;
    family = 6;
    const w = dv.getUint32(off);
    tos = (w >>> 20) & 0xff;
    flowlabel = w & 0xfffff;
    ttl = frame[off + 7]!;
    src = frame.slice(off + 8, off + 24);
    dst = frame.slice(off + 24, off + 40);
    l4len = dv.getUint16(off + 4);
    off += 40;
  } else {
    return null;
  }
  if (l4len < 20 || off + l4len > frame.length) return null;
  const doff = (frame[off + 12]! >> 4) * 4;
  if (doff < 20 || doff > l4len) return null;
  return {
    t, family, src, dst, tos, ttl, flowlabel, ipv4CsumOk: csumOk,
    sport: dv.getUint16(off),
    dport: dv.getUint16(off + 2),
    seq: dv.getUint32(off + 4),
    ack: dv.getUint32(off + 8),
    flags: frame[off + 13]! | ((frame[off + 12]! & 1) << 8),
    win: dv.getUint16(off + 14),
    urg: dv.getUint16(off + 18),
    options: frame.slice(off + 20, off + doff),
    payload: frame.slice(off + doff, off + l4len),
  };
}

/** one option as found on the wire */
export interface LiveOpt {
  kind: number;
  data: Uint8Array;
}

/** splits option bytes into options; null when malformed */
export function splitOptions(b: Uint8Array): LiveOpt[] | null {
  const out: LiveOpt[] = [];
  let i = 0;
  while (i < b.length) {
    const k = b[i]!;
    if (k === 0 || k === 1) {
      out.push({ kind: k, data: new Uint8Array(0) });
      i++;
      continue;
    }
    if (i + 1 >= b.length) return null;
    const l = b[i + 1]!;
    if (l < 2 || i + l > b.length) return null;
    out.push({ kind: k, data: b.slice(i + 2, i + l) });
    i += l;
  }
  return out;
}

/** values an inbound option list needs from the runner */
export interface OptResolver {
  /** the wire value of a relative SACK edge (inbound: relative to the stack's ISN) */
  sackEdge(rel: number): number;
  /** the wire TS ecr for a script ecr (inbound with ACK: the live val the stack sent) or an error text */
  tsEcr(scriptEcr: number): number | string;
}

/** encodes an inbound option list exactly as written; a string is an error */
export function encodeOptions(opts: readonly TcpOptSpec[], r: OptResolver): Uint8Array | string {
  const b: number[] = [];
  const u32 = (v: number): void => {
    b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  for (const o of opts) {
    switch (o.kind) {
      case 'nop': b.push(1); break;
      case 'eol': b.push(0); break;
      case 'sackOK': b.push(4, 2); break;
      case 'mss': b.push(2, 4, (o.v >> 8) & 0xff, o.v & 0xff); break;
      case 'wscale': b.push(3, 3, o.v & 0xff); break;
      case 'sack':
        b.push(5, 2 + 8 * o.blocks.length);
        for (const [x, y] of o.blocks) {
          u32(r.sackEdge(x));
          u32(r.sackEdge(y));
        }
        break;
      case 'ts': {
        const e = r.tsEcr(o.ecr);
        if (typeof e === 'string') return e;
        b.push(8, 10);
        u32(o.val);
        u32(e);
        break;
      }
      case 'fo':
      case 'foexp': {
        const ck = hexBytes(o.cookie);
        if (o.kind === 'fo') b.push(34, 2 + ck.length, ...ck);
        else b.push(254, 4 + ck.length, 0xf9, 0x89, ...ck);
        break;
      }
      case 'md5': {
        const d = hexBytes(o.hex);
        b.push(19, 2 + d.length, ...d);
        break;
      }
      case 'unknown':
        return `TCP option '${o.text}'`;
    }
  }
  if (b.length > 40) return `option list of ${b.length} bytes (over 40)`;
  if (b.length % 4 !== 0) return `option list of ${b.length} bytes (not a multiple of 4)`;
  return Uint8Array.from(b);
}

export function hexBytes(h: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < h.length; i += 2) out.push(parseInt(h.slice(i, i + 2), 16));
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * A readable rendering of live options in packetdrill's words (relative SACK edges via `rel`;
 * TS val through `tsVal`, which may hide a value that is not compared)
 */
export function describeOptions(opts: LiveOpt[], rel: (v: number) => number, tsVal: (v: number) => string = String): string {
  const parts: string[] = [];
  for (const o of opts) {
    const dv = new DataView(o.data.buffer, o.data.byteOffset, o.data.byteLength);
    switch (o.kind) {
      case 0: parts.push('eol'); break;
      case 1: parts.push('nop'); break;
      case 2: parts.push(o.data.length === 2 ? `mss ${dv.getUint16(0)}` : 'mss ?'); break;
      case 3: parts.push(o.data.length === 1 ? `wscale ${o.data[0]}` : 'wscale ?'); break;
      case 4: parts.push('sackOK'); break;
      case 5: {
        const bl: string[] = [];
        for (let i = 0; i + 8 <= o.data.length; i += 8) bl.push(`${rel(dv.getUint32(i))}:${rel(dv.getUint32(i + 4))}`);
        parts.push(`sack ${bl.join(' ')}`);
        break;
      }
      case 8: parts.push(o.data.length === 8 ? `TS val ${tsVal(dv.getUint32(0))} ecr ${dv.getUint32(4)}` : 'TS ?'); break;
      case 34: parts.push(o.data.length === 0 ? 'FO' : `FO ${toHex(o.data)}`); break;
      case 254: parts.push(`FOEXP ${toHex(o.data.subarray(2))}`); break;
      default: parts.push(`kind ${o.kind} len ${o.data.length + 2}`);
    }
  }
  return `<${parts.join(',')}>`;
}
