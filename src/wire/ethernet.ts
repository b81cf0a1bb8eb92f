// Ethernet II header (no 802.1Q tag handling): View over bytes + plain Repr.
//
// Contract: EthernetView aliases the caller's buffer (see ByteView). check() only requires 14
// bytes. EthernetRepr is a plain value object; emitEthernet writes ETH_HLEN bytes at `off` of
// `dv` without validating (the caller sized the buffer with ethernetHeaderLen()).

import { readMac, writeMac } from './addr.js';
import { WIRE_OK, WIRE_TRUNCATED } from './errors.js';
import { ByteView } from './view.js';

export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_BROADCAST = 0xffffffffffff;

const ETH_OFF_DST = 0;
const ETH_OFF_SRC = 6;
const ETH_OFF_TYPE = 12;

export class EthernetView extends ByteView {
  /** WIRE_OK when at least ETH_HLEN bytes are present. */
  check(): number {
    return this.hasBytes(ETH_HLEN) ? WIRE_OK : WIRE_TRUNCATED;
  }

  get dst(): number { return readMac(this.dv, this.off + ETH_OFF_DST); }
  set dst(v: number) { writeMac(this.dv, this.off + ETH_OFF_DST, v); }
  get src(): number { return readMac(this.dv, this.off + ETH_OFF_SRC); }
  set src(v: number) { writeMac(this.dv, this.off + ETH_OFF_SRC, v); }
  get etherType(): number { return this.dv.getUint16(this.off + ETH_OFF_TYPE); }
  set etherType(v: number) { this.dv.setUint16(this.off + ETH_OFF_TYPE, v); }

  /** Offset of the payload (relative to buf/dv). */
  get payloadOff(): number { return this.off + ETH_HLEN; }
  /** Bytes after the header. */
  get payloadLen(): number { return this.len - ETH_HLEN; }
}

export interface EthernetRepr {
  dst: number;
  src: number;
  etherType: number;
}

/** Read a checked view into a Repr. */
export function parseEthernet(v: EthernetView): EthernetRepr {
  return { dst: v.dst, src: v.src, etherType: v.etherType };
}

/** Bytes emitEthernet writes (always ETH_HLEN). */
export function ethernetHeaderLen(_r?: EthernetRepr): number {
  return ETH_HLEN;
}

/** Write the 14-byte header at `off`. */
export function emitEthernet(r: EthernetRepr, dv: DataView, off: number): void {
  writeMac(dv, off + ETH_OFF_DST, r.dst);
  writeMac(dv, off + ETH_OFF_SRC, r.src);
  dv.setUint16(off + ETH_OFF_TYPE, r.etherType);
}
