// UDP (RFC 768) over IPv4: View over the datagram + plain Repr.
//
// Contract: UdpView aliases the caller's buffer (see ByteView); `len` is the bytes available
// (normally the IPv4 payloadLen). After check() returns WIRE_OK, 8 <= length <= len. The
// checksum is not verified by check(); use verifyChecksum(src, dst) / udpVerifyChecksum (a zero
// checksum means "none" over IPv4 and verifies). parseUdp's payload aliases the view's buffer
// and stops at the UDP length field. emitUdp writes header + payload with the pseudo-header
// checksum (a computed 0 is sent as 0xffff) into a buffer sized with udpPacketLen().

import { csumFinish, csumFold, csumPartial, pseudoHeaderSumV4 } from './checksum.js';
import { WIRE_BAD_LENGTH, WIRE_OK, WIRE_TRUNCATED } from './errors.js';
import { ByteView } from './view.js';

export const UDP_HLEN = 8;

const UDP_OFF_SPORT = 0;
const UDP_OFF_DPORT = 2;
const UDP_OFF_LEN = 4;
const UDP_OFF_CSUM = 6;
const PROTO_UDP = 17;

export class UdpView extends ByteView {
  /** WIRE_TRUNCATED: len < 8 or length > len. WIRE_BAD_LENGTH: length < 8. */
  check(): number {
    if (!this.hasBytes(UDP_HLEN)) return WIRE_TRUNCATED;
    const l = this.dv.getUint16(this.off + UDP_OFF_LEN);
    if (l < UDP_HLEN) return WIRE_BAD_LENGTH;
    if (l > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }

  get srcPort(): number { return this.dv.getUint16(this.off + UDP_OFF_SPORT); }
  set srcPort(v: number) { this.dv.setUint16(this.off + UDP_OFF_SPORT, v); }
  get dstPort(): number { return this.dv.getUint16(this.off + UDP_OFF_DPORT); }
  set dstPort(v: number) { this.dv.setUint16(this.off + UDP_OFF_DPORT, v); }
  /** UDP length field: header + payload bytes. */
  get length(): number { return this.dv.getUint16(this.off + UDP_OFF_LEN); }
  set length(v: number) { this.dv.setUint16(this.off + UDP_OFF_LEN, v); }
  get checksum(): number { return this.dv.getUint16(this.off + UDP_OFF_CSUM); }
  set checksum(v: number) { this.dv.setUint16(this.off + UDP_OFF_CSUM, v); }

  get payloadOff(): number { return this.off + UDP_HLEN; }
  /** length - 8. */
  get payloadLen(): number { return this.length - UDP_HLEN; }

  /** Verify the checksum over `length` bytes and the pseudo-header; 0 ("none") verifies. */
  verifyChecksum(src: number, dst: number): boolean {
    return udpVerifyChecksum(this.buf, this.dv, this.off, this.length, src, dst);
  }
}

/** Verify a UDP checksum over [off, off+len) plus the IPv4 pseudo-header; 0 ("none") verifies. */
export function udpVerifyChecksum(buf: Uint8Array, dv: DataView, off: number, len: number, src: number, dst: number): boolean {
  if (dv.getUint16(off + UDP_OFF_CSUM) === 0) return true;
  return csumFold(csumPartial(buf, dv, off, len, pseudoHeaderSumV4(src, dst, PROTO_UDP, len))) === 0xffff;
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Read a checked view into a Repr; `payload` aliases the view's buffer (length - 8 bytes). */
export function parseUdp(v: UdpView): UdpRepr {
  return {
    srcPort: v.srcPort,
    dstPort: v.dstPort,
    payload: v.buf.subarray(v.off + UDP_HLEN, v.off + v.length),
  };
}

/** Bytes emitUdp writes: header + payload. */
export function udpPacketLen(r: UdpRepr): number {
  return UDP_HLEN + r.payload.length;
}

/** Write header + payload at `off` with the checksum over the IPv4 pseudo-header (src, dst). */
export function emitUdp(r: UdpRepr, buf: Uint8Array, dv: DataView, off: number, src: number, dst: number): void {
  const n = UDP_HLEN + r.payload.length;
  buf.set(r.payload, off + UDP_HLEN);
  dv.setUint16(off + UDP_OFF_SPORT, r.srcPort);
  dv.setUint16(off + UDP_OFF_DPORT, r.dstPort);
  dv.setUint16(off + UDP_OFF_LEN, n);
  dv.setUint16(off + UDP_OFF_CSUM, 0);
  const c = csumFinish(csumPartial(buf, dv, off, n, pseudoHeaderSumV4(src, dst, PROTO_UDP, n)));
  dv.setUint16(off + UDP_OFF_CSUM, c === 0 ? 0xffff : c);
}
