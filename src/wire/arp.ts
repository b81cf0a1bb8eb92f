// ARP (RFC 826) for Ethernet hardware / IPv4 protocol addresses only: View + Repr.
//
// Contract: ArpView aliases the caller's buffer (see ByteView). check() returns WIRE_TRUNCATED
// for fewer than ARP_LEN bytes and WIRE_UNSUPPORTED for any other htype/ptype/hlen/plen. The
// Repr carries only the fields that vary; emitArp writes htype 1, ptype 0x0800, hlen 6, plen 4
// and ARP_LEN bytes in total, without validating.

import { readMac, writeMac } from './addr.js';
import { WIRE_OK, WIRE_TRUNCATED, WIRE_UNSUPPORTED } from './errors.js';
import { ByteView } from './view.js';

export const ARP_LEN = 28;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARPHRD_ETHER = 1;

const ARP_OFF_HTYPE = 0;
const ARP_OFF_PTYPE = 2;
const ARP_OFF_HLEN = 4;
const ARP_OFF_PLEN = 5;
const ARP_OFF_OP = 6;
const ARP_OFF_SHA = 8;
const ARP_OFF_SPA = 14;
const ARP_OFF_THA = 18;
const ARP_OFF_TPA = 24;
const ARP_PTYPE_IP = 0x0800;

export class ArpView extends ByteView {
  check(): number {
    if (!this.hasBytes(ARP_LEN)) return WIRE_TRUNCATED;
    const dv = this.dv;
    const o = this.off;
    if (dv.getUint16(o + ARP_OFF_HTYPE) !== ARPHRD_ETHER || dv.getUint16(o + ARP_OFF_PTYPE) !== ARP_PTYPE_IP ||
        dv.getUint8(o + ARP_OFF_HLEN) !== 6 || dv.getUint8(o + ARP_OFF_PLEN) !== 4) {
      return WIRE_UNSUPPORTED;
    }
    return WIRE_OK;
  }

  get htype(): number { return this.dv.getUint16(this.off + ARP_OFF_HTYPE); }
  get ptype(): number { return this.dv.getUint16(this.off + ARP_OFF_PTYPE); }
  get hlen(): number { return this.dv.getUint8(this.off + ARP_OFF_HLEN); }
  get plen(): number { return this.dv.getUint8(this.off + ARP_OFF_PLEN); }
  get op(): number { return this.dv.getUint16(this.off + ARP_OFF_OP); }
  set op(v: number) { this.dv.setUint16(this.off + ARP_OFF_OP, v); }
  get senderMac(): number { return readMac(this.dv, this.off + ARP_OFF_SHA); }
  set senderMac(v: number) { writeMac(this.dv, this.off + ARP_OFF_SHA, v); }
  get senderIp(): number { return this.dv.getUint32(this.off + ARP_OFF_SPA); }
  set senderIp(v: number) { this.dv.setUint32(this.off + ARP_OFF_SPA, v); }
  get targetMac(): number { return readMac(this.dv, this.off + ARP_OFF_THA); }
  set targetMac(v: number) { writeMac(this.dv, this.off + ARP_OFF_THA, v); }
  get targetIp(): number { return this.dv.getUint32(this.off + ARP_OFF_TPA); }
  set targetIp(v: number) { this.dv.setUint32(this.off + ARP_OFF_TPA, v); }
}

export interface ArpRepr {
  op: number;
  senderMac: number;
  senderIp: number;
  targetMac: number;
  targetIp: number;
}

/** Read a checked view into a Repr. */
export function parseArp(v: ArpView): ArpRepr {
  return { op: v.op, senderMac: v.senderMac, senderIp: v.senderIp, targetMac: v.targetMac, targetIp: v.targetIp };
}

/** Bytes emitArp writes (always ARP_LEN). */
export function arpPacketLen(_r?: ArpRepr): number {
  return ARP_LEN;
}

/** Write a 28-byte Ethernet/IPv4 ARP packet at `off`. */
export function emitArp(r: ArpRepr, dv: DataView, off: number): void {
  dv.setUint16(off + ARP_OFF_HTYPE, ARPHRD_ETHER);
  dv.setUint16(off + ARP_OFF_PTYPE, ARP_PTYPE_IP);
  dv.setUint8(off + ARP_OFF_HLEN, 6);
  dv.setUint8(off + ARP_OFF_PLEN, 4);
  dv.setUint16(off + ARP_OFF_OP, r.op);
  writeMac(dv, off + ARP_OFF_SHA, r.senderMac);
  dv.setUint32(off + ARP_OFF_SPA, r.senderIp >>> 0);
  writeMac(dv, off + ARP_OFF_THA, r.targetMac);
  dv.setUint32(off + ARP_OFF_TPA, r.targetIp >>> 0);
}
