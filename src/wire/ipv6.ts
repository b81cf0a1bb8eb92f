// IPv6 header and extension headers (RFC 8200): Views over bytes + plain Reprs.
//
// Contract: every View aliases the caller's buffer (see ByteView). Ipv6View: `len` is the bytes
// available (an Ethernet frame may be padded); after check() returns WIRE_OK,
// 40 + payloadLen <= len and every getter is in bounds. Extension-header Views (Ipv6ExtView for
// hop-by-hop / routing / destination options, Ipv6FragView) check their own length against
// `len`; Ipv6OptIter walks the TLV options of a hop-by-hop or destination-options header and
// reports a malformed option instead of reading past the header. Addresses are four big-endian
// u32 words (`AddrWords`, the same shape as src/inet's `Addr`, so an InetAddr can be passed
// without this layer importing inet). Emit functions write into a buffer sized with the matching
// length function and do not validate the Repr.

import { WIRE_BAD_LENGTH, WIRE_BAD_OPTION, WIRE_BAD_VERSION, WIRE_OK, WIRE_TRUNCATED } from './errors.js';
import { ByteView } from './view.js';

export const IPV6_HLEN = 40;
/** largest payload length field (jumbograms are not supported) */
export const IPV6_MAX_PAYLOAD = 65535;
/** RFC 8200 §5: every link carries at least this much */
export const IPV6_MIN_MTU = 1280;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_MH = 135;

/** TLV option types (RFC 8200 §4.2) */
export const IPV6_TLV_PAD1 = 0;
export const IPV6_TLV_PADN = 1;
/** router alert (RFC 2711) */
export const IPV6_TLV_ROUTERALERT = 5;
/** jumbo payload (RFC 2675) */
export const IPV6_TLV_JUMBO = 0xc2;

/** fragment header length */
export const IPV6_FRAG_HLEN = 8;
/** M flag in the fragment header's offset word */
export const IPV6_FRAG_MF = 0x0001;
/** fragment offset mask in the offset word (bytes, already a multiple of 8) */
export const IPV6_FRAG_OFFMASK = 0xfff8;

/** a 128-bit address as four u32 words in network order (structurally src/inet's `Addr`) */
export interface AddrWords {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

const OFF_VTF = 0;
const OFF_PLEN = 4;
const OFF_NXT = 6;
const OFF_HLIM = 7;
const OFF_SRC = 8;
const OFF_DST = 24;

/** writes an address's 16 bytes at `off` */
export function writeAddrWords(dv: DataView, off: number, a: AddrWords): void {
  dv.setUint32(off, a.w0);
  dv.setUint32(off + 4, a.w1);
  dv.setUint32(off + 8, a.w2);
  dv.setUint32(off + 12, a.w3);
}

/** reads 16 bytes at `off` into a new plain word object (cold paths, Repr parsing) */
export function readAddrWords(dv: DataView, off: number): AddrWords {
  return { w0: dv.getUint32(off), w1: dv.getUint32(off + 4), w2: dv.getUint32(off + 8), w3: dv.getUint32(off + 12) };
}

export class Ipv6View extends ByteView {
  /**
   * WIRE_TRUNCATED: len < 40 or len < 40 + payloadLen. WIRE_BAD_VERSION: version != 6.
   * (A zero payload length with a hop-by-hop header would be a jumbogram: not supported, the
   * header reads as an empty payload.)
   */
  check(): number {
    if (!this.hasBytes(IPV6_HLEN)) return WIRE_TRUNCATED;
    if (this.dv.getUint8(this.off + OFF_VTF) >>> 4 !== 6) return WIRE_BAD_VERSION;
    if (IPV6_HLEN + this.dv.getUint16(this.off + OFF_PLEN) > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }

  get version(): number { return this.dv.getUint8(this.off + OFF_VTF) >>> 4; }
  /** traffic class byte (DSCP << 2 | ECN) */
  get trafficClass(): number { return (this.dv.getUint32(this.off + OFF_VTF) >>> 20) & 0xff; }
  set trafficClass(v: number) {
    const w = this.dv.getUint32(this.off + OFF_VTF);
    this.dv.setUint32(this.off + OFF_VTF, ((w & 0xf00fffff) | ((v & 0xff) << 20)) >>> 0);
  }
  get flowLabel(): number { return this.dv.getUint32(this.off + OFF_VTF) & 0xfffff; }
  set flowLabel(v: number) {
    const w = this.dv.getUint32(this.off + OFF_VTF);
    this.dv.setUint32(this.off + OFF_VTF, ((w & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }
  /** writes version 6, traffic class and flow label at once */
  setVtf(tc: number, flow: number): void {
    this.dv.setUint32(this.off + OFF_VTF, ((6 << 28) | ((tc & 0xff) << 20) | (flow & 0xfffff)) >>> 0);
  }
  get payloadLen(): number { return this.dv.getUint16(this.off + OFF_PLEN); }
  set payloadLen(v: number) { this.dv.setUint16(this.off + OFF_PLEN, v); }
  get nextHeader(): number { return this.dv.getUint8(this.off + OFF_NXT); }
  set nextHeader(v: number) { this.dv.setUint8(this.off + OFF_NXT, v); }
  get hopLimit(): number { return this.dv.getUint8(this.off + OFF_HLIM); }
  set hopLimit(v: number) { this.dv.setUint8(this.off + OFF_HLIM, v); }
  /** absolute offsets of the address fields */
  get srcOff(): number { return this.off + OFF_SRC; }
  get dstOff(): number { return this.off + OFF_DST; }
  /** word `i` (0..3) of the source / destination */
  srcWord(i: number): number { return this.dv.getUint32(this.off + OFF_SRC + 4 * i); }
  dstWord(i: number): number { return this.dv.getUint32(this.off + OFF_DST + 4 * i); }
  setSrc(a: AddrWords): void { writeAddrWords(this.dv, this.off + OFF_SRC, a); }
  setDst(a: AddrWords): void { writeAddrWords(this.dv, this.off + OFF_DST, a); }
  /** offset of what follows the fixed header (relative to buf/dv) */
  get payloadOff(): number { return this.off + IPV6_HLEN; }
}

export interface Ipv6Repr {
  src: AddrWords;
  dst: AddrWords;
  nextHeader: number;
  hopLimit: number;
  /** bytes after the fixed header (extension headers included) */
  payloadLen: number;
  trafficClass: number;
  flowLabel: number;
}

/** reads a checked view into a Repr (allocates the address objects) */
export function parseIpv6Header(v: Ipv6View): Ipv6Repr {
  return {
    src: readAddrWords(v.dv, v.srcOff),
    dst: readAddrWords(v.dv, v.dstOff),
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    payloadLen: v.payloadLen,
    trafficClass: v.trafficClass,
    flowLabel: v.flowLabel,
  };
}

/** bytes emitIpv6 writes (always IPV6_HLEN) */
export function ipv6HeaderLen(_r?: Ipv6Repr): number {
  return IPV6_HLEN;
}

/** writes the 40-byte fixed header at `off` */
export function emitIpv6(r: Ipv6Repr, dv: DataView, off: number): void {
  dv.setUint32(off + OFF_VTF, ((6 << 28) | ((r.trafficClass & 0xff) << 20) | (r.flowLabel & 0xfffff)) >>> 0);
  dv.setUint16(off + OFF_PLEN, r.payloadLen);
  dv.setUint8(off + OFF_NXT, r.nextHeader);
  dv.setUint8(off + OFF_HLIM, r.hopLimit);
  writeAddrWords(dv, off + OFF_SRC, r.src);
  writeAddrWords(dv, off + OFF_DST, r.dst);
}

/** true for the extension headers this module parses (hop-by-hop, routing, fragment, dest opts) */
export function isIpv6ExtHeader(nh: number): boolean {
  return nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_FRAGMENT || nh === IPPROTO_DSTOPTS;
}

/**
 * A hop-by-hop, routing or destination-options header: next header (byte 0), length in 8-byte
 * units not counting the first 8 (byte 1). For a routing header, `routingType` (byte 2) and
 * `segmentsLeft` (byte 3); its type-specific data follows.
 */
export class Ipv6ExtView extends ByteView {
  /** WIRE_TRUNCATED when fewer than 8 bytes or fewer than `headerLen` are available */
  check(): number {
    if (!this.hasBytes(8)) return WIRE_TRUNCATED;
    if (this.headerLen > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }

  get nextHeader(): number { return this.dv.getUint8(this.off); }
  set nextHeader(v: number) { this.dv.setUint8(this.off, v); }
  /** raw Hdr Ext Len byte */
  get hdrExtLen(): number { return this.dv.getUint8(this.off + 1); }
  /** whole header length in bytes: (hdrExtLen + 1) * 8 */
  get headerLen(): number { return (this.dv.getUint8(this.off + 1) + 1) << 3; }
  get routingType(): number { return this.dv.getUint8(this.off + 2); }
  get segmentsLeft(): number { return this.dv.getUint8(this.off + 3); }
  set segmentsLeft(v: number) { this.dv.setUint8(this.off + 3, v); }
  /** offset of the options area of a hop-by-hop / destination-options header */
  get optionsOff(): number { return this.off + 2; }
  get optionsLen(): number { return this.headerLen - 2; }
}

/** Iterates the TLV options of one hop-by-hop / destination-options area (allocation-free). */
export class Ipv6OptIter {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  /** the current option: type, data length, absolute offsets of the option and its data */
  type = 0;
  dataLen = 0;
  optOff = 0;
  dataOff = 0;

  /** starts at `off` (absolute) over `len` bytes of options */
  rebind(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = off + len;
    return this;
  }

  /**
   * Advances to the next option. Returns WIRE_OK with the fields set, -1 at the end of the area,
   * or WIRE_BAD_OPTION when an option's length runs past the area (the walk must stop).
   */
  next(): number {
    const b = this.buf;
    if (this.pos >= this.end) return -1;
    const t = b[this.pos]!;
    this.optOff = this.pos;
    this.type = t;
    if (t === IPV6_TLV_PAD1) {
      this.dataLen = 0;
      this.dataOff = this.pos + 1;
      this.pos += 1;
      return WIRE_OK;
    }
    if (this.pos + 2 > this.end) return WIRE_BAD_OPTION;
    const l = b[this.pos + 1]!;
    if (this.pos + 2 + l > this.end) return WIRE_BAD_OPTION;
    this.dataLen = l;
    this.dataOff = this.pos + 2;
    this.pos += 2 + l;
    return WIRE_OK;
  }
}

/** the action bits of an option type (RFC 8200 §4.2): 0 skip, 1 discard, 2 discard + ICMP, 3 ICMP unless multicast */
export function ipv6OptAction(type: number): number {
  return type >>> 6;
}

/** the option may change en route (third-highest bit) */
export function ipv6OptMayChange(type: number): boolean {
  return (type & 0x20) !== 0;
}

/** The fragment header (RFC 8200 §4.5): next header, offset word (offset | M), identification. */
export class Ipv6FragView extends ByteView {
  check(): number {
    return this.hasBytes(IPV6_FRAG_HLEN) ? WIRE_OK : WIRE_TRUNCATED;
  }

  get nextHeader(): number { return this.dv.getUint8(this.off); }
  set nextHeader(v: number) { this.dv.setUint8(this.off, v); }
  /** raw offset word: offset (bytes, multiple of 8) | reserved bits | M */
  get offWord(): number { return this.dv.getUint16(this.off + 2); }
  /** fragment offset in bytes */
  get fragOffset(): number { return this.dv.getUint16(this.off + 2) & IPV6_FRAG_OFFMASK; }
  get moreFrags(): boolean { return (this.dv.getUint16(this.off + 2) & IPV6_FRAG_MF) !== 0; }
  get ident(): number { return this.dv.getUint32(this.off + 4); }
}

export interface Ipv6FragRepr {
  nextHeader: number;
  /** offset in bytes (multiple of 8) */
  offset: number;
  more: boolean;
  ident: number;
}

export function parseIpv6Frag(v: Ipv6FragView): Ipv6FragRepr {
  return { nextHeader: v.nextHeader, offset: v.fragOffset, more: v.moreFrags, ident: v.ident };
}

/** writes an 8-byte fragment header at `off` (reserved fields zero) */
export function emitIpv6Frag(r: Ipv6FragRepr, dv: DataView, off: number): void {
  dv.setUint8(off, r.nextHeader);
  dv.setUint8(off + 1, 0);
  dv.setUint16(off + 2, (r.offset & IPV6_FRAG_OFFMASK) | (r.more ? IPV6_FRAG_MF : 0));
  dv.setUint32(off + 4, r.ident >>> 0);
}

export interface Ipv6TlvOption {
  type: number;
  /** option data (absent for Pad1) */
  data: Uint8Array;
}

/** a hop-by-hop or destination-options header */
export interface Ipv6OptionsRepr {
  nextHeader: number;
  /** options in order, without padding (emit pads to a multiple of 8) */
  options: Ipv6TlvOption[];
}

function optionsRawLen(r: Ipv6OptionsRepr): number {
  let n = 2;
  for (const o of r.options) n += o.type === IPV6_TLV_PAD1 ? 1 : 2 + o.data.length;
  return n;
}

/** bytes emitIpv6Options writes: the options plus padding to a multiple of 8 */
export function ipv6OptionsLen(r: Ipv6OptionsRepr): number {
  return (optionsRawLen(r) + 7) & ~7;
}

/**
 * Writes the header with its options and trailing padding (Pad1 for one byte, PadN otherwise,
 * as RFC 8200 §4.2 asks) at `off`.
 */
export function emitIpv6Options(r: Ipv6OptionsRepr, buf: Uint8Array, off: number): void {
  const total = ipv6OptionsLen(r);
  buf[off] = r.nextHeader;
  buf[off + 1] = (total >>> 3) - 1;
  let p = off + 2;
  for (const o of r.options) {
    buf[p++] = o.type;
    if (o.type === IPV6_TLV_PAD1) continue;
    buf[p++] = o.data.length;
    buf.set(o.data, p);
    p += o.data.length;
  }
  const pad = off + total - p;
  if (pad === 1) buf[p] = IPV6_TLV_PAD1;
  else if (pad >= 2) {
    buf[p] = IPV6_TLV_PADN;
    buf[p + 1] = pad - 2;
    buf.fill(0, p + 2, p + pad);
  }
}

/**
 * Reads a checked hop-by-hop / destination-options header into a Repr; Pad1 and PadN are left
 * out. Returns WIRE_BAD_OPTION when an option overruns the header.
 */
export function parseIpv6Options(v: Ipv6ExtView): Ipv6OptionsRepr | number {
  const it = new Ipv6OptIter().rebind(v.buf, v.optionsOff, v.optionsLen);
  const options: Ipv6TlvOption[] = [];
  for (;;) {
    const rc = it.next();
    if (rc < 0) break;
    if (rc !== WIRE_OK) return rc;
    if (it.type === IPV6_TLV_PAD1 || it.type === IPV6_TLV_PADN) continue;
    options.push({ type: it.type, data: v.buf.slice(it.dataOff, it.dataOff + it.dataLen) });
  }
  return { nextHeader: v.nextHeader, options };
}

/** a routing header (any type: its type-specific data is opaque here) */
export interface Ipv6RoutingRepr {
  nextHeader: number;
  routingType: number;
  segmentsLeft: number;
  /** bytes after the first four (length + 4 must be a multiple of 8) */
  data: Uint8Array;
}

export function ipv6RoutingLen(r: Ipv6RoutingRepr): number {
  return 4 + r.data.length;
}

export function parseIpv6Routing(v: Ipv6ExtView): Ipv6RoutingRepr {
  return {
    nextHeader: v.nextHeader, routingType: v.routingType, segmentsLeft: v.segmentsLeft,
    data: v.buf.slice(v.off + 4, v.off + v.headerLen),
  };
}

/** writes a routing header; returns WIRE_BAD_LENGTH (writing nothing) when 4 + data is not a multiple of 8 */
export function emitIpv6Routing(r: Ipv6RoutingRepr, buf: Uint8Array, off: number): number {
  const total = 4 + r.data.length;
  if ((total & 7) !== 0) return WIRE_BAD_LENGTH;
  buf[off] = r.nextHeader;
  buf[off + 1] = (total >>> 3) - 1;
  buf[off + 2] = r.routingType;
  buf[off + 3] = r.segmentsLeft;
  buf.set(r.data, off + 4);
  return WIRE_OK;
}
