// ICMPv4 (RFC 792): View over the ICMP message + Repr for echo request/reply.
//
// Contract: IcmpView aliases the caller's buffer (see ByteView); `len` is the whole ICMP
// message (IPv4 payloadLen), which verifyChecksum()/fillChecksum() cover. check() only requires
// ICMP_HLEN bytes; it does not verify the checksum. parseIcmpEcho's payload is a subarray that
// aliases the view's buffer (no copy). emitIcmpEcho writes header + payload with checksum into
// a buffer the caller sized with icmpEchoLen(), without validating.

import { csumFinish, csumFold, csumPartial } from './checksum.js';
import { WIRE_OK, WIRE_TRUNCATED } from './errors.js';
import { ByteView } from './view.js';

export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_HLEN = 8;

const ICMP_OFF_TYPE = 0;
const ICMP_OFF_CODE = 1;
const ICMP_OFF_CSUM = 2;
const ICMP_OFF_ID = 4;
const ICMP_OFF_SEQ = 6;

export class IcmpView extends ByteView {
  /** WIRE_OK when at least ICMP_HLEN bytes are present. */
  check(): number {
    return this.hasBytes(ICMP_HLEN) ? WIRE_OK : WIRE_TRUNCATED;
  }

  get type(): number { return this.dv.getUint8(this.off + ICMP_OFF_TYPE); }
  set type(v: number) { this.dv.setUint8(this.off + ICMP_OFF_TYPE, v); }
  get code(): number { return this.dv.getUint8(this.off + ICMP_OFF_CODE); }
  set code(v: number) { this.dv.setUint8(this.off + ICMP_OFF_CODE, v); }
  get checksum(): number { return this.dv.getUint16(this.off + ICMP_OFF_CSUM); }
  set checksum(v: number) { this.dv.setUint16(this.off + ICMP_OFF_CSUM, v); }
  /** Echo identifier (bytes 4-5; "rest of header" for other types). */
  get ident(): number { return this.dv.getUint16(this.off + ICMP_OFF_ID); }
  set ident(v: number) { this.dv.setUint16(this.off + ICMP_OFF_ID, v); }
  /** Echo sequence number (bytes 6-7). */
  get seq(): number { return this.dv.getUint16(this.off + ICMP_OFF_SEQ); }
  set seq(v: number) { this.dv.setUint16(this.off + ICMP_OFF_SEQ, v); }

  /** Offset of the data after the 8-byte header (relative to buf/dv). */
  get payloadOff(): number { return this.off + ICMP_HLEN; }
  get payloadLen(): number { return this.len - ICMP_HLEN; }

  /** True when the checksum over all `len` bytes verifies. */
  verifyChecksum(): boolean {
    return csumFold(csumPartial(this.buf, this.dv, this.off, this.len, 0)) === 0xffff;
  }

  /** Compute and store the checksum over all `len` bytes. */
  fillChecksum(): void {
    const dv = this.dv;
    const o = this.off;
    dv.setUint16(o + ICMP_OFF_CSUM, 0);
    dv.setUint16(o + ICMP_OFF_CSUM, csumFinish(csumPartial(this.buf, dv, o, this.len, 0)));
  }
}

export interface IcmpEchoRepr {
  type: number;
  code: number;
  ident: number;
  seq: number;
  payload: Uint8Array;
}

/** Read a checked view into an echo Repr; `payload` aliases the view's buffer. */
export function parseIcmpEcho(v: IcmpView): IcmpEchoRepr {
  return {
    type: v.type,
    code: v.code,
    ident: v.ident,
    seq: v.seq,
    payload: v.buf.subarray(v.off + ICMP_HLEN, v.off + v.len),
  };
}

/** Bytes emitIcmpEcho writes: header + payload. */
export function icmpEchoLen(r: IcmpEchoRepr): number {
  return ICMP_HLEN + r.payload.length;
}

/** Write header + payload at `off` and fill the checksum. The payload may alias `buf`. */
export function emitIcmpEcho(r: IcmpEchoRepr, buf: Uint8Array, dv: DataView, off: number): void {
  const n = ICMP_HLEN + r.payload.length;
  buf.set(r.payload, off + ICMP_HLEN);
  dv.setUint8(off + ICMP_OFF_TYPE, r.type);
  dv.setUint8(off + ICMP_OFF_CODE, r.code);
  dv.setUint16(off + ICMP_OFF_CSUM, 0);
  dv.setUint16(off + ICMP_OFF_ID, r.ident);
  dv.setUint16(off + ICMP_OFF_SEQ, r.seq);
  dv.setUint16(off + ICMP_OFF_CSUM, csumFinish(csumPartial(buf, dv, off, n, 0)));
}
