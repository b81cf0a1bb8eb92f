// ICMPv6 (RFC 4443) and Neighbor Discovery messages (RFC 4861): View + Reprs.
//
// Contract: Icmpv6View aliases the caller's buffer (see ByteView); `len` is the whole ICMPv6
// message (what follows the last IPv6 extension header), which the checksum covers. check()
// requires ICMPV6_HLEN bytes and does not verify the checksum. The checksum includes the IPv6
// pseudo-header (RFC 8200 §8.1): callers pass its unfolded sum (src/inet `pseudoHeaderSum(src,
// dst, 58, len)`), since this layer knows nothing of the stack's address type. NdOptIter walks
// Neighbor Discovery options and reports a zero-length or overrunning option (RFC 4861 §4.6:
// the packet must be discarded) instead of reading past the message. Parse functions copy what
// they return except echo / error payloads, which alias the view's buffer. Emit functions write
// into a buffer sized with the matching length function and do not validate the Repr.

import { readMac, writeMac } from './addr.js';
import { csumFinish, csumFold, csumPartial } from './checksum.js';
import { WIRE_BAD_OPTION, WIRE_OK, WIRE_TRUNCATED, WIRE_UNSUPPORTED } from './errors.js';
import { readAddrWords, writeAddrWords, type AddrWords } from './ipv6.js';
import { ByteView } from './view.js';

export const ICMPV6_HLEN = 8;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const NDISC_ROUTER_SOLICITATION = 133;
export const NDISC_ROUTER_ADVERTISEMENT = 134;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
export const NDISC_REDIRECT = 137;

// destination unreachable codes
export const ICMPV6_NOROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
export const ICMPV6_NOT_NEIGHBOUR = 2;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
export const ICMPV6_POLICY_FAIL = 5;
export const ICMPV6_REJECT_ROUTE = 6;
// time exceeded codes
export const ICMPV6_EXC_HOPLIMIT = 0;
export const ICMPV6_EXC_FRAGTIME = 1;
// parameter problem codes
export const ICMPV6_HDR_FIELD = 0;
export const ICMPV6_UNK_NEXTHDR = 1;
export const ICMPV6_UNK_OPTION = 2;

// Neighbor Discovery option types
export const ND_OPT_SOURCE_LL_ADDR = 1;
export const ND_OPT_TARGET_LL_ADDR = 2;
export const ND_OPT_PREFIX_INFO = 3;
export const ND_OPT_REDIRECT_HDR = 4;
export const ND_OPT_MTU = 5;

// Neighbor Advertisement flags (byte 4 of the message)
export const ND_NA_ROUTER = 0x80;
export const ND_NA_SOLICITED = 0x40;
export const ND_NA_OVERRIDE = 0x20;

/** fixed part of NS / NA (header + target) */
export const NDISC_NS_LEN = 24;
export const NDISC_NA_LEN = 24;
export const NDISC_RS_LEN = 8;
export const NDISC_RA_LEN = 16;
/** a link-layer address option for Ethernet */
export const ND_OPT_LL_LEN = 8;

/** true for ICMPv6 error messages (types 0..127) */
export function icmpv6IsError(type: number): boolean {
  return type < 128;
}

export class Icmpv6View extends ByteView {
  /** WIRE_OK when at least ICMPV6_HLEN bytes are present */
  check(): number {
    return this.hasBytes(ICMPV6_HLEN) ? WIRE_OK : WIRE_TRUNCATED;
  }

  get type(): number { return this.dv.getUint8(this.off); }
  set type(v: number) { this.dv.setUint8(this.off, v); }
  get code(): number { return this.dv.getUint8(this.off + 1); }
  set code(v: number) { this.dv.setUint8(this.off + 1, v); }
  get checksum(): number { return this.dv.getUint16(this.off + 2); }
  set checksum(v: number) { this.dv.setUint16(this.off + 2, v); }
  /** echo identifier / sequence (bytes 4-5, 6-7) */
  get ident(): number { return this.dv.getUint16(this.off + 4); }
  set ident(v: number) { this.dv.setUint16(this.off + 4, v); }
  get seq(): number { return this.dv.getUint16(this.off + 6); }
  set seq(v: number) { this.dv.setUint16(this.off + 6, v); }
  /** the 32-bit word at 4: MTU (packet too big), pointer (parameter problem), else unused */
  get info(): number { return this.dv.getUint32(this.off + 4); }
  set info(v: number) { this.dv.setUint32(this.off + 4, v >>> 0); }
  /** NA flags byte (R/S/O in the top bits) */
  get naFlags(): number { return this.dv.getUint8(this.off + 4); }
  /** absolute offset of the NS/NA target address */
  get targetOff(): number { return this.off + 8; }
  /** offset of the data after the 8-byte header (relative to buf/dv) */
  get payloadOff(): number { return this.off + ICMPV6_HLEN; }
  get payloadLen(): number { return this.len - ICMPV6_HLEN; }

  /** true when the checksum over all `len` bytes plus the pseudo-header sum verifies */
  verifyChecksum(pseudoSum: number): boolean {
    return csumFold(csumPartial(this.buf, this.dv, this.off, this.len, pseudoSum)) === 0xffff;
  }

  /** computes and stores the checksum over all `len` bytes plus the pseudo-header sum */
  fillChecksum(pseudoSum: number): void {
    const dv = this.dv;
    dv.setUint16(this.off + 2, 0);
    dv.setUint16(this.off + 2, csumFinish(csumPartial(this.buf, dv, this.off, this.len, pseudoSum)));
  }
}

/** Iterates Neighbor Discovery options (allocation-free). */
export class NdOptIter {
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private pos = 0;
  private end = 0;
  /** current option: type, length in bytes (8 × the length field), absolute offset */
  type = 0;
  optLen = 0;
  optOff = 0;

  rebind(dv: DataView, off: number, len: number): this {
    this.dv = dv;
    this.pos = off;
    this.end = off + len;
    return this;
  }

  /** WIRE_OK (fields set), -1 at the end, WIRE_BAD_OPTION for a zero length or an overrun */
  next(): number {
    if (this.pos >= this.end) return -1;
    if (this.pos + 2 > this.end) return WIRE_BAD_OPTION;
    const l = this.dv.getUint8(this.pos + 1) << 3;
    if (l === 0 || this.pos + l > this.end) return WIRE_BAD_OPTION;
    this.type = this.dv.getUint8(this.pos);
    this.optLen = l;
    this.optOff = this.pos;
    this.pos += l;
    return WIRE_OK;
  }

  /** the Ethernet address of a source/target link-layer option, or -1 when it is too short */
  get linkAddr(): number {
    return this.optLen >= ND_OPT_LL_LEN ? readMac(this.dv, this.optOff + 2) : -1;
  }
}

// ---- echo ----

export interface Icmpv6EchoRepr {
  type: number;
  ident: number;
  seq: number;
  payload: Uint8Array;
}

export function parseIcmpv6Echo(v: Icmpv6View): Icmpv6EchoRepr {
  return { type: v.type, ident: v.ident, seq: v.seq, payload: v.buf.subarray(v.off + ICMPV6_HLEN, v.off + v.len) };
}

export function icmpv6EchoLen(r: Icmpv6EchoRepr): number {
  return ICMPV6_HLEN + r.payload.length;
}

/** writes header + payload at `off` with the checksum (`pseudoSum`: see the module contract) */
export function emitIcmpv6Echo(r: Icmpv6EchoRepr, buf: Uint8Array, dv: DataView, off: number, pseudoSum: number): void {
  buf.set(r.payload, off + ICMPV6_HLEN);
  dv.setUint8(off, r.type);
  dv.setUint8(off + 1, 0);
  dv.setUint16(off + 2, 0);
  dv.setUint16(off + 4, r.ident);
  dv.setUint16(off + 6, r.seq);
  dv.setUint16(off + 2, csumFinish(csumPartial(buf, dv, off, ICMPV6_HLEN + r.payload.length, pseudoSum)));
}

// ---- errors ----

export interface Icmpv6ErrorRepr {
  type: number;
  code: number;
  /** MTU for packet too big, pointer for parameter problem, else 0 */
  info: number;
  /** the invoking packet, from its IPv6 header, as much as fits (RFC 4443 §2.4 (c)) */
  quote: Uint8Array;
}

export function parseIcmpv6Error(v: Icmpv6View): Icmpv6ErrorRepr {
  return { type: v.type, code: v.code, info: v.info, quote: v.buf.subarray(v.off + ICMPV6_HLEN, v.off + v.len) };
}

export function icmpv6ErrorLen(r: Icmpv6ErrorRepr): number {
  return ICMPV6_HLEN + r.quote.length;
}

export function emitIcmpv6Error(r: Icmpv6ErrorRepr, buf: Uint8Array, dv: DataView, off: number, pseudoSum: number): void {
  buf.set(r.quote, off + ICMPV6_HLEN);
  dv.setUint8(off, r.type);
  dv.setUint8(off + 1, r.code);
  dv.setUint16(off + 2, 0);
  dv.setUint32(off + 4, r.info >>> 0);
  dv.setUint16(off + 2, csumFinish(csumPartial(buf, dv, off, ICMPV6_HLEN + r.quote.length, pseudoSum)));
}

// ---- Neighbor Discovery ----

export interface NdPrefixInfo {
  prefixLen: number;
  /** L flag */
  onLink: boolean;
  /** A flag */
  autonomous: boolean;
  validLifetime: number;
  preferredLifetime: number;
  prefix: AddrWords;
}

export interface NdNsRepr {
  kind: 'ns';
  target: AddrWords;
  /** source link-layer address option, or null (RFC 4861 §4.3: absent from DAD probes) */
  sourceLl: number | null;
}

export interface NdNaRepr {
  kind: 'na';
  target: AddrWords;
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetLl: number | null;
}

export interface NdRsRepr {
  kind: 'rs';
  sourceLl: number | null;
}

export interface NdRaRepr {
  kind: 'ra';
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  routerLifetime: number;
  reachableTime: number;
  retransTimer: number;
  sourceLl: number | null;
  mtu: number | null;
  prefixes: NdPrefixInfo[];
}

export type NdiscRepr = NdNsRepr | NdNaRepr | NdRsRepr | NdRaRepr;

const ND_OPT_PREFIX_LEN = 32;
const ND_OPT_MTU_LEN = 8;

/**
 * Reads a checked NS / NA / RS / RA into a Repr. Returns WIRE_TRUNCATED when the message is
 * shorter than its fixed part, WIRE_BAD_OPTION for a malformed option (zero length, overrun, a
 * link-layer or prefix option too short), WIRE_UNSUPPORTED for other types. Unknown options are
 * skipped (RFC 4861 §4.6). Checksum, hop limit and code are the caller's to check.
 */
export function parseNdisc(v: Icmpv6View): NdiscRepr | number {
  const dv = v.dv;
  const o = v.off;
  const t = v.type;
  let optOff: number;
  let r: NdiscRepr;
  switch (t) {
    case NDISC_NEIGHBOUR_SOLICITATION:
      if (v.len < NDISC_NS_LEN) return WIRE_TRUNCATED;
      r = { kind: 'ns', target: readAddrWords(dv, o + 8), sourceLl: null };
      optOff = NDISC_NS_LEN;
      break;
    case NDISC_NEIGHBOUR_ADVERTISEMENT: {
      if (v.len < NDISC_NA_LEN) return WIRE_TRUNCATED;
      const f = dv.getUint8(o + 4);
      r = {
        kind: 'na', target: readAddrWords(dv, o + 8), router: (f & ND_NA_ROUTER) !== 0, solicited: (f & ND_NA_SOLICITED) !== 0,
        override: (f & ND_NA_OVERRIDE) !== 0, targetLl: null,
      };
      optOff = NDISC_NA_LEN;
      break;
    }
    case NDISC_ROUTER_SOLICITATION:
      if (v.len < NDISC_RS_LEN) return WIRE_TRUNCATED;
      r = { kind: 'rs', sourceLl: null };
      optOff = NDISC_RS_LEN;
      break;
    case NDISC_ROUTER_ADVERTISEMENT: {
      if (v.len < NDISC_RA_LEN) return WIRE_TRUNCATED;
      const f = dv.getUint8(o + 5);
      r = {
        kind: 'ra', curHopLimit: dv.getUint8(o + 4), managed: (f & 0x80) !== 0, other: (f & 0x40) !== 0,
        routerLifetime: dv.getUint16(o + 6), reachableTime: dv.getUint32(o + 8), retransTimer: dv.getUint32(o + 12),
        sourceLl: null, mtu: null, prefixes: [],
      };
      optOff = NDISC_RA_LEN;
      break;
    }
    default:
      return WIRE_UNSUPPORTED;
  }
  const it = new NdOptIter().rebind(dv, o + optOff, v.len - optOff);
  for (;;) {
    const rc = it.next();
    if (rc < 0) break;
    if (rc !== WIRE_OK) return rc;
    const at = it.optOff;
    switch (it.type) {
      case ND_OPT_SOURCE_LL_ADDR:
      case ND_OPT_TARGET_LL_ADDR: {
        const mac = it.linkAddr;
        if (mac < 0) return WIRE_BAD_OPTION;
        if (it.type === ND_OPT_SOURCE_LL_ADDR && r.kind !== 'na') r.sourceLl = mac;
        else if (it.type === ND_OPT_TARGET_LL_ADDR && r.kind === 'na') r.targetLl = mac;
        break;
      }
      case ND_OPT_PREFIX_INFO:
        if (r.kind !== 'ra') break;
        if (it.optLen < ND_OPT_PREFIX_LEN) return WIRE_BAD_OPTION;
        r.prefixes.push({
          prefixLen: dv.getUint8(at + 2), onLink: (dv.getUint8(at + 3) & 0x80) !== 0, autonomous: (dv.getUint8(at + 3) & 0x40) !== 0,
          validLifetime: dv.getUint32(at + 4), preferredLifetime: dv.getUint32(at + 8), prefix: readAddrWords(dv, at + 16),
        });
        break;
      case ND_OPT_MTU:
        if (r.kind !== 'ra') break;
        if (it.optLen < ND_OPT_MTU_LEN) return WIRE_BAD_OPTION;
        r.mtu = dv.getUint32(at + 4);
        break;
      default:
        break;
    }
  }
  return r;
}

/** bytes emitNdisc writes */
export function ndiscLen(r: NdiscRepr): number {
  switch (r.kind) {
    case 'ns': return NDISC_NS_LEN + (r.sourceLl !== null ? ND_OPT_LL_LEN : 0);
    case 'na': return NDISC_NA_LEN + (r.targetLl !== null ? ND_OPT_LL_LEN : 0);
    case 'rs': return NDISC_RS_LEN + (r.sourceLl !== null ? ND_OPT_LL_LEN : 0);
    case 'ra':
      return NDISC_RA_LEN + (r.sourceLl !== null ? ND_OPT_LL_LEN : 0) + (r.mtu !== null ? ND_OPT_MTU_LEN : 0) +
        ND_OPT_PREFIX_LEN * r.prefixes.length;
  }
}

function emitLlOpt(dv: DataView, off: number, type: number, mac: number): number {
  dv.setUint8(off, type);
  dv.setUint8(off + 1, 1);
  writeMac(dv, off + 2, mac);
  return off + ND_OPT_LL_LEN;
}

/** writes the message (reserved fields zero, options in RFC 4861 order) with its checksum */
export function emitNdisc(r: NdiscRepr, buf: Uint8Array, dv: DataView, off: number, pseudoSum: number): void {
  const n = ndiscLen(r);
  buf.fill(0, off, off + n);
  let p: number;
  switch (r.kind) {
    case 'ns':
      dv.setUint8(off, NDISC_NEIGHBOUR_SOLICITATION);
      writeAddrWords(dv, off + 8, r.target);
      p = off + NDISC_NS_LEN;
      if (r.sourceLl !== null) p = emitLlOpt(dv, p, ND_OPT_SOURCE_LL_ADDR, r.sourceLl);
      break;
    case 'na':
      dv.setUint8(off, NDISC_NEIGHBOUR_ADVERTISEMENT);
      dv.setUint8(off + 4, (r.router ? ND_NA_ROUTER : 0) | (r.solicited ? ND_NA_SOLICITED : 0) | (r.override ? ND_NA_OVERRIDE : 0));
      writeAddrWords(dv, off + 8, r.target);
      p = off + NDISC_NA_LEN;
      if (r.targetLl !== null) p = emitLlOpt(dv, p, ND_OPT_TARGET_LL_ADDR, r.targetLl);
      break;
    case 'rs':
      dv.setUint8(off, NDISC_ROUTER_SOLICITATION);
      p = off + NDISC_RS_LEN;
      if (r.sourceLl !== null) p = emitLlOpt(dv, p, ND_OPT_SOURCE_LL_ADDR, r.sourceLl);
      break;
    case 'ra':
      dv.setUint8(off, NDISC_ROUTER_ADVERTISEMENT);
      dv.setUint8(off + 4, r.curHopLimit);
      dv.setUint8(off + 5, (r.managed ? 0x80 : 0) | (r.other ? 0x40 : 0));
      dv.setUint16(off + 6, r.routerLifetime);
      dv.setUint32(off + 8, r.reachableTime >>> 0);
      dv.setUint32(off + 12, r.retransTimer >>> 0);
      p = off + NDISC_RA_LEN;
      if (r.sourceLl !== null) p = emitLlOpt(dv, p, ND_OPT_SOURCE_LL_ADDR, r.sourceLl);
      if (r.mtu !== null) {
        dv.setUint8(p, ND_OPT_MTU);
        dv.setUint8(p + 1, 1);
        dv.setUint32(p + 4, r.mtu >>> 0);
        p += ND_OPT_MTU_LEN;
      }
      for (const pi of r.prefixes) {
        dv.setUint8(p, ND_OPT_PREFIX_INFO);
        dv.setUint8(p + 1, 4);
        dv.setUint8(p + 2, pi.prefixLen);
        dv.setUint8(p + 3, (pi.onLink ? 0x80 : 0) | (pi.autonomous ? 0x40 : 0));
        dv.setUint32(p + 4, pi.validLifetime >>> 0);
        dv.setUint32(p + 8, pi.preferredLifetime >>> 0);
        writeAddrWords(dv, p + 16, pi.prefix);
        p += ND_OPT_PREFIX_LEN;
      }
      break;
  }
  dv.setUint16(off + 2, csumFinish(csumPartial(buf, dv, off, n, pseudoSum)));
}
