// IPv4 header (RFC 791): View over bytes + plain Repr.
//
// Contract: Ipv4View aliases the caller's buffer (see ByteView). `len` is the bytes available
// (an Ethernet frame may carry padding after totalLen); after check() returns WIRE_OK,
// headerLen <= totalLen <= len and every getter (options included) is in bounds. Checksums are
// not verified by check(); call verifyChecksum(). emitIpv4 writes a 20-byte option-less header
// with a correct checksum and does not validate the Repr.

import { csumFold, csumFinish, csumPartial, csumPartialDv } from './checksum.js';
import { WIRE_BAD_LENGTH, WIRE_BAD_VERSION, WIRE_OK, WIRE_TRUNCATED } from './errors.js';
import { ByteView } from './view.js';

export const IPV4_HLEN = 20;
export const IPV4_MAX_TOTAL_LEN = 65535;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
/** Mask of the 3 flag bits in the flags/fragment-offset word. */
export const IP_FLAGS_MASK = 0xe000;
/** Mask of the 13-bit fragment offset (in 8-byte units) in the flags/fragment-offset word. */
export const IP_OFFMASK = 0x1fff;

const IP_OFF_VIHL = 0;
const IP_OFF_TOS = 1;
const IP_OFF_TOTLEN = 2;
const IP_OFF_ID = 4;
const IP_OFF_FRAG = 6;
const IP_OFF_TTL = 8;
const IP_OFF_PROTO = 9;
const IP_OFF_CSUM = 10;
const IP_OFF_SRC = 12;
const IP_OFF_DST = 16;

export class Ipv4View extends ByteView {
  /**
   * WIRE_TRUNCATED: len < 20, len < headerLen or len < totalLen. WIRE_BAD_VERSION: version != 4.
   * WIRE_BAD_LENGTH: headerLen < 20 or totalLen < headerLen.
   */
  check(): number {
    if (!this.hasBytes(IPV4_HLEN)) return WIRE_TRUNCATED;
    const dv = this.dv;
    const o = this.off;
    const vihl = dv.getUint8(o + IP_OFF_VIHL);
    if (vihl >>> 4 !== 4) return WIRE_BAD_VERSION;
    const hl = (vihl & 0x0f) << 2;
    if (hl < IPV4_HLEN) return WIRE_BAD_LENGTH;
    if (hl > this.len) return WIRE_TRUNCATED;
    const tl = dv.getUint16(o + IP_OFF_TOTLEN);
    if (tl < hl) return WIRE_BAD_LENGTH;
    if (tl > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }

  get version(): number { return this.dv.getUint8(this.off + IP_OFF_VIHL) >>> 4; }
  /** Header length in bytes (IHL * 4). */
  get headerLen(): number { return (this.dv.getUint8(this.off + IP_OFF_VIHL) & 0x0f) << 2; }
  /** Sets version 4 and IHL = v / 4. */
  set headerLen(v: number) { this.dv.setUint8(this.off + IP_OFF_VIHL, 0x40 | ((v >>> 2) & 0x0f)); }
  get tos(): number { return this.dv.getUint8(this.off + IP_OFF_TOS); }
  set tos(v: number) { this.dv.setUint8(this.off + IP_OFF_TOS, v); }
  get totalLen(): number { return this.dv.getUint16(this.off + IP_OFF_TOTLEN); }
  set totalLen(v: number) { this.dv.setUint16(this.off + IP_OFF_TOTLEN, v); }
  get ident(): number { return this.dv.getUint16(this.off + IP_OFF_ID); }
  set ident(v: number) { this.dv.setUint16(this.off + IP_OFF_ID, v); }
  /** The 3 flag bits in place: raw flags/fragment word & 0xe000. */
  get flags(): number { return this.dv.getUint16(this.off + IP_OFF_FRAG) & IP_FLAGS_MASK; }
  get dontFrag(): boolean { return (this.dv.getUint16(this.off + IP_OFF_FRAG) & IP_DF) !== 0; }
  get moreFrags(): boolean { return (this.dv.getUint16(this.off + IP_OFF_FRAG) & IP_MF) !== 0; }
  /** Fragment offset in bytes (field * 8). */
  get fragOffset(): number { return (this.dv.getUint16(this.off + IP_OFF_FRAG) & IP_OFFMASK) << 3; }
  /** Raw 16-bit flags/fragment-offset word. */
  get fragWord(): number { return this.dv.getUint16(this.off + IP_OFF_FRAG); }
  set fragWord(v: number) { this.dv.setUint16(this.off + IP_OFF_FRAG, v); }
  get ttl(): number { return this.dv.getUint8(this.off + IP_OFF_TTL); }
  set ttl(v: number) { this.dv.setUint8(this.off + IP_OFF_TTL, v); }
  get protocol(): number { return this.dv.getUint8(this.off + IP_OFF_PROTO); }
  set protocol(v: number) { this.dv.setUint8(this.off + IP_OFF_PROTO, v); }
  get checksum(): number { return this.dv.getUint16(this.off + IP_OFF_CSUM); }
  set checksum(v: number) { this.dv.setUint16(this.off + IP_OFF_CSUM, v); }
  get src(): number { return this.dv.getUint32(this.off + IP_OFF_SRC); }
  set src(v: number) { this.dv.setUint32(this.off + IP_OFF_SRC, v); }
  get dst(): number { return this.dv.getUint32(this.off + IP_OFF_DST); }
  set dst(v: number) { this.dv.setUint32(this.off + IP_OFF_DST, v); }

  /** Offset of the L4 payload (relative to buf/dv). */
  get payloadOff(): number { return this.off + this.headerLen; }
  /** L4 payload length: totalLen - headerLen (excludes link-layer padding). */
  get payloadLen(): number { return this.totalLen - this.headerLen; }

  /** True when the header checksum over headerLen bytes verifies. */
  verifyChecksum(): boolean {
    return csumFold(csumPartial(this.buf, this.dv, this.off, this.headerLen, 0)) === 0xffff;
  }

  /** Compute and store the header checksum over headerLen bytes. */
  fillChecksum(): void {
    const dv = this.dv;
    const o = this.off;
    dv.setUint16(o + IP_OFF_CSUM, 0);
    dv.setUint16(o + IP_OFF_CSUM, csumFinish(csumPartial(this.buf, dv, o, this.headerLen, 0)));
  }
}

export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** L4 bytes after the header (totalLen - headerLen). */
  payloadLen: number;
  ident: number;
  dontFrag: boolean;
  tos: number;
}

/** Read a checked view into a Repr (options, MF and fragment offset are not represented). */
export function parseIpv4Header(v: Ipv4View): Ipv4Repr {
  return {
    src: v.src,
    dst: v.dst,
    protocol: v.protocol,
    ttl: v.ttl,
    payloadLen: v.totalLen - v.headerLen,
    ident: v.ident,
    dontFrag: v.dontFrag,
    tos: v.tos,
  };
}

/** Bytes emitIpv4 writes (always IPV4_HLEN). */
export function ipv4HeaderLen(_r?: Ipv4Repr): number {
  return IPV4_HLEN;
}

/** Write a 20-byte header (IHL 5, totalLen = 20 + payloadLen) with its checksum at `off`. */
export function emitIpv4(r: Ipv4Repr, dv: DataView, off: number): void {
  dv.setUint8(off + IP_OFF_VIHL, 0x45);
  dv.setUint8(off + IP_OFF_TOS, r.tos);
  dv.setUint16(off + IP_OFF_TOTLEN, IPV4_HLEN + r.payloadLen);
  dv.setUint16(off + IP_OFF_ID, r.ident);
  dv.setUint16(off + IP_OFF_FRAG, r.dontFrag ? IP_DF : 0);
  dv.setUint8(off + IP_OFF_TTL, r.ttl);
  dv.setUint8(off + IP_OFF_PROTO, r.protocol);
  dv.setUint16(off + IP_OFF_CSUM, 0);
  dv.setUint32(off + IP_OFF_SRC, r.src);
  dv.setUint32(off + IP_OFF_DST, r.dst);
  dv.setUint16(off + IP_OFF_CSUM, csumFinish(csumPartialDv(dv, off, IPV4_HLEN, 0)));
}
