// Netlink / generic-netlink message encoding and parsing (cold path: control plane only).
//
// Contract:
// - Netlink is HOST byte order; this module fixes it to little-endian (x86-64/arm64 Linux), so
//   it is the one place besides pcap that reads/writes with littleEndian = true.
// - Messages and attributes are 4-byte aligned (NLMSG_ALIGN / NLA_ALIGN); nla_len excludes the
//   attribute's own trailing padding, nlmsg_len and nested nla_len include inner padding.
// - NlMsgBuilder owns a growable buffer; every offset it returns (beginMsg, put*, beginNest) is
//   relative to the start of that buffer, so `attrOff - msgStart` is the extack bad-attribute
//   offset. Padding bytes are always zero. bytes() returns a copy.
// - Parsers return records of offsets into the caller's `buf` (no copies). parseNlMsgs THROWS
//   RangeError on a malformed stream (a length < 16, a message overrunning the buffer, or 1..15
//   trailing bytes). parseAttrs returns null on a malformed attribute area. The attr* readers
//   throw RangeError when the attribute payload is too short for the requested type.

import { dataViewOf } from './view.js';

export const NLMSG_ALIGNTO = 4;
export const NLA_ALIGNTO = 4;
export const NLMSG_HDRLEN = 16;
export const GENL_HDRLEN = 4;
export const NLA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 1;
export const NLM_F_MULTI = 2;
export const NLM_F_ACK = 4;
export const NLM_F_ECHO = 8;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = 0x300;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;
export const CTRL_ATTR_OPS = 6;
export const CTRL_ATTR_MCAST_GROUPS = 7;
export const CTRL_ATTR_OP_ID = 1;
export const CTRL_ATTR_OP_FLAGS = 2;

const TWO32 = 4294967296;
const LE = true;

/** Round up to a multiple of 4 (attributes). */
export function NLA_ALIGN(n: number): number {
  return (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

/** Round up to a multiple of 4 (messages). */
export function NLMSG_ALIGN(n: number): number {
  return (n + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Growable netlink message builder. All returned offsets are relative to the builder's buffer. */
export class NlMsgBuilder {
  private buf: Uint8Array;
  private dv: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial > 16 ? initial : 16);
    this.dv = dataViewOf(this.buf);
  }

  /** Bytes written so far (the offset of the next write). */
  get offset(): number {
    return this.pos;
  }

  /** Forget everything written (buffer kept, re-zeroed). */
  reset(): void {
    this.buf.fill(0, 0, this.pos);
    this.pos = 0;
  }

  /** Append `n` bytes (zero-filled, rounded up to 4) and return where they start. */
  private reserve(n: number): number {
    const start = this.pos;
    const end = start + NLA_ALIGN(n);
    if (end > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < end) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, start));
      this.buf = nb;
      this.dv = dataViewOf(nb);
    }
    this.pos = end;
    return start;
  }

  /** Start a message: writes a 16-byte header with a placeholder length. Returns its offset. */
  beginMsg(type: number, flags: number, seq: number, pid: number): number {
    const s = this.reserve(NLMSG_HDRLEN);
    const dv = this.dv;
    dv.setUint32(s, NLMSG_HDRLEN, LE);
    dv.setUint16(s + 4, type, LE);
    dv.setUint16(s + 6, flags, LE);
    dv.setUint32(s + 8, seq >>> 0, LE);
    dv.setUint32(s + 12, pid >>> 0, LE);
    return s;
  }

  /** Append the 4-byte generic-netlink header (cmd, version, reserved 0). */
  genlHeader(cmd: number, version: number): void {
    const s = this.reserve(GENL_HDRLEN);
    this.dv.setUint8(s, cmd);
    this.dv.setUint8(s + 1, version);
  }

  /** Append raw bytes (padded to 4) with no attribute header. Returns their offset. */
  putRaw(b: Uint8Array): number {
    const s = this.reserve(b.length);
    this.buf.set(b, s);
    return s;
  }

  /** Append a raw host-order s32 (e.g. nlmsgerr.error). Returns its offset. */
  putRawS32(v: number): number {
    const s = this.reserve(4);
    this.dv.setInt32(s, v, LE);
    return s;
  }

  /** Append a raw host-order u32. Returns its offset. */
  putRawU32(v: number): number {
    const s = this.reserve(4);
    this.dv.setUint32(s, v >>> 0, LE);
    return s;
  }

  private attr(type: number, payloadLen: number): number {
    const s = this.reserve(NLA_HDRLEN + payloadLen);
    this.dv.setUint16(s, NLA_HDRLEN + payloadLen, LE);
    this.dv.setUint16(s + 2, type, LE);
    return s;
  }

  putU8(type: number, v: number): number {
    const s = this.attr(type, 1);
    this.dv.setUint8(s + NLA_HDRLEN, v);
    return s;
  }

  putU16(type: number, v: number): number {
    const s = this.attr(type, 2);
    this.dv.setUint16(s + NLA_HDRLEN, v, LE);
    return s;
  }

  putU32(type: number, v: number): number {
    const s = this.attr(type, 4);
    this.dv.setUint32(s + NLA_HDRLEN, v >>> 0, LE);
    return s;
  }

  putS32(type: number, v: number): number {
    const s = this.attr(type, 4);
    this.dv.setInt32(s + NLA_HDRLEN, v, LE);
    return s;
  }

  putU64(type: number, v: bigint): number {
    const s = this.attr(type, 8);
    this.dv.setBigUint64(s + NLA_HDRLEN, BigInt.asUintN(64, v), LE);
    return s;
  }

  /** NLA_UINT: 4 bytes when v <= 0xffffffff, else 8 bytes. v is a non-negative safe integer. */
  putUint(type: number, v: number): number {
    if (v <= 0xffffffff) return this.putU32(type, v);
    const s = this.attr(type, 8);
    this.dv.setUint32(s + NLA_HDRLEN, v % TWO32, LE);
    this.dv.setUint32(s + NLA_HDRLEN + 4, Math.floor(v / TWO32), LE);
    return s;
  }

  /** NUL-terminated UTF-8 string. */
  putString(type: number, str: string): number {
    const b = encoder.encode(str);
    const s = this.attr(type, b.length + 1);
    this.buf.set(b, s + NLA_HDRLEN);
    this.buf[s + NLA_HDRLEN + b.length] = 0;
    return s;
  }

  putBytes(type: number, b: Uint8Array): number {
    const s = this.attr(type, b.length);
    this.buf.set(b, s + NLA_HDRLEN);
    return s;
  }

  /** Zero-length attribute (NLA_FLAG). */
  putFlag(type: number): number {
    return this.attr(type, 0);
  }

  /** Open a nested attribute (type | NLA_F_NESTED); close it with endNest(returned offset). */
  beginNest(type: number): number {
    return this.attr(type | NLA_F_NESTED, 0);
  }

  /** Set the nest's length to cover everything appended since beginNest. */
  endNest(start: number): void {
    const l = this.pos - start;
    if (l > 0xffff) throw new RangeError(`netlink: nested attribute too long (${l})`);
    this.dv.setUint16(start, l, LE);
  }

  /** Set the message's nlmsg_len to cover everything appended since beginMsg. */
  endMsg(start: number): void {
    this.dv.setUint32(start, this.pos - start, LE);
  }

  /** A copy of the bytes built so far. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Start of the 16-byte header in buf. */
  off: number;
  /** nlmsg_len: header + payload (without trailing alignment padding). */
  len: number;
  /** off + NLMSG_HDRLEN. */
  payloadOff: number;
}

function u16le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/**
 * Split a buffer of concatenated netlink messages. Throws RangeError on a malformed stream:
 * nlmsg_len < 16, a message running past the end, or 1..15 bytes left after the last message.
 */
export function parseNlMsgs(buf: Uint8Array): NlMsg[] {
  const out: NlMsg[] = [];
  let p = 0;
  while (p < buf.length) {
    if (buf.length - p < NLMSG_HDRLEN) throw new RangeError(`netlink: ${buf.length - p} trailing bytes at ${p}`);
    const len = u32le(buf, p);
    if (len < NLMSG_HDRLEN) throw new RangeError(`netlink: nlmsg_len ${len} < ${NLMSG_HDRLEN} at ${p}`);
    if (len > buf.length - p) throw new RangeError(`netlink: nlmsg_len ${len} overruns buffer at ${p}`);
    out.push({
      type: u16le(buf, p + 4),
      flags: u16le(buf, p + 6),
      seq: u32le(buf, p + 8),
      pid: u32le(buf, p + 12),
      off: p,
      len,
      payloadOff: p + NLMSG_HDRLEN,
    });
    p += NLMSG_ALIGN(len);
  }
  return out;
}

export interface NlAttr {
  /** Attribute type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off. */
  type: number;
  /** NLA_F_NESTED was set. */
  nested: boolean;
  /** Offset of the attribute header in buf. */
  off: number;
  /** Payload length (nla_len - 4). */
  len: number;
  /** off + NLA_HDRLEN. */
  payloadOff: number;
}

/**
 * Parse the attribute area [off, off+len) of `buf`. Returns null when an attribute's nla_len is
 * < 4, overruns the area, or 1..3 bytes are left over. The last attribute's padding may be absent.
 */
export function parseAttrs(buf: Uint8Array, off: number, len: number): NlAttr[] | null {
  const out: NlAttr[] = [];
  const end = off + len;
  if (off < 0 || len < 0 || end > buf.length) return null;
  let p = off;
  while (p < end) {
    if (end - p < NLA_HDRLEN) return null;
    const alen = u16le(buf, p);
    if (alen < NLA_HDRLEN || alen > end - p) return null;
    const t = u16le(buf, p + 2);
    out.push({ type: t & NLA_TYPE_MASK, nested: (t & NLA_F_NESTED) !== 0, off: p, len: alen - NLA_HDRLEN, payloadOff: p + NLA_HDRLEN });
    p += NLA_ALIGN(alen);
  }
  return out;
}

function need(a: NlAttr, n: number): void {
  if (a.len < n) throw new RangeError(`netlink: attribute ${a.type} has ${a.len} bytes, need ${n}`);
}

export function attrU8(buf: Uint8Array, a: NlAttr): number {
  need(a, 1);
  return buf[a.payloadOff];
}

export function attrU16(buf: Uint8Array, a: NlAttr): number {
  need(a, 2);
  return u16le(buf, a.payloadOff);
}

export function attrU32(buf: Uint8Array, a: NlAttr): number {
  need(a, 4);
  return u32le(buf, a.payloadOff);
}

export function attrS32(buf: Uint8Array, a: NlAttr): number {
  need(a, 4);
  return u32le(buf, a.payloadOff) | 0;
}

export function attrU64(buf: Uint8Array, a: NlAttr): bigint {
  need(a, 8);
  return (BigInt(u32le(buf, a.payloadOff + 4)) << 32n) | BigInt(u32le(buf, a.payloadOff));
}

/** NLA_UINT: a 4- or 8-byte unsigned value as a number (exact below 2^53). */
export function attrUint(buf: Uint8Array, a: NlAttr): number {
  if (a.len === 4) return u32le(buf, a.payloadOff);
  if (a.len === 8) return u32le(buf, a.payloadOff + 4) * TWO32 + u32le(buf, a.payloadOff);
  throw new RangeError(`netlink: NLA_UINT attribute ${a.type} has ${a.len} bytes`);
}

/** UTF-8 string payload up to the first NUL (or the whole payload if none). */
export function attrString(buf: Uint8Array, a: NlAttr): string {
  let e = a.payloadOff;
  const end = a.payloadOff + a.len;
  while (e < end && buf[e] !== 0) e++;
  return decoder.decode(buf.subarray(a.payloadOff, e));
}

/** The payload bytes (aliasing buf). */
export function attrBytes(buf: Uint8Array, a: NlAttr): Uint8Array {
  return buf.subarray(a.payloadOff, a.payloadOff + a.len);
}

/** Nested attributes of `a` (null when malformed). */
export function attrNested(buf: Uint8Array, a: NlAttr): NlAttr[] | null {
  return parseAttrs(buf, a.payloadOff, a.len);
}

/** First attribute of the given (masked) type. */
export function findAttr(attrs: readonly NlAttr[], type: number): NlAttr | undefined {
  for (const a of attrs) if (a.type === type) return a;
  return undefined;
}

export interface NlErrorExtack {
  /** NLMSGERR_ATTR_MSG (also sent with an ACK, as a warning). */
  msg?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the bad attribute within the request message. Errors only. */
  badAttrOff?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: type of a missing required attribute. Errors only. */
  missType?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset within the request of the nest missing it. Errors only. */
  missNestOff?: number;
  /** NLMSGERR_ATTR_COOKIE. */
  cookie?: Uint8Array;
}

/**
 * Append an NLMSG_ERROR message answering `req` (an ACK when errno is 0). Payload: s32 error
 * (-errno; errno may be given positive or negative) + the request's 16-byte header copied from
 * `reqBytes` (the request message, starting at its header) — always capped, so NLM_F_CAPPED is
 * set — then extack TLVs in kernel order (MSG, COOKIE, OFFS, MISS_TYPE, MISS_NEST) with
 * NLM_F_ACK_TLVS set when any was written. Returns the message's start offset.
 */
export function emitNlError(
  b: NlMsgBuilder,
  req: { type: number; flags: number; seq: number; pid: number },
  reqBytes: Uint8Array,
  errno: number,
  extack?: NlErrorExtack,
): number {
  const error = errno > 0 ? -errno : errno;
  let tlvs = false;
  if (extack !== undefined) {
    if (extack.msg !== undefined || extack.cookie !== undefined) tlvs = true;
    if (error !== 0 && (extack.badAttrOff !== undefined || extack.missType !== undefined || extack.missNestOff !== undefined)) {
      tlvs = true;
    }
  }
  const start = b.beginMsg(NLMSG_ERROR, NLM_F_CAPPED | (tlvs ? NLM_F_ACK_TLVS : 0), req.seq, req.pid);
  b.putRawS32(error);
  if (reqBytes.length >= NLMSG_HDRLEN) {
    b.putRaw(reqBytes.subarray(0, NLMSG_HDRLEN));
  } else {
    const h = new Uint8Array(NLMSG_HDRLEN);
    const hv = dataViewOf(h);
    hv.setUint32(0, reqBytes.length, LE);
    hv.setUint16(4, req.type, LE);
    hv.setUint16(6, req.flags, LE);
    hv.setUint32(8, req.seq >>> 0, LE);
    hv.setUint32(12, req.pid >>> 0, LE);
    b.putRaw(h);
  }
  if (tlvs && extack !== undefined) {
    if (extack.msg !== undefined) b.putString(NLMSGERR_ATTR_MSG, extack.msg);
    if (extack.cookie !== undefined) b.putBytes(NLMSGERR_ATTR_COOKIE, extack.cookie);
    if (error !== 0) {
      if (extack.badAttrOff !== undefined) b.putU32(NLMSGERR_ATTR_OFFS, extack.badAttrOff);
      if (extack.missType !== undefined) b.putU32(NLMSGERR_ATTR_MISS_TYPE, extack.missType);
      if (extack.missNestOff !== undefined) b.putU32(NLMSGERR_ATTR_MISS_NEST, extack.missNestOff);
    }
  }
  b.endMsg(start);
  return start;
}

export interface NlErrorInfo {
  /** nlmsgerr.error as sent: 0 for an ACK, else a negative errno. */
  error: number;
  extackMsg?: string;
  badAttrOff?: number;
  missType?: number;
  missNestOff?: number;
  cookie?: Uint8Array;
}

/**
 * Decode an NLMSG_ERROR message found by parseNlMsgs. Throws RangeError if the payload is
 * shorter than error + request header; malformed extack TLVs are ignored.
 */
export function parseNlError(buf: Uint8Array, msg: NlMsg): NlErrorInfo {
  if (msg.len < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) throw new RangeError(`netlink: NLMSG_ERROR too short (${msg.len})`);
  const res: NlErrorInfo = { error: u32le(buf, msg.payloadOff) | 0 };
  if ((msg.flags & NLM_F_ACK_TLVS) === 0) return res;
  const origLen = u32le(buf, msg.payloadOff + 4);
  const tlvOff = msg.payloadOff + 4 + ((msg.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : NLMSG_ALIGN(origLen));
  const end = msg.off + msg.len;
  if (tlvOff > end) return res;
  const attrs = parseAttrs(buf, tlvOff, end - tlvOff);
  if (attrs === null) return res;
  for (const a of attrs) {
    switch (a.type) {
      case NLMSGERR_ATTR_MSG: res.extackMsg = attrString(buf, a); break;
      case NLMSGERR_ATTR_OFFS: if (a.len >= 4) res.badAttrOff = attrU32(buf, a); break;
      case NLMSGERR_ATTR_MISS_TYPE: if (a.len >= 4) res.missType = attrU32(buf, a); break;
      case NLMSGERR_ATTR_MISS_NEST: if (a.len >= 4) res.missNestOff = attrU32(buf, a); break;
      case NLMSGERR_ATTR_COOKIE: res.cookie = attrBytes(buf, a); break;
      default: break;
    }
  }
  return res;
}
