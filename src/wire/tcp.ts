// TCP header (RFC 9293) and options: View over the segment + allocation-free option codec + Repr.
//
// Contract: TcpView aliases the caller's buffer (see ByteView); `len` is the whole segment
// (normally the IPv4 payloadLen). After check() returns WIRE_OK, 20 <= headerLen <= len, so the
// option area [off+20, off+headerLen) and the payload [off+headerLen, off+len) are in bounds.
// check() does not verify the checksum (use verifyChecksum / tcpVerifyChecksum).
// TcpOptions is a reusable, caller-owned output object: parseTcpOptions() resets and fills it
// without allocating. writeTcpOptions() uses Linux's exact option layout (tcp_options_write)
// and, like every emit function here, does not validate the values; it only leaves out SACK
// blocks beyond what fits in the 40 option bytes (as Linux does), so the header stays <= 60.
// parseTcpHeader's payload aliases the view's buffer. emitTcp writes into a buffer the caller
// sized with tcpPacketLen() (= tcpHeaderLen() + payload length).

import { csumFinish, csumFold, csumPartial, pseudoHeaderSumV4 } from './checksum.js';
import { WIRE_BAD_LENGTH, WIRE_BAD_OPTION, WIRE_OK, WIRE_TRUNCATED } from './errors.js';
import { ByteView } from './view.js';

export const TCP_HLEN = 20;
/** Largest header (data offset 15). */
export const TCP_MAX_HLEN = 60;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

export const TCPOLEN_MSS = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERM = 2;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_SACK_BASE = 2;
export const TCPOLEN_SACK_PERBLOCK = 8;

export const TCP_MAX_WSCALE = 14;
/** Maximum bytes of TCP options (60 - 20). */
export const TCP_MAX_OPTION_SPACE = 40;
/** Capacity of TcpOptions.sackBlocks, in blocks. */
export const TCP_MAX_SACK_BLOCKS = 4;

const TCP_OFF_SPORT = 0;
const TCP_OFF_DPORT = 2;
const TCP_OFF_SEQ = 4;
const TCP_OFF_ACK = 8;
const TCP_OFF_DOFF = 12;
const TCP_OFF_FLAGS = 13;
const TCP_OFF_WIN = 14;
const TCP_OFF_CSUM = 16;
const TCP_OFF_URG = 18;
const PROTO_TCP = 6;

export class TcpView extends ByteView {
  /** WIRE_TRUNCATED: len < 20 or headerLen > len. WIRE_BAD_LENGTH: headerLen < 20. */
  check(): number {
    if (!this.hasBytes(TCP_HLEN)) return WIRE_TRUNCATED;
    const hl = (this.dv.getUint8(this.off + TCP_OFF_DOFF) >>> 4) << 2;
    if (hl < TCP_HLEN) return WIRE_BAD_LENGTH;
    if (hl > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }

  get srcPort(): number { return this.dv.getUint16(this.off + TCP_OFF_SPORT); }
  set srcPort(v: number) { this.dv.setUint16(this.off + TCP_OFF_SPORT, v); }
  get dstPort(): number { return this.dv.getUint16(this.off + TCP_OFF_DPORT); }
  set dstPort(v: number) { this.dv.setUint16(this.off + TCP_OFF_DPORT, v); }
  get seq(): number { return this.dv.getUint32(this.off + TCP_OFF_SEQ); }
  set seq(v: number) { this.dv.setUint32(this.off + TCP_OFF_SEQ, v); }
  get ack(): number { return this.dv.getUint32(this.off + TCP_OFF_ACK); }
  set ack(v: number) { this.dv.setUint32(this.off + TCP_OFF_ACK, v); }
  /** Header length in bytes (data offset * 4). */
  get headerLen(): number { return (this.dv.getUint8(this.off + TCP_OFF_DOFF) >>> 4) << 2; }
  /** Sets the data offset to v / 4, keeping the low (reserved/AE) nibble. */
  set headerLen(v: number) {
    const p = this.off + TCP_OFF_DOFF;
    this.dv.setUint8(p, (((v >>> 2) & 0x0f) << 4) | (this.dv.getUint8(p) & 0x0f));
  }
  /** The 8 classic flag bits (byte 13). */
  get flags(): number { return this.dv.getUint8(this.off + TCP_OFF_FLAGS); }
  set flags(v: number) { this.dv.setUint8(this.off + TCP_OFF_FLAGS, v); }
  get window(): number { return this.dv.getUint16(this.off + TCP_OFF_WIN); }
  set window(v: number) { this.dv.setUint16(this.off + TCP_OFF_WIN, v); }
  get checksum(): number { return this.dv.getUint16(this.off + TCP_OFF_CSUM); }
  set checksum(v: number) { this.dv.setUint16(this.off + TCP_OFF_CSUM, v); }
  get urgent(): number { return this.dv.getUint16(this.off + TCP_OFF_URG); }
  set urgent(v: number) { this.dv.setUint16(this.off + TCP_OFF_URG, v); }

  /** Offset of the option area (relative to buf/dv). */
  get optionsOff(): number { return this.off + TCP_HLEN; }
  /** Bytes of options: headerLen - 20. */
  get optionsLen(): number { return this.headerLen - TCP_HLEN; }
  /** Offset of the payload (relative to buf/dv). */
  get payloadOff(): number { return this.off + this.headerLen; }
  /** Payload bytes: len - headerLen. */
  get payloadLen(): number { return this.len - this.headerLen; }

  /** parseTcpOptions over this header's option area (requires check() === WIRE_OK). */
  parseOptions(out: TcpOptions): number {
    return parseTcpOptions(this.buf, this.off + TCP_HLEN, this.headerLen - TCP_HLEN, out);
  }

  /** Verify the checksum over all `len` bytes plus the IPv4 pseudo-header. */
  verifyChecksum(src: number, dst: number): boolean {
    return tcpVerifyChecksum(this.buf, this.dv, this.off, this.len, src, dst);
  }

  /** Compute and store the checksum over all `len` bytes plus the IPv4 pseudo-header. */
  fillChecksum(src: number, dst: number): void {
    const dv = this.dv;
    const o = this.off;
    dv.setUint16(o + TCP_OFF_CSUM, 0);
    dv.setUint16(o + TCP_OFF_CSUM,
      csumFinish(csumPartial(this.buf, dv, o, this.len, pseudoHeaderSumV4(src, dst, PROTO_TCP, this.len))));
  }
}

/** True when the segment [off, off+len) checksums correctly with the IPv4 pseudo-header. */
export function tcpVerifyChecksum(buf: Uint8Array, dv: DataView, off: number, len: number, src: number, dst: number): boolean {
  return csumFold(csumPartial(buf, dv, off, len, pseudoHeaderSumV4(src, dst, PROTO_TCP, len))) === 0xffff;
}

/** Parsed/to-be-written TCP options. Reusable: parseTcpOptions() resets it. -1 means absent. */
export class TcpOptions {
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  /** TS value and echo reply, as int32 (sequence-space numbers: see wire/seq.ts) */
  tsVal = 0;
  tsEcr = 0;
  /** Number of valid SACK blocks in sackBlocks (0..4). */
  sackCount = 0;
  /** SACK blocks as [start0, end0, start1, end1, ...], int32 like every sequence number */
  readonly sackBlocks = new Int32Array(8);

  reset(): void {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
  }
}

function u16At(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

/** a big-endian 32-bit field as int32 (sequence-space numbers: see wire/seq.ts) */
function i32At(b: Uint8Array, i: number): number {
  return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
}

/**
 * Parse the option area [off, off+len) of `buf` into `out` (reset first). Known kinds with the
 * wrong length are ignored, unknown kinds are skipped by their length, EOL stops parsing. A
 * length byte < 2, a missing length byte or an option running past the end stops parsing and
 * returns WIRE_BAD_OPTION; what was parsed before the bad option stays in `out`. SACK blocks
 * beyond 4 are dropped; the window scale is clamped to 14.
 */
export function parseTcpOptions(buf: Uint8Array, off: number, len: number, out: TcpOptions): number {
  out.reset();
  let i = off;
  const end = off + len;
  while (i < end) {
    const kind = buf[i];
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return WIRE_BAD_OPTION;
    const olen = buf[i + 1];
    if (olen < 2 || olen > end - i) return WIRE_BAD_OPTION;
    switch (kind) {
      case TCPOPT_MSS:
        if (olen === TCPOLEN_MSS) out.mss = u16At(buf, i + 2);
        break;
      case TCPOPT_WINDOW:
        if (olen === TCPOLEN_WINDOW) {
          const ws = buf[i + 2];
          out.wscale = ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws;
        }
        break;
      case TCPOPT_SACK_PERM:
        if (olen === TCPOLEN_SACK_PERM) out.sackPermitted = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (olen === TCPOLEN_TIMESTAMP) {
          out.hasTimestamp = true;
          out.tsVal = i32At(buf, i + 2);
          out.tsEcr = i32At(buf, i + 6);
        }
        break;
      case TCPOPT_SACK:
        if (olen >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK && ((olen - TCPOLEN_SACK_BASE) & 7) === 0) {
          let n = (olen - TCPOLEN_SACK_BASE) >>> 3;
          if (n > TCP_MAX_SACK_BLOCKS) n = TCP_MAX_SACK_BLOCKS;
          const blocks = out.sackBlocks;
          for (let k = 0; k < n; k++) {
            blocks[2 * k] = i32At(buf, i + 2 + 8 * k);
            blocks[2 * k + 1] = i32At(buf, i + 6 + 8 * k);
          }
          out.sackCount = n;
        }
        break;
      default:
        break;
    }
    i += olen;
  }
  return WIRE_OK;
}

/** Bytes of options other than SACK blocks that writeTcpOptions writes. */
function baseOptionsLen(o: TcpOptions, syn: boolean): number {
  let n = 0;
  if (syn && o.mss >= 0) n += 4;
  if (o.hasTimestamp) n += 12;
  else if (syn && o.sackPermitted) n += 4;
  if (syn && o.wscale >= 0) n += 4;
  return n;
}

/** SACK blocks that are written: sackCount capped to 4 and to what fits in 40 option bytes. */
function sackBlocksToWrite(o: TcpOptions, base: number): number {
  let n = o.sackCount;
  if (n > TCP_MAX_SACK_BLOCKS) n = TCP_MAX_SACK_BLOCKS;
  const room = (TCP_MAX_OPTION_SPACE - base - 4) >> 3;
  if (n > room) n = room < 0 ? 0 : room;
  return n;
}

/**
 * Bytes writeTcpOptions will write for `o` (a multiple of 4, at most 40). MSS/wscale/sackOK only
 * on SYN. SACK blocks that do not fit (like Linux's tcp_established_options) are left out.
 */
export function tcpOptionsLen(o: TcpOptions, syn: boolean): number {
  const base = baseOptionsLen(o, syn);
  const sacks = sackBlocksToWrite(o, base);
  return sacks > 0 ? base + 4 + 8 * sacks : base;
}

/**
 * Write options at `off` in Linux's layout: MSS; then SACK_PERM+TS (04 02 08 0a), or
 * NOP NOP TS, or NOP NOP SACK_PERM; then NOP WSCALE; then NOP NOP SACK blocks (as many as fit).
 * Returns the bytes written (= tcpOptionsLen, a multiple of 4). MSS, window scale and
 * SACK-permitted are written only when `syn`.
 */
export function writeTcpOptions(dv: DataView, off: number, o: TcpOptions, syn: boolean): number {
  let p = off;
  if (syn && o.mss >= 0) {
    dv.setUint32(p, ((TCPOPT_MSS << 24) | (TCPOLEN_MSS << 16) | (o.mss & 0xffff)) >>> 0);
    p += 4;
  }
  const sackPerm = syn && o.sackPermitted;
  if (o.hasTimestamp) {
    dv.setUint32(p, sackPerm
      ? ((TCPOPT_SACK_PERM << 24) | (TCPOLEN_SACK_PERM << 16) | (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP) >>> 0
      : ((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP) >>> 0);
    dv.setUint32(p + 4, o.tsVal);
    dv.setUint32(p + 8, o.tsEcr);
    p += 12;
  } else if (sackPerm) {
    dv.setUint32(p, ((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | (TCPOPT_SACK_PERM << 8) | TCPOLEN_SACK_PERM) >>> 0);
    p += 4;
  }
  if (syn && o.wscale >= 0) {
    dv.setUint32(p, ((TCPOPT_NOP << 24) | (TCPOPT_WINDOW << 16) | (TCPOLEN_WINDOW << 8) | (o.wscale & 0xff)) >>> 0);
    p += 4;
  }
  const sacks = sackBlocksToWrite(o, p - off);
  if (sacks > 0) {
    dv.setUint32(p, ((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | (TCPOPT_SACK << 8) |
      (TCPOLEN_SACK_BASE + sacks * TCPOLEN_SACK_PERBLOCK)) >>> 0);
    p += 4;
    const blocks = o.sackBlocks;
    for (let k = 0; k < 2 * sacks; k++) {
      dv.setUint32(p, blocks[k]);
      p += 4;
    }
  }
  return p - off;
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent: number;
  options: TcpOptions;
  payload: Uint8Array;
}

/**
 * Read a checked view into a Repr (allocates a TcpOptions). Malformed options are handled
 * leniently: the options parsed before the bad one are kept (use parseTcpOptions directly to see
 * the error). `payload` aliases the view's buffer: [off+headerLen, off+len).
 */
export function parseTcpHeader(v: TcpView): TcpRepr {
  const options = new TcpOptions();
  const hl = v.headerLen;
  parseTcpOptions(v.buf, v.off + TCP_HLEN, hl - TCP_HLEN, options);
  return {
    srcPort: v.srcPort,
    dstPort: v.dstPort,
    seq: v.seq,
    ack: v.ack,
    flags: v.flags,
    window: v.window,
    urgent: v.urgent,
    options,
    payload: v.buf.subarray(v.off + hl, v.off + v.len),
  };
}

/** Header bytes emitTcp writes: 20 + options (options depend on whether SYN is set). */
export function tcpHeaderLen(r: TcpRepr): number {
  return TCP_HLEN + tcpOptionsLen(r.options, (r.flags & TCP_SYN) !== 0);
}

/** Total bytes emitTcp writes: header + options + payload. */
export function tcpPacketLen(r: TcpRepr): number {
  return tcpHeaderLen(r) + r.payload.length;
}

/**
 * Write header + options + payload at `off` with the checksum over the IPv4 pseudo-header.
 * Reserved bits are written as zero.
 */
export function emitTcp(r: TcpRepr, buf: Uint8Array, dv: DataView, off: number, src: number, dst: number): void {
  const syn = (r.flags & TCP_SYN) !== 0;
  const hl = TCP_HLEN + tcpOptionsLen(r.options, syn);
  const n = hl + r.payload.length;
  buf.set(r.payload, off + hl);
  dv.setUint16(off + TCP_OFF_SPORT, r.srcPort);
  dv.setUint16(off + TCP_OFF_DPORT, r.dstPort);
  dv.setUint32(off + TCP_OFF_SEQ, r.seq);
  dv.setUint32(off + TCP_OFF_ACK, r.ack);
  dv.setUint8(off + TCP_OFF_DOFF, (hl >>> 2) << 4);
  dv.setUint8(off + TCP_OFF_FLAGS, r.flags);
  dv.setUint16(off + TCP_OFF_WIN, r.window);
  dv.setUint16(off + TCP_OFF_CSUM, 0);
  dv.setUint16(off + TCP_OFF_URG, r.urgent);
  writeTcpOptions(dv, off + TCP_HLEN, r.options, syn);
  dv.setUint16(off + TCP_OFF_CSUM, csumFinish(csumPartial(buf, dv, off, n, pseudoHeaderSumV4(src, dst, PROTO_TCP, n))));
}

const FLAG_CHARS: readonly (readonly [number, string])[] = [
  [TCP_FIN, 'F'], [TCP_SYN, 'S'], [TCP_RST, 'R'], [TCP_PSH, 'P'],
  [TCP_ACK, '.'], [TCP_URG, 'U'], [TCP_ECE, 'E'], [TCP_CWR, 'W'],
];

/** tcpdump-style flag text: "S", "S.", "P.", "F.", "R", "."; "none" for no flags. Cold path. */
export function tcpFlagsToString(flags: number): string {
  let s = '';
  for (const [bit, ch] of FLAG_CHARS) if ((flags & bit) !== 0) s += ch;
  return s === '' ? 'none' : s;
}
